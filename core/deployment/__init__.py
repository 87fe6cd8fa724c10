"""The deployment's configuration file: agents, routes, access rules, quotas, usage.

:func:`load_deployment` reads and checks ``threadcast.toml`` (or the environment alone)
into a :class:`Deployment`; :class:`LiveDeployment` keeps the one in force and its agent
clients (:class:`AgentPool`), replaced whole on reload (:func:`reload_on_sighup`).
"""

from __future__ import annotations

from core.deployment.agents import AgentPool, PooledAgent, agent_settings, factory_builder
from core.deployment.live import LiveDeployment, Snapshot
from core.deployment.load import ConfigFileError, Deployment, config_path, load_deployment
from core.deployment.schema import FileConfig
from core.deployment.sighup import reload_on_sighup

__all__ = [
    "AgentPool",
    "ConfigFileError",
    "Deployment",
    "FileConfig",
    "LiveDeployment",
    "PooledAgent",
    "Snapshot",
    "agent_settings",
    "config_path",
    "factory_builder",
    "load_deployment",
    "reload_on_sighup",
]
