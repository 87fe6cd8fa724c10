"""views.open: a modal opened from an interaction's ``trigger_id``.

docs.slack.dev reference/methods/views.open: ``trigger_id`` and ``view`` required; errors
include ``expired_trigger_id`` ("The trigger_id has expired": triggers live 3 seconds,
docs.slack.dev interactivity/handling-user-interaction) and ``invalid_trigger_id``. A modal
``view`` (reference/views/modal-views): ``type: modal``, a ``title`` of at most 24
characters, at most 100 blocks, a ``submit`` button when it has input blocks,
``private_metadata`` of at most 3,000 characters. The opened view is kept
(``store.modals``) so a test can submit it (``sim.submit_view``).
"""

from __future__ import annotations

from typing import Any

from bots.simulators.slack.context import CallContext, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.params import json_arg, str_arg

__all__ = ["METHODS", "TRIGGER_LIFETIME"]

TRIGGER_LIFETIME = 3.0
_TITLE = 24
_METADATA = 3_000


def views_open(ctx: CallContext) -> dict[str, Any]:
    trigger = str_arg(ctx.params, "trigger_id") or ""
    issued = ctx.store.triggers.get(trigger)
    if issued is None:
        raise ApiError("invalid_trigger_id")
    team, user, at = issued
    if ctx.now - at > TRIGGER_LIFETIME:
        raise ApiError("expired_trigger_id")
    view = json_arg(ctx.params, "view", error="invalid_arguments")
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise ApiError("invalid_arguments", detail="view: a modal is required")
    title = view.get("title")
    if not (isinstance(title, dict) and 0 < len(str(title.get("text", ""))) <= _TITLE):
        raise ApiError("invalid_arguments", detail=f"view.title: 1 to {_TITLE} characters")
    blocks = view.get("blocks") or []
    if not isinstance(blocks, list) or len(blocks) > 100:
        raise ApiError("invalid_arguments", detail="view.blocks: at most 100")
    if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks) and not view.get(
        "submit"
    ):
        raise ApiError("invalid_arguments", detail="view.submit: required with input blocks")
    if len(str(view.get("private_metadata", ""))) > _METADATA:
        raise ApiError("invalid_arguments", detail="view.private_metadata: too long")
    view_id = ctx.store.ids.next("V")
    opened = {**view, "id": view_id, "team_id": team, "state": {"values": {}}, "hash": view_id}
    ctx.store.modals[view_id] = (team, user, opened)
    return {"ok": True, "view": opened}


METHODS: dict[str, Handler] = {"views.open": views_open}
