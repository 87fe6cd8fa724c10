"""A Slack simulator for tests: the Web API, Events API and Socket Mode on a loopback port.

Test infrastructure, not product code. The real slack-sdk ``AsyncWebClient`` and the real
slack-bolt ``AsyncApp`` run against it unchanged (``base_url=sim.api_url``)::

    async with SlackSimulator() as sim:
        client = AsyncWebClient(token=sim.workspace.bot_token, base_url=sim.api_url)
        sim.events_url = "http://127.0.0.1:<port>/slack/events"   # or connect Socket Mode
        turn = await sim.user_says(sim.workspace.general, sim.workspace.alice, "<@U0001BOT> hi")
        await sim.wait_for(lambda: sim.bot_replies(turn.message.channel, turn.thread_ts))

What it models (each module's docstring has the details and sources):

- Web API methods a streaming bot calls, with Slack's request encodings (query string,
  form or JSON body; ``Authorization: Bearer`` or ``token``) and answers (HTTP 200 with
  ``ok`` true/false): auth.test, chat.postMessage / update / delete, chat.postEphemeral,
  chat.startStream / appendStream / stopStream, assistant.threads.setStatus,
  files.getUploadURLExternal + the upload URL + files.completeUploadExternal,
  conversations.info / replies, users.info, apps.connections.open.
- Slack's errors and size limits (``invalid_auth``, ``channel_not_found``, ``msg_too_long``
  past 40,000 characters on update or 12,000 per stream append, ``message_not_found``,
  ``cant_update_message``, ``message_not_in_streaming_state`` once a stream is idle or too
  old, ``streaming_state_conflict``, ``stopped_by_user``, ``channel_type_not_supported``,
  ``invalid_blocks``...), errors a test injects (``sim.fail_next``: any code, HTTP
  status, or a gateway's HTML page), and outages (``sim.start_outage``: every call a 503
  page, or no answer at all, until ``sim.end_outage``; see ``outage.py``).
- What changes under a running bot (``WorkspaceChanges``): people editing messages
  (``app_mention`` again with ``edited``, ``message_changed``), archived channels
  (``is_archived`` / ``is_inactive``), the bot removed (``not_in_channel``), deleted
  channels, revoked tokens (``token_revoked``, ``invalid_auth``, ``account_inactive``),
  streams a person stopped, and Slack Connect users of another organisation
  (``user_team``; ``chat.startStream`` wants their team as ``recipient_team_id``).
- Rate limits as token buckets per method per workspace (postMessage also per channel),
  with bursts; 429 + ``Retry-After`` (whole seconds >= 1) + ``{"ok":false,"error":"ratelimited"}``.
- A record of every call (``sim.calls("chat.update")``) and a message store showing what a
  user would see (``sim.thread_messages(channel, thread_ts)``, files, thread status).
- Events: signed HTTP POSTs (``event_callback``, ``url_verification``, ``block_actions``
  form payloads) with Slack's retries, or Socket Mode envelopes with acks and redelivery
  (every event, edits, deletions and echoes included, waits for the retries while the app
  reconnects; faults: ``break_after_next``, ``ack_delay``, ``cut`` / ``restore``);
  builders for ``app_mention``, ``message`` (channel, DM), ``message_changed``/``deleted``.

Threads are read with ``conversations.replies`` (cursor-paged, ``oldest``/``latest``), users'
files served at ``url_private`` to the bot token (``file_host``); the reading methods and
the file host check the token's scopes (``remove_scope``).

What it does not model: OAuth and multi-app installs, scopes of the writing methods (those
calls are always allowed), Block Kit beyond the size limits, mrkdwn rendering (text is
stored as sent), pagination of methods other than conversations.replies, message
ordering races between Slack's servers, the RTM API, enterprise grids, user tokens, and the
exact (undocumented) values Slack uses for bursts and stream expiry: those are defaults in
``SimConfig`` and ``ratelimit.DEFAULT_RATE_RULES``, change them per test.
"""

from bots.simulators.slack.calls import CallRecord, Fault
from bots.simulators.slack.config import AppIdentity, SimConfig
from bots.simulators.slack.events import (
    app_mention_event,
    event_callback,
    message_changed_event,
    message_deleted_event,
    message_event,
    typed,
)
from bots.simulators.slack.http_delivery import Attempt, HttpDelivery, sign
from bots.simulators.slack.model import Channel, FileRecord, Message, User, Workspace
from bots.simulators.slack.ratelimit import DEFAULT_RATE_RULES, RateRule
from bots.simulators.slack.simulator import SlackSimulator
from bots.simulators.slack.socket_mode import SocketDelivery
from bots.simulators.slack.store import ThreadStatus
from bots.simulators.slack.user_actions import Delivery, UserTurn

__all__ = [
    "DEFAULT_RATE_RULES",
    "AppIdentity",
    "Attempt",
    "CallRecord",
    "Channel",
    "Delivery",
    "Fault",
    "FileRecord",
    "HttpDelivery",
    "Message",
    "RateRule",
    "SimConfig",
    "SlackSimulator",
    "SocketDelivery",
    "ThreadStatus",
    "User",
    "UserTurn",
    "Workspace",
    "app_mention_event",
    "event_callback",
    "message_changed_event",
    "message_deleted_event",
    "message_event",
    "sign",
    "typed",
]
