"""The people's side of the simulator: posting, clicking, and the events that follow.

Events go where the app receives them: to ``events_url`` when set (HTTP mode, signed
POSTs), else over the open Socket Mode connection(s). An HTTP delivery's first attempt is
awaited (its answer is the ack); Slack's retries of an unacknowledged event continue in
the background. A Socket Mode delivery returns once sent; ``await delivery.wait_acked()``.
Which events a message causes follows the app's subscriptions (``SimConfig``): a mention
in a channel gives an ``app_mention`` and, when subscribed to ``message.channels``, a
``message`` event too, with distinct event ids, exactly as Slack sends both.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web

from bots.simulators.slack import events
from bots.simulators.slack.blocks import find_action
from bots.simulators.slack.calls import CallRecord
from bots.simulators.slack.commands import slash_command_payload
from bots.simulators.slack.config import AppIdentity, SimConfig
from bots.simulators.slack.context import Change
from bots.simulators.slack.http_delivery import HttpDeliverer, HttpDelivery
from bots.simulators.slack.interactive import (
    ResponseTarget,
    apply_response,
    block_actions_payload,
)
from bots.simulators.slack.model import Channel, FileRecord, Message, Workspace
from bots.simulators.slack.socket_mode import SocketDelivery, SocketHub
from bots.simulators.slack.store import Store
from bots.simulators.slack.webapi import WebApi

__all__ = ["SUBSCRIPTION", "Delivery", "UserActions", "UserTurn"]

Delivery = HttpDelivery | SocketDelivery
SharedFile = tuple[str, bytes, str]
"""A file a person shares: name, bytes, MIME type."""
SUBSCRIPTION = {
    "public": "message.channels",
    "private": "message.groups",
    "im": "message.im",
    "mpim": "message.mpim",
}


@dataclass
class UserTurn:
    """A message a person posted, and the deliveries of the events it caused."""

    message: Message
    deliveries: list[Delivery]

    @property
    def thread_ts(self) -> str:
        """The thread a reply belongs in (``thread_ts or ts``, as the bot computes it)."""
        return self.message.thread_ts or self.message.ts


class UserActions:
    # Set by SlackSimulator.
    config: SimConfig
    app: AppIdentity
    store: Store
    socket: SocketHub
    http: HttpDeliverer
    api: WebApi
    workspace: Workspace
    events_url: str | None
    base_url: str
    _background: set[asyncio.Task[Any]]
    _response_targets: dict[str, ResponseTarget]

    def _now(self) -> float:
        raise NotImplementedError

    # -- people post --------------------------------------------------------------------
    def user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Sequence[SharedFile] = (),
    ) -> Message:
        """Store a message a person posted (no event is sent); ``files``: (name, bytes,
        mimetype) shared with it (subtype ``file_share``, served at ``url_private``)."""
        ch = self.store.channels[channel]
        parent_ts = None
        if thread_ts is not None:
            parent_ts = self.store.thread_parent_ts(channel, thread_ts)
            if parent_ts is None:
                raise ValueError(f"no thread {thread_ts} in {channel}")
        author = self.store.users.get(user)
        message = Message(
            ts=self.store.ts_clock.next(),
            channel=ch.id,
            team_id=ch.team_id,
            user=user,
            text=text,
            blocks=events.rich_text_blocks(text),
            thread_ts=parent_ts,
            bot_id=author.bot_id if author else None,
        )
        if author is not None and author.team_id != ch.team_id:
            message.user_team = author.team_id  # Slack Connect: another organisation
        if files:
            # docs.slack.dev reference/events/message/file_share: a message with files has
            # subtype ``file_share`` and its ``files`` array of file objects.
            message.subtype = "file_share"
            message.files = [self._shared(ch, user, parent_ts, *f) for f in files]
        return self.store.add_message(message)

    def _shared(
        self, ch: Channel, user: str, thread_ts: str | None, name: str, data: bytes, mime: str
    ) -> FileRecord:
        record = FileRecord(
            id=self.store.ids.next("F"), team_id=ch.team_id, user=user, filename=name,
            length=len(data), data=data, completed=True, channel=ch.id, thread_ts=thread_ts,
            mimetype=mime, url_base=self.base_url,
        )  # fmt: skip
        self.store.files[record.id] = record
        return record

    def events_for(self, message: Message) -> list[dict[str, Any]]:
        """The events Slack sends the app for a new message, given its subscriptions."""
        channel = self.store.channels[message.channel]
        ws = self.store.workspaces[channel.team_id]
        parent = self._parent_user(message)
        found: list[dict[str, Any]] = []
        mentioned = f"<@{ws.bot_user_id}>" in message.text
        if mentioned and channel.kind != "im" and "app_mention" in self.config.subscriptions:
            found.append(events.app_mention_event(message, parent))
        if SUBSCRIPTION[channel.kind] in self.config.subscriptions:
            found.append(events.message_event(message, channel, parent))
        return found

    def envelope(self, event: dict[str, Any], team_id: str | None = None) -> dict[str, Any]:
        """An ``event_callback`` around ``event`` with a fresh ``event_id``."""
        ws = self.store.workspaces[team_id] if team_id else self.workspace
        event_id = self.store.ids.next("Ev")
        envelope = events.event_callback(event, workspace=ws, app=self.app, event_id=event_id)
        channel = self.store.channels.get(str(event.get("channel")))
        if channel is not None and channel.external_teams:
            envelope["is_ext_shared_channel"] = True  # a Slack Connect channel
        return envelope

    async def user_says(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Sequence[SharedFile] = (),
    ) -> UserTurn:
        """A person posts; the app receives every event that causes."""
        message = self.user_message(channel, user, text, thread_ts=thread_ts, files=files)
        found = self.events_for(message)
        team = self.store.channels[channel].team_id  # the workspace receiving the events
        deliveries = await asyncio.gather(*(self.send_event(e, team) for e in found))
        return UserTurn(message, list(deliveries))

    # -- deliveries ---------------------------------------------------------------------
    async def send_event(
        self, event: dict[str, Any], team_id: str | None = None, *, retries: bool = True
    ) -> Delivery:
        return await self._route(self.envelope(event, team_id), "events_api", retries)

    async def deliver_http(
        self, payload: dict[str, Any], *, url: str | None = None, retries: bool = True
    ) -> HttpDelivery:
        """POST a JSON payload signed, awaiting every retry Slack would make."""
        body = json.dumps(payload).encode()
        target = url or self._require_url()
        delivery = HttpDelivery(target, body, "application/json", payload.get("event_id"))
        return await self.http.deliver(delivery, retries=retries)

    async def redeliver(
        self, delivery: Delivery, reason: str = "http_timeout", *, url: str | None = None
    ) -> None:
        """Deliver the same event again now, as Slack's next retry (HTTP: to ``url`` if
        given, e.g. another replica behind the load balancer)."""
        if isinstance(delivery, HttpDelivery):
            await self.http.attempt(delivery, retry_reason=reason, url=url)
        else:
            await self.socket.resend(delivery, retry_reason="timeout")

    async def verify_url(self, url: str | None = None, challenge: str = "") -> HttpDelivery:
        """The ``url_verification`` handshake Slack does when the Request URL is saved."""
        payload = events.url_verification(challenge or uuid.uuid4().hex, self.app)
        return await self.deliver_http(payload, url=url, retries=False)

    async def click_button(
        self, channel: str, ts: str, action_id: str, *, user: str | None = None
    ) -> Delivery:
        """A person clicks the button ``action_id`` of a message (it must be showing)."""
        message = self.store.get_message(channel, ts)
        action = find_action(message.blocks if message else None, action_id)
        if message is None or action is None:
            raise ValueError(f"no button {action_id!r} on message {channel}/{ts}")
        return await self._click(channel, message, action, user)

    async def _click(
        self, channel: str, message: Message, action: dict[str, Any], user: str | None
    ) -> Delivery:
        ts = message.ts
        ch = self.store.channels[channel]
        ws = self.store.workspaces[ch.team_id]
        token = uuid.uuid4().hex
        self._response_targets[token] = ResponseTarget(ws.team_id, channel, ts)
        payload = block_actions_payload(
            workspace=ws,
            app=self.app,
            user=self.store.users[user or ws.alice],
            channel=ch,
            message=message,
            action=action,
            response_url=f"{self.base_url}/actions/{token}",
        )
        self.store.triggers[payload["trigger_id"]] = (ws.team_id, payload["user"]["id"],
                                                      self._now())  # fmt: skip
        return await self._route(payload, "interactive", retries=False)

    async def submit_view(self, view_id: str, values: dict[str, dict[str, str]]) -> Delivery:
        """The person submits an open modal: ``view_submission`` with ``state.values``
        (``{block_id: {action_id: {"type": "plain_text_input", "value": ...}}}``;
        docs.slack.dev reference/interaction-payloads/view-interactions-payload)."""
        team, user, view = self.store.modals.pop(view_id)
        ws = self.store.workspaces[team]
        state = {block: {action: {"type": "plain_text_input", "value": value}
                         for action, value in actions.items()}
                 for block, actions in values.items()}  # fmt: skip
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": ws.domain},
            "user": {"id": user, "team_id": team},
            "api_app_id": self.app.app_id,
            "token": self.app.verification_token,
            "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return await self._route(payload, "interactive", retries=False)

    async def click_feedback(
        self, channel: str, ts: str, action_id: str, *, positive: bool, user: str | None = None
    ) -> Delivery:
        """A person clicks 👍 (``positive``) or 👎 of a ``feedback_buttons`` element: the
        action carries that button's ``value`` and ``text`` (bolt-js FeedbackButtonsAction:
        ``type: "feedback_buttons"``, ``value``, ``text``)."""
        message = self.store.get_message(channel, ts)
        element = find_action(message.blocks if message else None, action_id)
        if message is None or element is None or element.get("type") != "feedback_buttons":
            raise ValueError(f"no feedback buttons {action_id!r} on message {channel}/{ts}")
        button = element["positive_button" if positive else "negative_button"]
        action = {"type": "feedback_buttons", "action_id": action_id,
                  "block_id": element.get("block_id", ""), "value": button["value"],
                  "text": button["text"]}  # fmt: skip
        return await self._click(channel, message, action, user)

    async def start_assistant_thread(
        self, user: str, *, viewing: str | None = None, team_id: str | None = None
    ) -> tuple[Message, Delivery]:
        """A person opens the app's assistant container (or starts a new chat): a root
        message of subtype ``assistant_app_thread`` in their DM with the app, then
        ``assistant_thread_started`` with ``context`` naming the channel they are viewing
        (docs.slack.dev reference/events/assistant_thread_started and
        reference/events/message/assistant_app_thread)."""
        ws = self.store.workspaces[team_id] if team_id else self.workspace
        dm = self._dm_with(ws, user)
        root = Message(
            ts=self.store.ts_clock.next(),
            channel=dm,
            team_id=ws.team_id,
            user=user,
            text="New chat",
            subtype="assistant_app_thread",
        )
        self.store.add_message(root)
        event = self._assistant_event("assistant_thread_started", ws, user, dm, root.ts, viewing)
        return root, await self.send_event(event, ws.team_id, retries=False)

    async def change_assistant_context(
        self, root: Message, user: str, *, viewing: str, team_id: str | None = None
    ) -> Delivery:
        """The person moves to another channel while the container is open
        (``assistant_thread_context_changed``)."""
        ws = self.store.workspaces[team_id] if team_id else self.workspace
        event = self._assistant_event(
            "assistant_thread_context_changed", ws, user, root.channel, root.ts, viewing
        )
        return await self.send_event(event, ws.team_id, retries=False)

    def _assistant_event(
        self, kind: str, ws: Workspace, user: str, dm: str, thread_ts: str, viewing: str | None
    ) -> dict[str, Any]:
        context: dict[str, Any] = {}
        if viewing is not None:
            context = {"channel_id": viewing, "team_id": ws.team_id, "enterprise_id": None}
        return {
            "type": kind,
            "assistant_thread": {"user_id": user, "context": context, "channel_id": dm,
                                 "thread_ts": thread_ts},
            "event_ts": self.store.ts_clock.next(),
        }  # fmt: skip

    def _dm_with(self, ws: Workspace, user: str) -> str:
        """The person's DM channel with the app (created on first use)."""
        for channel in self.store.channels.values():
            if channel.team_id == ws.team_id and channel.kind == "im" and channel.im_user == user:
                return channel.id
        dm = f"D{user[1:]}"
        self.store.add_channel(ws.team_id, dm, dm, "im", user)
        return dm

    async def open_home(self, user: str, team_id: str | None = None) -> Delivery:
        """A person opens the app's Home tab: ``app_home_opened`` (docs.slack.dev
        reference/events/app_home_opened: ``user``, ``channel`` (the app's DM with them),
        ``tab`` ``home`` or ``messages``, ``event_ts``)."""
        ws = self.store.workspaces[team_id] if team_id else self.workspace
        event = {"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}",
                 "tab": "home", "event_ts": self.store.ts_clock.next()}  # fmt: skip
        return await self.send_event(event, ws.team_id, retries=False)

    async def slash_command(
        self, channel: str, text: str = "", *, user: str | None = None, command: str = "/threadcast"
    ) -> Delivery:
        """A person types ``command text`` in ``channel`` (see :mod:`.commands`); answers on
        the ``response_url`` are recorded as ``response_url`` calls."""
        ch = self.store.channels[channel]
        ws = self.store.workspaces[ch.team_id]
        token = uuid.uuid4().hex
        self._response_targets[token] = ResponseTarget(ws.team_id, channel, "")
        payload = slash_command_payload(
            workspace=ws, app=self.app, user=self.store.users[user or ws.alice], channel=ch,
            command=command, text=text, response_url=f"{self.base_url}/actions/{token}",
        )  # fmt: skip
        return await self._route(payload, "slash_commands", retries=False)

    async def _route(
        self,
        payload: dict[str, Any],
        kind: Literal["events_api", "interactive", "slash_commands"],
        retries: bool,
    ) -> Delivery:
        if self.events_url is None:
            if not self.socket.connects:  # none open now: the app may be reconnecting
                raise RuntimeError("set sim.events_url or connect the app over Socket Mode")
            return await self.socket.send(
                kind, payload, retries=retries, accepts_response_payload=kind == "slash_commands"
            )
        if kind == "events_api":
            body, content_type = json.dumps(payload).encode(), "application/json"
        elif kind == "slash_commands":
            body = urlencode(payload).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body = urlencode({"payload": json.dumps(payload)}).encode()
            content_type = "application/x-www-form-urlencoded"
        delivery = HttpDelivery(self.events_url, body, content_type, payload.get("event_id"))
        await self.http.attempt(delivery)
        if retries and kind == "events_api" and not delivery.acked:
            self._spawn(self.http.retry(delivery))
        return delivery

    def _require_url(self) -> str:
        if self.events_url is None:
            raise RuntimeError("sim.events_url is not set")
        return self.events_url

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def receiving(self) -> bool:
        """Whether an app is there to receive events: an events URL, or a Socket Mode app
        that has connected, even if none of its connections is open now (it reconnects:
        its events wait for Slack's retries, whatever the event, see :mod:`.socket_mode`).
        Before any, there is no app: the Web API works, no event is sent."""
        return self.events_url is not None or self.socket.connects > 0

    def _parent_user(self, message: Message) -> str | None:
        if not message.is_reply or message.thread_ts is None:
            return None
        parent = self.store.get_message(message.channel, message.thread_ts)
        return parent.user if parent else None

    # -- echoes of the bot's own actions, and response_url ------------------------------
    def _echo_changes(self, workspace: Workspace, changes: list[Change]) -> None:
        """The events the bot's own posts, edits and deletions cause (``echo_bot_events``):
        Events API events like any other, so while the app reconnects they wait for
        Slack's retries too (:mod:`.socket_mode`)."""
        if not self.config.echo_bot_events or not self.receiving:
            return
        for change in changes:
            channel: Channel = self.store.channels[change.message.channel]
            if SUBSCRIPTION[channel.kind] not in self.config.subscriptions:
                continue
            message, previous = change.message, change.previous or {}
            if change.kind == "posted":
                event = events.message_event(message, channel, self._parent_user(message))
            elif change.kind == "changed":
                event_ts = self.store.ts_clock.next()
                event = events.message_changed_event(message, channel, previous, event_ts)
            else:
                event_ts = self.store.ts_clock.next()
                event = events.message_deleted_event(message, channel, previous, event_ts)
            self._spawn(self.send_event(event, workspace.team_id))

    async def _response_url(self, request: web.Request) -> web.Response:
        target = self._response_targets.get(request.match_info["token"])
        if target is None:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        body = await request.json()
        apply_response(self.store, target, body)
        record = CallRecord("response_url", body, self._now(), target.team_id)
        record.response = {"ok": True}
        self.api.record(record)
        return web.json_response({"ok": True})
