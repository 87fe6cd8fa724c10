"""Every sentence the Slack adapter itself shows users (the bot's are in
``bots.slack.texts``, the core's in ``core.texts``)."""

from __future__ import annotations

__all__ = ["MISSING_FILES_READ"]

MISSING_FILES_READ = (
    "Slack did not let the bot read it: the app needs the files:read scope "
    "(add it and reinstall the app)"
)
"""Why a user's file was not passed on, when Slack answered its download with a login
page (the app lacks ``files:read``)."""
