"""A local Discord for tests: REST routes and the gateway websocket, spoken to by the real
discord.py 2.x client (test infrastructure, not product code).

Use::

    async with DiscordSimulator() as sim:
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        async with running_client(sim, client):
            msg = await sim.user_message(sim.channel("general").id, "hi", mention_bot=True)
            ...
            assert sim.channel_messages(thread_id)[-1].content == expected

What it models
- One guild (text channels, roles, members: the bot, humans, another bot), threads, DMs;
  a test may add guilds (``world.add_guild``, optionally on a given shard) before the bot
  connects.
- REST: ``users/@me``, ``oauth2/applications/@me``, ``gateway[/bot]``; messages create
  (JSON or multipart ``payload_json`` + ``files[n]``), get, list, edit, delete, bulk delete
  (``purges``: 2–100 ids, under 14 days old, MANAGE_MESSAGES; one MESSAGE_DELETE_BULK); typing;
  threads from a message (thread id == message id) and without one; DM channels;
  application commands (bulk overwrite, upsert, get, delete; global and guild);
  interaction callbacks (4, 5, 6, 7) within 3 s of the interaction (else 10062) and
  webhook follow-ups / ``@original`` for 15 minutes (then 401 / 50027); attachment files
  served at their URLs.
- Discord's limits and errors: content ≤ 2,000 (400 / 50035), empty message (50006),
  embeds (description ≤ 4,096, total ≤ 6,000), ≤ 10 files, an upload limit of 10 MiB for
  all the files of a request together and 25 MiB per request body (413 / 40005), thread
  names and ``auto_archive_duration`` ∈ {60, 1440, 4320, 10080}, unknown channel/message
  (404; a deleted thread is 10003), bad token (401); and
  (``restrictions``) permissions a test denies (403 / 50013; View Channel: 403 / 50001
  Missing Access on every call naming the channel), the active-thread cap
  (160006), edits in an archived thread (50083; posting unarchives it, PATCH too), locked
  threads (``lock_thread``: posts and edits 403 / 160005, or 50083 while also archived),
  edits of hour-old messages (429 / 30046) — with ``advance_clock`` to age them in no time.
- Rate limits: per-channel bucket for message create + edit (5 per 5 s), a bucket per
  other route, a global limit per token (50/s), ``X-RateLimit-*`` on every response, and
  429s with ``Retry-After``, ``{message, retry_after, global}``, ``X-RateLimit-Scope``,
  ``X-RateLimit-Global`` and ``Via`` (discord.py needs it); scripted failures with
  ``inject_failure``; API outages (``start_outage``: 503 for every REST call until
  ``end_outage``).
- ``allowed_mentions``: each message records who it would ping (``SimMessage.pings``).
- Gateway: HELLO, heartbeat/ACK, IDENTIFY (bad token → 4004, a bit outside ``known_intents`` →
  4013, refused privileged intent → 4014), READY + GUILD_CREATE, RESUME with replay,
  RECONNECT, INVALID_SESSION, the send limit (120 events per connection a minute, else
  4008), late heartbeats (closed), zombie connections (``zombie_connection``), 4009
  (``time_out_session``), intents (no MESSAGE_CONTENT → empty content except mentions,
  DMs and the bot's own messages),
  sharding, zlib-stream; the bot's own REST posts come back as MESSAGE_CREATE, edits as
  MESSAGE_UPDATE; helpers dispatch user messages (and their edits), threads, slash
  commands, button clicks and a redelivery after a resume, and (for hostile-input tests)
  raw frames: a dispatch with any ``d``, or text that is not JSON at all.
- Every REST call is recorded (``sim.calls``) with its route template, body, files, status
  and loop time; each channel keeps its messages with every version of their content.

What it does not model: permissions beyond the few ``restrictions`` lists (everything
else is allowed, Manage Threads excepted; denied permissions are not shown in channel
JSON), reactions, embeds' images, guild upload limits above 10 MiB, identify rate limits,
ETF/zstd, joining or leaving a guild
while connected, roles in any guild but the first, voice, presences.
"""

from __future__ import annotations

from .actors import DiscordSimulator
from .config import SimulatorConfig
from .harness import pointed_at, running_client
from .models import (
    Call,
    Pings,
    SimAttachment,
    SimChannel,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimUser,
)
from .state import AnswerLost

__all__ = [
    "AnswerLost",
    "Call",
    "DiscordSimulator",
    "Pings",
    "SimAttachment",
    "SimChannel",
    "SimGuild",
    "SimInteraction",
    "SimMessage",
    "SimUser",
    "SimulatorConfig",
    "pointed_at",
    "running_client",
]
