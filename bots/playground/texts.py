"""What ``threadcast playground`` prints (the page's own texts are in ``static/``)."""

from __future__ import annotations

__all__ = ["BANNER", "OPEN_TO_OTHERS", "PORT_TAKEN", "STOPPING"]

BANNER = """\
threadcast playground: {url}
  the real Slack and Discord bots against local simulators; agent: {agent}
  Ctrl-C stops it"""
PORT_TAKEN = "cannot listen on {host}:{port} ({reason}); pick another port with --port"
STOPPING = "stopping the playground"
OPEN_TO_OTHERS = (
    "threadcast: warning: the playground listens on {host}, not only on this machine: anyone "
    "who can reach it can talk to the agent, with your key; --host 127.0.0.1 keeps it yours"
)
