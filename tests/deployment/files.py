"""Configuration files for the end-to-end tests: two agents on two local Lyzr servers.

``support`` and ``eng`` each have a server of their own with its own API key, so a request
that reaches a server proves the route, and its key proves the agent's client.
"""

from __future__ import annotations

from pathlib import Path

from core.ops.metrics import REGISTRY
from tests.servers.lyzr_server import LyzrServer

KEYS = {"SUPPORT_KEY": "support-key", "ENG_KEY": "eng-key"}
"""The agents' key variables (set in the environment of the process under test)."""


def two_agents(support: LyzrServer, eng: LyzrServer) -> str:
    """The ``[[agents]]`` of a file: ``support`` on one server, ``eng`` on the other."""
    return f"""
[[agents]]
name = "support"
backend = "lyzr"
agent_id = "support-agent"
api_key_env = "SUPPORT_KEY"
base_url = "{support.base_url}"
retries = 0

[[agents]]
name = "eng"
backend = "lyzr"
agent_id = "eng-agent"
api_key_env = "ENG_KEY"
base_url = "{eng.base_url}"
retries = 0
"""


def route(agent: str, **match: str) -> str:
    keys = "".join(f'{key} = "{value}"\n' for key, value in match.items())
    return f'\n[[routes]]\n{keys}agent = "{agent}"\n'


def write(path: Path, text: str) -> Path:
    """Write the file as an operator would (small and local: fine inside a test)."""
    path.write_text(text, encoding="utf-8")
    return path


def refused(reason: str) -> float:
    """Messages refused so far for ``reason`` (the process's metric; read a delta)."""
    value = REGISTRY.get_sample_value("threadcast_turns_refused_total", {"reason": reason})
    return value or 0.0


def agent_turns(agent: str) -> float:
    value = REGISTRY.get_sample_value("threadcast_agent_turns_total", {"agent": agent})
    return value or 0.0
