"""Interaction responses: the callback (types 4, 5, 6, 7, 9) and the webhook routes for
follow-ups and the original response.

Type 9 (MODAL, "respond to an interaction with a popup modal"; not for a MODAL_SUBMIT):
validated as Discord does (``components.validate_modal``: ``custom_id`` ≤ 100 characters,
``title`` ≤ 45, 1 to 5 action rows each holding one text input); the modal is kept on the
interaction until the user submits it (``sim.submit_modal``, an INTERACTION_CREATE of type
5, refused as Discord's client refuses a value outside the text input's bounds).

Discord's rules modelled (discord-api-docs, Interactions > Receiving and Responding): one
callback per interaction (a second is 400 / 40060); the first response must come within
3 s of the interaction's creation (``interaction_deadline``, on the simulator's clock), else
404 / 10062 "Unknown interaction"; 6 and 7 answer component interactions and modal
submissions ("Only valid for MODAL_SUBMIT and component-based interactions",
discord-api-docs PR #8612; PR #5486 "DEFERRED_UPDATE_MESSAGE can always reply to
MODAL_SUBMIT", as discord.js PR #8455 found against the API), and their ``@original`` is
the message the component is on ("ACK an interaction and edit the original message
later"); 7 on the submission of a modal a command opened has no message to update: 404 /
10008 (discord-api-docs issue #7774); a deferred reply (5) posts a "thinking" message (flag
LOADING) that editing ``@original`` fills — and so does the first follow-up while it is
still loading ("this endpoint will function as Edit Original Interaction Response for
backwards compatibility");
ephemeral replies (flag 64) are stored but never dispatched; ``with_response`` returns the
callback resource discord.py reads. Follow-ups and ``@original`` take the token for 15
minutes after the interaction (``interaction_token_lifetime``), then 401 / 50027.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .bodies import Body
from .components import validate_modal
from .errors import ApiError, invalid_form, unknown
from .message_payloads import message_json
from .middleware import API_PREFIX, BODY
from .models import CHAT_INPUT_COMMAND, SimInteraction, SimMessage
from .responses import json_response
from .state import STATE, SimState
from .validation import validate_message

__all__ = ["interaction_routes"]

EPHEMERAL = 1 << 6
LOADING = 1 << 7


def _interaction(state: SimState, request: web.Request) -> SimInteraction:
    try:
        found = state.world.interactions.get(int(request.match_info["webhook_id"]))
    except ValueError:
        found = None
    if found is None or found.token != request.match_info["webhook_token"]:
        raise unknown("interaction")
    return found


def _post(
    state: SimState, interaction: SimInteraction, data: dict[str, Any], body: Body, *, flags: int
) -> SimMessage:
    message = state.world.add_message(interaction.channel_id, state.world.bot, data, body.files)
    message.flags |= flags
    if interaction.type == 2:  # an answer to a slash command (``models``)
        message.type = CHAT_INPUT_COMMAND
    message.webhook_id = state.world.application_id
    message.interaction_id = interaction.id
    if not message.flags & EPHEMERAL:
        state.events.message_created(message)
    return message


async def callback(request: web.Request) -> web.Response:
    state = request.app[STATE]
    interaction = _interaction(state, request)
    body: Body = request[BODY]
    payload = body.json if isinstance(body.json, dict) else {}
    if interaction.acknowledged:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    if state.limiter.now() - interaction.created > state.config.interaction_deadline:
        raise unknown("interaction")  # the 3 s window passed: the token was invalidated
    kind = payload.get("type")
    data = payload.get("data") or {}
    message: SimMessage | None = None
    if kind == 4:
        validate_message(data, len(body.files), state.config, creating=True)
        message = _post(state, interaction, data, body, flags=0)
        interaction.original_message_id = message.id
    elif kind == 5:
        message = _post(state, interaction, {"flags": data.get("flags", 0)}, Body(), flags=LOADING)
        interaction.original_message_id = message.id
    elif kind == 9 and interaction.type in (2, 3):
        validate_modal(data)
        interaction.modal = data
    elif kind in (6, 7) and (
        interaction.type == 5 or (interaction.type == 3 and interaction.message_id is not None)
    ):
        interaction.original_message_id = interaction.message_id
        if kind == 7:
            if interaction.message_id is None:
                raise unknown("message")
            validate_message(data, len(body.files), state.config, creating=False)
            message = state.world.message(interaction.channel_id, interaction.message_id)
            state.world.edit_message(message, data, body.files)
            state.events.message_updated(message)
    else:
        raise invalid_form("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type.")
    interaction.responses.append(payload)
    if not request.query.get("with_response"):
        return web.Response(status=204)
    return json_response(_callback_resource(state, interaction, kind, message))


def _callback_resource(
    state: SimState, interaction: SimInteraction, kind: int, message: SimMessage | None
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "interaction": {
            "id": str(interaction.id),
            "type": interaction.type,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and message.flags & EPHEMERAL),
        },
        "resource": {"type": kind},
    }
    if message is not None:
        answer["interaction"]["response_message_id"] = str(message.id)
        answer["resource"]["message"] = message_json(state.world, message)
    return answer


def _webhook_interaction(state: SimState, request: web.Request) -> SimInteraction:
    if request.match_info["webhook_id"] != str(state.world.application_id):
        raise unknown("webhook")
    interaction = state.world.interaction_by_token(request.match_info["webhook_token"])
    if state.limiter.now() - interaction.created > state.config.interaction_token_lifetime:
        raise ApiError(401, 50027, "Invalid Webhook Token")  # expired (see config)
    if not interaction.acknowledged:
        raise unknown("webhook")  # follow-ups exist only after the first response
    return interaction


def _webhook_message(state: SimState, request: web.Request) -> tuple[SimInteraction, SimMessage]:
    interaction = _webhook_interaction(state, request)
    raw = request.match_info["message_id"]
    message_id = interaction.original_message_id if raw == "@original" else int(raw)
    if message_id is None:
        raise unknown("message")
    return interaction, state.world.message(interaction.channel_id, message_id)


async def followup(request: web.Request) -> web.Response:
    state = request.app[STATE]
    interaction = _webhook_interaction(state, request)
    body: Body = request[BODY]
    payload = body.json if isinstance(body.json, dict) else {}
    validate_message(payload, len(body.files), state.config, creating=True)
    loading = _loading_original(state, interaction)
    if loading is not None:  # right after a deferral: fills the "thinking" message instead
        loading.flags &= ~LOADING
        state.world.edit_message(loading, payload, body.files)
        if not loading.flags & EPHEMERAL:
            state.events.message_updated(loading)
        message = loading
    else:
        message = _post(state, interaction, payload, body, flags=int(payload.get("flags") or 0))
    if request.query.get("wait") in ("1", "true", "True"):
        return json_response(message_json(state.world, message))
    return web.Response(status=204)


def _loading_original(state: SimState, interaction: SimInteraction) -> SimMessage | None:
    if interaction.original_message_id is None:
        return None
    original = state.world.find_message(interaction.original_message_id)
    return original if original is not None and original.flags & LOADING else None


async def get_webhook_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    _, message = _webhook_message(state, request)
    return json_response(message_json(state.world, message))


async def edit_webhook_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    _, message = _webhook_message(state, request)
    body: Body = request[BODY]
    payload = body.json if isinstance(body.json, dict) else {}
    validate_message(payload, len(body.files), state.config, creating=False)
    message.flags &= ~LOADING  # the first edit of a deferred reply ends "thinking"
    state.world.edit_message(message, payload, body.files)
    if not message.flags & EPHEMERAL:
        state.events.message_updated(message)
    return json_response(message_json(state.world, message))


async def delete_webhook_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    _, message = _webhook_message(state, request)
    state.world.delete_message(message)
    if not message.flags & EPHEMERAL:
        state.events.message_deleted(message)
    return web.Response(status=204)


def interaction_routes() -> list[web.RouteDef]:
    hook = API_PREFIX + "/webhooks/{webhook_id}/{webhook_token}"
    return [
        web.post(API_PREFIX + "/interactions/{webhook_id}/{webhook_token}/callback", callback),
        web.post(hook, followup),
        web.get(hook + "/messages/{message_id}", get_webhook_message),
        web.patch(hook + "/messages/{message_id}", edit_webhook_message),
        web.delete(hook + "/messages/{message_id}", delete_webhook_message),
    ]
