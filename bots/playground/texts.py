"""What ``threadcast playground`` prints (the page's own texts are in ``static/``)."""

from __future__ import annotations

__all__ = ["BANNER", "PORT_TAKEN", "STOPPING"]

BANNER = """\
threadcast playground: {url}
  the real Slack and Discord bots against local simulators; agent: {agent}
  Ctrl-C stops it"""
PORT_TAKEN = "cannot listen on {host}:{port} ({reason}); pick another port with --port"
STOPPING = "stopping the playground"
