"""Every knob of the simulator, with Slack's documented (or observed) values as defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bots.simulators.slack.ratelimit import DEFAULT_RATE_RULES, RateRule

__all__ = ["DEFAULT_SCOPES", "AppIdentity", "SimConfig"]

DEFAULT_SCOPES = frozenset(
    {
        "app_mentions:read", "channels:history", "groups:history", "im:history",
        "mpim:history", "chat:write", "files:read", "files:write", "users:read",
    }
)  # fmt: skip
"""The bot scopes a workspace's token is granted (deploy/slack/manifest.yml); a test takes
one away with ``SlackSimulator.remove_scope``. Only the methods that read (conversations.
replies, users.info) and the file host check them."""


@dataclass(frozen=True)
class AppIdentity:
    """The Slack app under test: the same in every workspace it is installed in."""

    app_id: str = "A0SIMAPP01"
    app_token: str = "xapp-1-A0SIMAPP01-1-simulatedapptoken"
    signing_secret: str = "sim-signing-secret"
    verification_token: str = "sim-verification-token"
    bot_name: str = "threadcast"


@dataclass
class SimConfig:
    # Sizes.
    max_text: int = 40_000  # chat.update fails past it (msg_too_long); postMessage truncates
    max_markdown: int = 12_000  # per markdown_text argument and per markdown-block payload
    max_blocks: int = 50
    max_section_text: int = 3_000
    max_loading_messages: int = 10
    max_file_size: int = 1024**3
    # A workspace admin may restrict uploads of large files: files.getUploadURLExternal then
    # answers ``file_upload_size_restricted`` ("The size of provided file is too large, as
    # the team has restricted uploads of large files", its Errors) past this many bytes.
    # None: no restriction, Slack's default.
    team_upload_limit: int | None = None
    # conversations.replies: ``limit`` "default 1000" (Slack's method documentation
    # arguments, e.g. the slack_kit package's copy of conversations.replies.json); the
    # non-Marketplace commercial cap is 15 (docs.slack.dev reference/methods/
    # conversations.replies, "Usage info"): a test may set it.
    replies_max_limit: int = 1000
    # Native streams: end when idle this long, and at the latest this long after they
    # started (observed ~5 minutes; appends do not extend it).
    stream_idle_timeout: float = 60.0
    stream_max_lifetime: float = 300.0
    # assistant.threads.setStatus: "a two minute timeout applies".
    status_timeout: float = 120.0
    # Events: ack within 3 s or Slack retries; HTTP retries come "immediately, after
    # 1 minute and after 5 minutes". Tests usually shorten these.
    ack_timeout: float = 3.0
    http_retry_delays: tuple[float, ...] = (0.0, 60.0, 300.0)
    socket_retry_delays: tuple[float, ...] = (0.0, 60.0, 300.0)
    # The app's Home tab (features.app_home.home_tab_enabled in its manifest).
    home_tab_enabled: bool = True
    # Events the app is subscribed to (as in its manifest).
    subscriptions: frozenset[str] = frozenset(
        {"app_mention", "message.channels", "message.groups", "message.im", "message.mpim"}
    )
    # Also deliver the message / message_changed / message_deleted events the bot's own
    # posts, edits and deletions cause (Slack does; off by default to keep tests quiet).
    echo_bot_events: bool = False
    rate_rules: Mapping[str, tuple[RateRule, ...]] = field(
        default_factory=lambda: dict(DEFAULT_RATE_RULES)
    )
    # Seconds a method takes to answer ("*" for all), e.g. {"chat.update": 0.02}.
    latency: dict[str, float] = field(default_factory=dict)
    # The workspace's message edit setting: chat.update of a bot message posted longer ago
    # than this answers ``edit_window_closed`` ("The message cannot be edited due to the team
    # message edit settings", docs.slack.dev reference/methods/chat.update, Errors). None:
    # "any time", Slack's default; 0: never. Measured on the simulator's clock, so a test
    # moves it.
    message_edit_window: float | None = None
