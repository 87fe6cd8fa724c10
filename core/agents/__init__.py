"""Agent backends: Lyzr (the reference), OpenAI-compatible, and the offline demo.

Every backend streams :class:`~core.models.AgentStream` chunks through the
:class:`~core.agents.base.Agent` protocol and offers the reference SDK's ``run``/``arun``;
:func:`~core.agents.factory.make_agent` picks one from the settings.
"""

from core.agents.base import Agent
from core.agents.demo import DemoAgent
from core.agents.factory import make_agent
from core.agents.history import ChatHistory, MemoryHistory
from core.agents.lyzr import LyzrAgent
from core.agents.openai_compat import OpenAIAgent
from core.agents.reference import ReferenceAgent, ReferenceCalls
from core.agents.transport import StreamTimeouts

__all__ = [
    "Agent",
    "ChatHistory",
    "DemoAgent",
    "LyzrAgent",
    "MemoryHistory",
    "OpenAIAgent",
    "ReferenceAgent",
    "ReferenceCalls",
    "StreamTimeouts",
    "make_agent",
]
