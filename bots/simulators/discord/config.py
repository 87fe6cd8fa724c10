"""What the simulated Discord enforces, in one place, so a test can change one limit.

The defaults are Discord's documented or commonly observed values (DESIGN §3); the rate
limits are configurable because Discord itself says not to hard-code them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DIRECT_MESSAGES",
    "GUILDS",
    "GUILD_MEMBERS",
    "GUILD_MESSAGES",
    "GUILD_PRESENCES",
    "MESSAGE_CONTENT",
    "PRIVILEGED_INTENTS",
    "SimulatorConfig",
]

# Gateway intent bits (discord-api-docs, Gateway > Gateway Intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

MIB = 1024 * 1024


@dataclass(slots=True)
class SimulatorConfig:
    """Limits and identities of one simulated Discord."""

    token: str = "sim-bot-token"
    bot_name: str = "threadcast"
    guild_name: str = "Simulated Guild"
    text_channels: tuple[str, ...] = ("general", "random")
    # Forum channels: no messages of their own; each post is a thread (``forum_post``).
    forum_channels: tuple[str, ...] = ()
    # Voice channels (their text chat takes messages, not threads) and announcement channels
    # (threads from their messages are ANNOUNCEMENT_THREADs).
    voice_channels: tuple[str, ...] = ()
    announcement_channels: tuple[str, ...] = ()
    human_users: tuple[str, ...] = ("alice", "bob")
    other_bots: tuple[str, ...] = ("otherbot",)

    # Per-channel bucket shared by message create and edit (X-RateLimit-Bucket is the same
    # for both routes, so discord.py also treats them as one bucket per channel).
    channel_limit: int = 5
    channel_window: float = 5.0
    # Every other route: one bucket per route and major parameter.
    route_limit: int = 50
    route_window: float = 1.0
    # Global limit per bot token; interaction callbacks and webhooks are exempt, as on Discord.
    global_limit: int = 50
    global_window: float = 1.0

    max_content: int = 2000
    max_files: int = 10
    # The upload limit: "A file upload size limit applies to *all* files in a request
    # (rather than each individual file). While the limit depends on the Boost Tier of a
    # guild, it is 10 MiB by default" (discord-api-docs, Reference > Uploading Files; 10 MiB
    # since discord-api-docs PR #7312, January 2025; discord.py's
    # ``utils.DEFAULT_FILE_SIZE_LIMIT_BYTES``). Files past it together: 413 / 40005.
    max_file_size: int = 10 * MIB
    # The whole request body (JSON and multipart overhead included).
    max_request_size: int = 25 * MIB
    max_embeds: int = 10
    max_embed_description: int = 4096
    max_embeds_total: int = 6000

    # Seconds after an interaction's creation within which its first response must arrive;
    # later, the callback gets 404 / 10062 "Unknown interaction" (discord-api-docs,
    # Interactions > Receiving and Responding > Interaction Callback: "you must send an
    # initial response within 3 seconds of receiving the event"). Measured on the simulator's
    # clock (loop time), so a test may run it in fake time or scale it down.
    interaction_deadline: float = 3.0
    # Seconds an interaction's token stays valid for follow-ups and ``@original``
    # (Interactions > Receiving and Responding: "Interaction tokens are valid for 15
    # minutes"); later, those webhook routes answer 401 / 50027 "Invalid Webhook Token" (as
    # discord-api-docs issue #6851 and discord.js users' logs show).
    interaction_token_lifetime: float = 900.0

    # Threads that may be active (not archived) in the guild at once; one more is 400 /
    # 160006. Discord does not publish the figure in its API docs ("guilds are capped at a
    # certain number of active threads", Topics > Threads); 1,000 is the commonly met cap.
    max_active_threads: int = 1000
    # Edits of messages older than ``old_message_age`` seconds: at most
    # ``old_message_edit_limit`` per ``old_message_edit_window`` per channel, then 429 /
    # 30046 (see ``restrictions``: Discord documents the code, not the numbers).
    old_message_age: float = 3600.0
    old_message_edit_limit: int = 3
    old_message_edit_window: float = 20.0

    # Privileged intents the application is allowed to use (Developer Portal switches);
    # IDENTIFY asking for one outside this mask is closed with 4014.
    allowed_privileged_intents: int = PRIVILEGED_INTENTS
    # Intent bits this Discord knows (None: any). IDENTIFY asking for a bit outside the mask
    # is closed with 4013 "Invalid intent(s)": "You sent an invalid intent for a Gateway
    # Intent. You may have incorrectly calculated the bitwise value" (Topics > Opcodes and
    # Status Codes > Gateway Close Event Codes, https://discord.com/developers/docs/topics/
    # opcodes-and-status-codes#gateway-gateway-close-event-codes). discord.py only sends the
    # bits its ``Intents`` flags define, so a test narrows this mask to see that close.
    known_intents: int | None = None
    heartbeat_interval_ms: int = 41_250
    # A connection that sends no heartbeat within the interval is closed: "If your app fails
    # to send a heartbeat event in time, your connection will be closed and you will be
    # forced to Resume", and "There is already tolerance in the heartbeat_interval that will
    # cover network latency" (Topics > Gateway > Sending Heartbeats,
    # https://discord.com/developers/docs/topics/gateway#sending-heartbeats). The tolerance
    # is not published: a heartbeat may come this fraction of an interval late.
    heartbeat_tolerance: float = 0.25
    # "Apps can send 120 gateway events per connection every 60 seconds [...] Apps that
    # surpass the limit are immediately disconnected from the Gateway" (Topics > Gateway >
    # Rate Limiting, https://discord.com/developers/docs/topics/gateway#rate-limiting), with
    # close code 4008 "Rate limited" (Topics > Opcodes and Status Codes > Gateway Close Event
    # Codes). Heartbeats count too: discord.py keeps 10 of the 120 for them
    # (discord/gateway.py ``GatewayRatelimiter``: 110 per 60 s for everything else).
    gateway_send_limit: int = 120
    gateway_send_window: float = 60.0
    # Dispatches kept per gateway session for RESUME replays.
    replay_buffer: int = 2_000
