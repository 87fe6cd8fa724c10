"""The Slack workspace of the page, read from and acted on through the Slack simulator.

Messages are shown as Slack's client shows them: a message with ``blocks`` shows its blocks
(``text`` is then only the notification fallback), thread replies belong to their parent's
``thread_ts``, files are listed under the message. People post through the simulator's
``user_says``, which delivers the events Slack would send to the real bot (HTTP mode, signed
requests), and press buttons through ``click_button`` (a ``block_actions`` payload) or 👍 /
👎 through ``click_feedback``. A modal the bot opens (``views.open``, the "why?" after 👎) is
a dialog of the page until its person submits it (``submit_view``: a ``view_submission``)
or closes it. An ephemeral message (``chat.postEphemeral``) is shown only to its user,
marked as Slack marks it ("Only visible to you").
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from bots.playground.mentions import encode_mentions
from bots.playground.pane import CallKind, CallView, Directory, FileBody, Json, PaneError
from bots.playground.simulators import (
    DEFAULT_RATE_RULES,
    CallRecord,
    Ephemeral,
    FileRecord,
    Message,
    RateRule,
    SlackSimulator,
    find_action,
)

__all__ = ["BUSY_RULES", "SlackPane"]

WORKSPACE_NAME = "Acme (simulated)"
PEOPLE = ("alice", "bob", "carol")

# "Busy workspace": a fifth of Slack's limits are left for this bot, as when other replicas
# or a backlog of the app's own calls use the workspace's budget (Slack counts "per API
# method per app per workspace", docs.slack.dev/apis/web-api/rate-limits). The bot is still
# configured for the real limits, so it meets 429s and slows down until they stop.
BUSY_RULES: dict[str, tuple[RateRule, ...]] = {
    "chat.update": (RateRule(per_minute=10, burst=2),),
    "chat.appendStream": (RateRule(per_minute=20, burst=4),),
    "chat.postMessage": (
        RateRule(per_minute=12, burst=1, per="channel"),
        RateRule(per_minute=60, burst=6),
    ),
}
# What the page says of a message past Slack's limit, instead of sending it: Slack keeps
# 40,000 characters of a message's text and truncates the rest ("Slack will truncate
# messages containing more than 40,000 characters", docs.slack.dev/reference/methods/
# chat.postMessage, "Truncating content"; api.slack.com/changelog/
# 2018-04-truncating-really-long-messages: for "all methods of posting messages").
TOO_LONG = (
    "Your message is too long: {length:,} characters, Slack keeps {limit:,} of a message. "
    "Shorten it or send it in parts."
)
_POSTS = frozenset({"chat.postMessage", "chat.startStream"})
_EDITS = frozenset({"chat.update", "chat.appendStream", "chat.stopStream"})


class SlackPane:
    platform = "slack"

    def __init__(self, sim: SlackSimulator) -> None:
        self.sim = sim
        self.ws = sim.workspace
        self._busy = False
        self._people = {self.ws.alice: "alice", self.ws.bob: "bob"}
        carol = sim.add_user(self.ws.team_id, "carol")
        self._people[carol.id] = "carol"
        self._channels = (self.ws.general, self.ws.random)
        # Call records carry event-loop time; the page shows wall-clock time.
        self._wall_offset = time.time() - asyncio.get_running_loop().time()

    # -- what the page shows ------------------------------------------------------------
    def directory(self) -> Json:
        store = self.sim.store
        return Directory(
            platform=self.platform,
            name=WORKSPACE_NAME,
            bot_id=self.ws.bot_user_id,
            bot_name="threadcast",
            channels={c: store.channels[c].name for c in self._channels},
            people=self._people,
            users={
                u.id: u.real_name if not u.is_bot else u.name
                for u in store.users.values()
                if u.team_id == self.ws.team_id
            },
            max_text=self.sim.config.max_text,
            too_long=TOO_LONG,
        ).to_json()

    def messages(self) -> dict[str, Json]:
        shown: dict[str, Json] = {}
        for channel in self._channels:
            for top in self.sim.channel_messages(channel):
                for message in self.sim.thread_messages(channel, top.ts) or [top]:
                    shown[message.ts] = _message_view(message)
        for note in self.sim.store.ephemerals:
            if note.shown and note.channel in self._channels:
                shown[note.ts] = self._ephemeral_view(note)
        return shown

    def dialogs(self) -> list[Json]:
        """The modals open now (``views.open``), until submitted or closed."""
        return [
            {"id": view_id, "user": user, "view": view}
            for view_id, (_, user, view) in self.sim.store.modals.items()
            if user in self._people
        ]

    def statuses(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for channel, thread_ts in list(self.sim.store.statuses):
            status = self.sim.thread_status(channel, thread_ts)
            if status is not None and channel in self._channels:
                found[thread_ts] = status.status
        return found

    def change_count(self) -> int:
        return len(self.sim.api.calls)

    async def wait_change(self, seen: int, timeout: float) -> None:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            await self.sim.wait_for(lambda: len(self.sim.api.calls) != seen, timeout)

    def calls(self, start: int) -> list[CallView]:
        return [self._call_view(c) for c in self.sim.api.calls[start:]]

    def file(self, file_id: str) -> FileBody | None:
        record = self.sim.store.files.get(file_id)
        if record is None or record.data is None:
            return None
        return FileBody(record.filename, record.data)

    # -- what people do -----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, on: bool) -> None:
        for method, rules in BUSY_RULES.items():
            self.sim.set_rate_limit(method, *(rules if on else DEFAULT_RATE_RULES[method]))
        self._busy = on

    async def post(self, *, channel: str, user: str, text: str, thread: str | None) -> str:
        if channel not in self._channels:
            raise PaneError(f"no channel {channel!r} in this workspace")
        if user not in self._people:
            raise PaneError(f"no person {user!r} in this workspace")
        if not text.strip():
            raise PaneError("the message is empty")
        if len(text) > self.sim.config.max_text:
            raise PaneError(TOO_LONG.format(length=len(text), limit=self.sim.config.max_text))
        names = {name: uid for uid, name in self._people.items()}
        names["threadcast"] = self.ws.bot_user_id
        try:
            turn = await self.sim.user_says(
                channel, user, encode_mentions(text, names), thread_ts=thread
            )
        except ValueError as exc:
            raise PaneError(str(exc)) from None
        return turn.message.ts

    async def press(
        self, *, message: str, action: str, user: str, value: str | None = None
    ) -> None:
        """``value``: which of a ``feedback_buttons`` element's two buttons (its value)."""
        found = next((m for m in self.sim.store.all_messages() if m.ts == message), None)
        if found is None:
            raise PaneError(f"no message {message!r}")
        element = find_action(found.blocks, action)
        try:
            if element is not None and element.get("type") == "feedback_buttons":
                sides = {element["positive_button"]["value"]: True,
                         element["negative_button"]["value"]: False}  # fmt: skip
                if value not in sides:
                    raise PaneError(f"no feedback button {value!r} on message {message}")
                await self.sim.click_feedback(
                    found.channel, found.ts, action, positive=sides[value], user=user
                )
            else:
                await self.sim.click_button(found.channel, found.ts, action, user=user)
        except ValueError as exc:  # the button is gone (the reply just ended)
            raise PaneError(str(exc)) from None

    async def submit(self, *, dialog: str, values: Json) -> None:
        """``values``: ``{block_id: {action_id: text}}``, as the modal's inputs hold them."""
        if dialog not in self.sim.store.modals:
            raise PaneError(f"no open dialog {dialog!r}")
        typed: dict[str, dict[str, str]] = {}
        for block, actions in values.items():
            if not isinstance(actions, dict) or not all(
                isinstance(v, str) for v in actions.values()
            ):
                raise PaneError("each value must be a string, under its block and action")
            typed[str(block)] = {str(k): v for k, v in actions.items()}
        await self.sim.submit_view(dialog, typed)

    def cancel(self, *, dialog: str) -> None:
        # Slack tells the app only when the view asked (notify_on_close); the bot's does not.
        if self.sim.store.modals.pop(dialog, None) is None:
            raise PaneError(f"no open dialog {dialog!r}")

    def _ephemeral_view(self, note: Ephemeral) -> Json:
        return {
            "id": note.ts,
            "channel": note.channel,
            "thread": note.thread_ts,
            "user": self.ws.bot_user_id,
            "bot": True,
            "text": note.text,
            "markdown": False,
            "blocks": [],
            "files": [],
            "edited": False,
            "streaming": False,
            "ephemeral": True,
            "for": note.user,
            "sort": float(note.ts),
        }

    def _call_view(self, call: CallRecord) -> CallView:
        kind: CallKind
        if call.status == 429:
            kind, outcome = "limited", f"429 · retry after {call.retry_after} s"
        elif not call.ok:
            kind, outcome = "error", call.error or f"HTTP {call.status}"
        else:
            kind, outcome = _kind(call.method), "ok"
        return CallView(call.time + self._wall_offset, kind, call.method, outcome)


def _kind(method: str) -> CallKind:
    if method in _POSTS:
        return "post"
    return "edit" if method in _EDITS else "other"


def _message_view(message: Message) -> Json:
    return {
        "id": message.ts,
        "channel": message.channel,
        "thread": message.thread_ts if message.is_reply else None,
        "user": message.user,
        "bot": message.bot_id is not None,
        "text": message.text,
        # A message made by chat.startStream shows its text as Markdown, not mrkdwn
        # (docs.slack.dev/reference/methods/chat.appendStream: markdown_text).
        "markdown": message.stream is not None,
        "blocks": message.blocks or [],
        "files": [_file_view(f) for f in message.files],
        "edited": message.edited_ts is not None,
        "streaming": message.streaming,
        "ephemeral": False,
        "for": None,
        "sort": float(message.ts),
    }


def _file_view(record: FileRecord) -> Json:
    size = len(record.data) if record.data is not None else record.length
    return {"id": record.id, "name": record.filename, "size": size}
