"""Message metadata: ``metadata`` on chat.postMessage / chat.update / chat.stopStream, and
its read-back by conversations.replies with ``include_all_metadata``.

What Slack documents, and the simulator does:

- a metadata payload is a JSON object with ``event_type``, "a string identifying the type
  of event … letters, numbers, underscores, and hyphens, but not periods or other
  punctuation. Metadata with an invalid ``event_type`` returns an
  ``invalid_metadata_schema`` warning and is ignored", and ``event_payload``, "a JSON object
  with the event-specific fields" (docs.slack.dev/messaging/message-metadata, "Defining
  metadata"); anything that is not such an object is refused as
  ``invalid_metadata_format`` ("Invalid metadata format provided", chat.postMessage's error
  list);
- chat.stopStream takes it too: "metadata: JSON object with event_type and event_payload
  fields, presented as a URL-encoded string" (docs.slack.dev/reference/methods/
  chat.stopStream; slack-sdk's ``chat_stopStream`` and ``AsyncChatStream.stop`` pass it);
- chat.update: "If you don't include this field, the message's previous metadata will be
  retained. To remove previous metadata, include an empty object for this field"
  (docs.slack.dev/reference/methods/chat.update, ``metadata``; mirrored in
  slack-ruby/slack-api-ref);
- conversations.replies / history return it only when asked: ``include_all_metadata``,
  "Return all metadata associated with this message", default false
  (docs.slack.dev/reference/methods/conversations.replies; slack_kit's copy of
  conversations.replies.json).

Not modelled: schemas declared in the app manifest (``metadata_too_large``, typed payload
validation) and the ``message_metadata_*`` events.
"""

from __future__ import annotations

import re
from typing import Any

from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.model import Message
from bots.simulators.slack.params import json_arg

__all__ = ["apply_metadata", "with_metadata"]

_EVENT_TYPE = re.compile(r"[A-Za-z0-9_-]+")
SCHEMA_WARNING = "invalid_metadata_schema"


def apply_metadata(params: dict[str, Any], message: Message) -> str | None:
    """Set ``message``'s metadata from the call's ``metadata`` argument (left as it is when
    the argument is absent, removed by ``{}``); returns the warning Slack adds, if any."""
    value = json_arg(params, "metadata", error="invalid_metadata_format")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError("invalid_metadata_format", detail="metadata must be a JSON object")
    if not value:
        message.metadata = None
        return None
    event_type, payload = value.get("event_type"), value.get("event_payload", {})
    if not isinstance(event_type, str) or not isinstance(payload, dict):
        detail = "metadata needs an event_type and an event_payload object"
        raise ApiError("invalid_metadata_format", detail=detail)
    if not _EVENT_TYPE.fullmatch(event_type):
        return SCHEMA_WARNING  # ignored, the call succeeds
    message.metadata = {"event_type": event_type, "event_payload": payload}
    return None


def with_metadata(answer: dict[str, Any], warning: str | None) -> dict[str, Any]:
    """``answer`` with the warning a metadata argument earned (Slack's ``warning`` field and
    ``response_metadata.warnings``)."""
    if warning is not None:
        answer["warning"] = warning
        answer["response_metadata"] = {"warnings": [warning]}
    return answer
