"""deploy/slack/manifest.yml asks for exactly what the bot uses."""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack" / "manifest.yml"


def _list_under(text: str, key: str) -> set[str]:
    """The ``- item`` lines of the YAML list right under ``key:`` (comments dropped)."""
    block = re.search(rf"^(\s*){re.escape(key)}:\s*\n((?:\1\s+- .*\n)+)", text, re.MULTILINE)
    assert block is not None, key
    return {line.split("#")[0].strip()[2:].strip() for line in block.group(2).splitlines()}


def test_scopes_are_exactly_those_used() -> None:
    text = MANIFEST.read_text()
    assert _list_under(text, "bot") == {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
        "chat:write",
        "files:write",
        "files:read",
        "users:read",
        "commands",
        "assistant:write",
    }


def test_events_interactivity_and_socket_mode() -> None:
    text = MANIFEST.read_text()
    assert _list_under(text, "bot_events") == {
        "app_home_opened",
        "assistant_thread_started",
        "assistant_thread_context_changed",
        "app_mention",
        "message.channels",
        "message.groups",
        "message.im",
    }
    assert re.search(r"interactivity:\s*\n\s+is_enabled: true", text)
    assert re.search(r"^\s+socket_mode_enabled: true", text, re.MULTILINE)
    assert len(re.findall(r"request_url: https://\S+/slack/events", text)) == 2  # HTTP mode
    assert re.search(r"messages_tab_enabled: true", text)  # DMs
    assert re.search(r"home_tab_enabled: true", text)  # the App Home
    assert re.search(r"assistant_view:\n\s+assistant_description: \S", text)
    assert re.search(r"- command: /threadcast\n\s+url: https://\S+/slack/events", text)
