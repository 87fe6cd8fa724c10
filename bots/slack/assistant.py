"""Slack's AI app surface (``SLACK_ASSISTANT=true``), through slack-bolt's ``AsyncAssistant``.

bolt dispatches the assistant events (slack_bolt/middleware/assistant/async_assistant.py):

- ``assistant_thread_started`` (the person opened the container or a new chat): the
  greeting is said in the thread and the suggested prompts set
  (``assistant.threads.setSuggestedPrompts``, at most four); the context — the channel the
  person is viewing — is kept;
- ``assistant_thread_context_changed``: bolt's default listener saves the new context in
  the thread context store, here Redis (:class:`RedisThreadContexts`: one key per thread,
  as long as a session lives) rather than bolt's default, which rewrites message metadata;
- a person's message in an assistant thread (a DM message with a ``thread_ts``): answered
  like any DM thread message (the same relay, budgets, Stop, files, session per thread),
  the viewed channel given to the agent as context (:func:`context_note`), and the thread
  titled after its first message (``assistant.threads.setTitle``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from slack_bolt.context.assistant.thread_context import AssistantThreadContext
from slack_bolt.context.assistant.thread_context_store.async_store import (
    AsyncAssistantThreadContextStore,
)
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant

from core.errors import SessionStoreError
from core.redis import guarded, text

__all__ = [
    "AssistantOptions",
    "RedisThreadContexts",
    "assistant_for",
    "context_note",
    "parse_prompts",
    "title_of",
]

log = logging.getLogger(__name__)

MAX_PROMPTS = 4  # "up to four suggested prompts" (assistant.threads.setSuggestedPrompts)
_TITLE_CHARS = 60


@dataclass(frozen=True, slots=True)
class AssistantOptions:
    greeting: str
    prompts: Sequence[tuple[str, str]]  # (title, message)


def parse_prompts(raw: str) -> list[tuple[str, str]]:
    """``title=message;title=message`` → pairs; ValueError saying what is wrong."""
    pairs = []
    for item in raw.split(";"):
        if not item.strip():
            continue
        title, sep, message = item.partition("=")
        if not sep or not title.strip() or not message.strip():
            raise ValueError(f"expected title=message, got {item.strip()!r}")
        pairs.append((title.strip(), message.strip()))
    if len(pairs) > MAX_PROMPTS:
        raise ValueError(f"at most {MAX_PROMPTS} prompts (Slack shows no more)")
    return pairs


def title_of(first_message: str) -> str:
    """A thread's title: its first message, on one line, shortened."""
    line = " ".join(first_message.split())
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1].rstrip() + "…"


def context_note(context: dict[str, Any] | None, channel_name: str | None = None) -> str | None:
    """What the agent is told about where the person is in Slack (the seam where the
    thread-context work passes ``context=`` to agents instead)."""
    channel = (context or {}).get("channel_id")
    if not isinstance(channel, str) or not channel:
        return None
    named = f"#{channel_name} ({channel})" if channel_name else channel
    return f"[Context: the user is viewing the Slack channel {named}.]"


class RedisThreadContexts(AsyncAssistantThreadContextStore):
    """bolt's thread context store, in Redis: ``<ns>:slack-assistant:<channel>:<thread>``."""

    def __init__(self, redis: aioredis.Redis, *, namespace: str, ttl: float) -> None:
        self.redis = redis
        self.namespace = namespace
        self.ttl = max(1, int(ttl))

    def _key(self, channel_id: str, thread_ts: str) -> str:
        return f"{self.namespace}:slack-assistant:{channel_id}:{thread_ts}"

    async def save(self, *, channel_id: str, thread_ts: str, context: dict[str, str]) -> None:
        body = json.dumps(context)
        try:
            await guarded("assistant context", self.redis.set(
                self._key(channel_id, thread_ts), body, ex=self.ttl))  # fmt: skip
        except SessionStoreError as exc:  # the thread goes on without it
            log.warning("assistant context not saved: %s", exc)

    async def find(self, *, channel_id: str, thread_ts: str) -> AssistantThreadContext | None:
        try:
            raw = await guarded("assistant context", self.redis.get(
                self._key(channel_id, thread_ts)))  # fmt: skip
        except SessionStoreError as exc:
            log.warning("assistant context not read: %s", exc)
            return None
        if raw is None:
            return None
        data = json.loads(text(raw))
        return AssistantThreadContext(data) if isinstance(data, dict) and data.get(
            "channel_id") else None  # fmt: skip


SetTitle = Callable[..., Awaitable[Any]]
UserMessage = Callable[[dict[str, Any], dict[str, Any], SetTitle], Awaitable[None]]
"""(body, event, set_title): the bot's handling of a person's message in an assistant
thread."""


def assistant_for(
    options: AssistantOptions, contexts: RedisThreadContexts, on_message: UserMessage
) -> AsyncAssistant:
    """The bolt assistant to register with ``app.assistant(...)``."""
    assistant = AsyncAssistant(thread_context_store=contexts)

    @assistant.thread_started
    async def started(
        payload: dict[str, Any],
        say: Callable[..., Awaitable[Any]],
        set_suggested_prompts: Callable[..., Awaitable[Any]],
        save_thread_context: Callable[..., Awaitable[Any]],
    ) -> None:
        context = payload.get("assistant_thread", {}).get("context") or {}
        if context.get("channel_id"):
            await save_thread_context(context)
        try:
            await say(options.greeting)
            if options.prompts:
                await set_suggested_prompts(
                    prompts=[{"title": t, "message": m} for t, m in options.prompts]
                )
        except Exception as exc:  # the person can still write: nothing else depends on it
            log.warning("assistant greeting failed: %r", exc)

    @assistant.user_message
    async def message(
        body: dict[str, Any], event: dict[str, Any], set_title: Callable[..., Awaitable[Any]]
    ) -> None:
        await on_message(body, event, set_title)

    return assistant
