"""``threadcast playground``: the real Slack and Discord bots, shown in a browser.

:func:`~bots.playground.app.run_playground` runs the real bots against the Slack and
Discord simulators (no token, no network) and serves a page showing a Slack workspace and
a Discord server side by side, live: people post, the bots' replies stream, and a
timeline shows every API call the bots make.
"""

from __future__ import annotations

__all__: list[str] = []
