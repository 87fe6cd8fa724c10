"""What the page needs from one platform: its directory, its messages as a user sees them,
the API calls the bot made, the dialogs it opened, and the people's actions (post, press a
button, submit or close a dialog, busy switch).

Each platform implements :class:`Pane` over its simulator (``slack_pane``, ``discord_pane``);
the :mod:`~bots.playground.feed` turns any pane's state into live events for the page.
Every value is plain JSON (ids are strings: Discord's snowflakes exceed JavaScript's
integers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["CallKind", "CallView", "Directory", "FileBody", "Json", "Pane", "PaneError"]

Json = dict[str, Any]
CallKind = Literal["post", "edit", "limited", "error", "other"]


class PaneError(Exception):
    """A person's action the simulator cannot do (unknown channel, no such button...).

    The server answers it with HTTP 400 and this text, so the page can show why.
    """


@dataclass(frozen=True, slots=True)
class CallView:
    """One API call the bot made, for the timeline."""

    at: float  # wall-clock seconds (epoch)
    kind: CallKind
    label: str  # the method or route, short
    outcome: str  # "ok", "429 · retry after 1 s", an error code...

    def to_json(self) -> Json:
        return {"at": self.at, "kind": self.kind, "label": self.label, "outcome": self.outcome}


@dataclass(frozen=True, slots=True)
class Directory:
    """The workspace or server as the page lists it (the same JSON for both platforms)."""

    platform: str
    name: str
    bot_id: str
    bot_name: str
    channels: dict[str, str]  # id -> name, in the order shown
    people: dict[str, str]  # id -> name of the people the page can act as
    users: dict[str, str]  # id -> display name of everyone, for mentions
    # The longest message the app sends, and what it says of a longer one: a template with
    # {length:,} and {limit:,}, filled in by the page, which refuses it without a request
    # (a refused request is an error in the browser's console). The server refuses it too.
    max_text: int
    too_long: str

    def to_json(self) -> Json:
        return {
            "platform": self.platform,
            "name": self.name,
            "bot": {"id": self.bot_id, "name": self.bot_name},
            "channels": [
                {"id": c, "name": name, "kind": "channel"} for c, name in self.channels.items()
            ],
            "people": [{"id": uid, "name": name} for uid, name in self.people.items()],
            "users": self.users,
            "max_text": self.max_text,
            "too_long": self.too_long,
        }


@dataclass(frozen=True, slots=True)
class FileBody:
    name: str
    data: bytes


class Pane(Protocol):
    platform: str

    def directory(self) -> Json:
        """The workspace or server: its name, channels, people and the bot."""
        ...

    def messages(self) -> dict[str, Json]:
        """Every message a user can see now, by id."""
        ...

    def statuses(self) -> dict[str, str]:
        """Indicators shown under a thread ("is thinking…"), by thread id."""
        ...

    def dialogs(self) -> list[Json]:
        """The dialogs (modals) the bot opened for people and not yet submitted or closed:
        ``{"id", "user", "view"}``, ``view`` as the bot sent it (Slack's modal view,
        Discord's type 9 ``data``)."""
        ...

    def change_count(self) -> int:
        """Grows with every API call the bot makes (the feed's change signal)."""
        ...

    async def wait_change(self, seen: int, timeout: float) -> None:  # noqa: ASYNC109
        """Return once ``change_count()`` differs from ``seen``, or after ``timeout``."""
        ...

    def calls(self, start: int) -> list[CallView]:
        """The bot's API calls from index ``start`` on, oldest first."""
        ...

    def file(self, file_id: str) -> FileBody | None: ...

    @property
    def busy(self) -> bool: ...

    def set_busy(self, on: bool) -> None:
        """Shrink (or restore) the simulator's rate limits: the bot meets 429s and adapts."""
        ...

    async def post(self, *, channel: str, user: str, text: str, thread: str | None) -> str:
        """A person posts ``text`` (``@threadcast`` mentions the bot); the new message's id."""
        ...

    async def press(
        self, *, message: str, action: str, user: str, value: str | None = None
    ) -> None:
        """A person presses the button ``action`` shown on ``message`` (Stop, 👍 / 👎;
        ``value`` picks one of Slack's two feedback buttons, which share an action id)."""
        ...

    async def submit(self, *, dialog: str, values: Json) -> None:
        """The dialog's person submits it with ``values`` (Slack: ``{block_id: {action_id:
        text}}``, Discord: ``{custom_id: text}``), as the platform sends it to the bot."""
        ...

    def cancel(self, *, dialog: str) -> None:
        """The dialog's person closes it without submitting."""
        ...
