"""assistant.threads.setSuggestedPrompts and assistant.threads.setTitle: the AI app surface.

docs.slack.dev reference/methods/assistant.threads.setSuggestedPrompts: ``channel_id`` and
``prompts`` required, "up to four suggested prompts", each with a ``title`` and a
``message``; ``title`` (of the list) and ``thread_ts`` optional; errors
``channel_not_found``, ``invalid_thread_ts`` ("Thread not found"). Tier 4.
reference/methods/assistant.threads.setTitle: ``channel_id``, ``thread_ts`` and ``title``
required; errors ``channel_not_found``, ``invalid_thread_ts``. Tier 4. Both need the
``assistant:write`` scope (setStatus lives in :mod:`.api_misc`).
"""

from __future__ import annotations

from typing import Any

from bots.simulators.slack.context import CallContext, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.params import json_arg, str_arg

__all__ = ["MAX_PROMPTS", "METHODS"]

MAX_PROMPTS = 4


def _thread(ctx: CallContext, *, required: bool) -> tuple[str, str | None]:
    channel = ctx.channel("channel_id")
    thread_ts = str_arg(ctx.params, "thread_ts")
    if thread_ts is None:
        if required:
            raise ApiError("invalid_arguments", detail="missing required argument: thread_ts")
        return channel.id, None
    if ctx.store.thread_parent_ts(channel.id, thread_ts) is None:
        raise ApiError("invalid_thread_ts")
    return channel.id, thread_ts


def set_suggested_prompts(ctx: CallContext) -> dict[str, Any]:
    channel, thread_ts = _thread(ctx, required=False)
    prompts = json_arg(ctx.params, "prompts", error="invalid_arguments")
    if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_PROMPTS:
        raise ApiError("invalid_arguments", detail="prompts: 1 to 4 prompts")
    for prompt in prompts:
        if not (isinstance(prompt, dict) and isinstance(prompt.get("title"), str)
                and isinstance(prompt.get("message"), str)):  # fmt: skip
            raise ApiError("invalid_arguments", detail="each prompt needs a title and a message")
    title = str_arg(ctx.params, "title")
    ctx.store.suggested_prompts[(channel, thread_ts or "")] = (title, list(prompts))
    return {"ok": True}


def set_title(ctx: CallContext) -> dict[str, Any]:
    channel, thread_ts = _thread(ctx, required=True)
    title = str_arg(ctx.params, "title")
    if not title:
        raise ApiError("invalid_arguments", detail="missing required argument: title")
    ctx.store.thread_titles[(channel, thread_ts or "")] = title
    return {"ok": True}


METHODS: dict[str, Handler] = {
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "assistant.threads.setTitle": set_title,
}
