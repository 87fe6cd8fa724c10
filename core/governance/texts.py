"""Every sentence the core says about access, quotas and conversation controls (Markdown).

Access notices are sent privately (Slack: an ephemeral message; Discord: a DM), at most
once per user per hour; quota notices are posted where the message was.
"""

from __future__ import annotations

__all__ = [
    "DENIED",
    "NOT_YOURS_TO_RESET",
    "NOT_YOURS_TO_STOP",
    "OVER_CHANNEL_TURNS",
    "OVER_CONCURRENT",
    "OVER_USER_TURNS",
    "retry_in",
]

DENIED = {
    "workspace": "_I'm not enabled in this workspace, so I can't answer here._",
    "channel": "_I'm not enabled in this channel, so I can't answer there._",
    "dm": "_I don't answer direct messages: mention me in a channel instead._",
    "user": "_You're not on the list of people who may use me; ask an admin for access._",
    "role": "_Your roles don't let you use me here; ask an admin for access._",
}
"""Why a message was not answered, by the rule that refused it."""

OVER_USER_TURNS = "_You've reached your limit of {limit} messages an hour; try again {retry}._"
OVER_CHANNEL_TURNS = (
    "_This channel has reached its limit of {limit} messages an hour; try again {retry}._"
)
OVER_CONCURRENT = (
    "_You already have {limit} replies in progress; send this again once one has finished._"
)
NOT_YOURS_TO_STOP = "_Only the person who asked (or an admin) can stop this reply._"
NOT_YOURS_TO_RESET = (
    "_Only the person who started this conversation (or an admin) can start it afresh._"
)


def retry_in(seconds: float) -> str:
    """``in 12 minutes``, ``in 1 minute``, ``in under a minute``."""
    minutes = int((seconds + 59) // 60)
    if seconds < 60:
        return "in under a minute"
    return f"in {minutes} minute" + ("" if minutes == 1 else "s")
