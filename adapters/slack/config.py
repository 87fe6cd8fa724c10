"""What the Slack surface is told: streaming mode, thinking indicator, limits and budgets.

Slack limits each Web API method per app per workspace (``chat.update`` is Tier 3, "50+ per
minute"; ``chat.appendStream`` Tier 4, 100+; ``chat.startStream`` Tier 2, 20+) and
``chat.postMessage`` to about one message per second per channel plus a workspace-wide
limit. :func:`scopes_for` turns those into the :class:`BudgetScope` keys the edit scheduler
shares between every reply streaming in one workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from core.surface import BudgetScope, SurfaceAction, SurfaceLimits
from core.turn import ThreadRef

__all__ = [
    "MARKDOWN_BLOCK_LIMIT",
    "RenderMode",
    "StreamingMode",
    "SurfaceConfig",
    "ThinkingMode",
    "scope_key",
    "scopes_for",
]

StreamingMode = Literal["edit", "native", "auto"]
"""``edit``: chat.postMessage + chat.update (mrkdwn); ``native``: chat.startStream /
appendStream / stopStream (Markdown); ``auto``: native where Slack accepts it, else edit."""

RenderMode = Literal["markdown", "mrkdwn"]
"""Edit mode's rendering: ``markdown``: the agent's Markdown in a ``markdown`` block, rendered
by Slack (mentions defused); ``mrkdwn``: converted by hand into mrkdwn section blocks."""

# "The cumulative limit for all markdown blocks in a single payload is 12,000 characters"
# (docs.slack.dev reference/block-kit/blocks/markdown-block).
MARKDOWN_BLOCK_LIMIT = 12_000

ThinkingMode = Literal["auto", "placeholder", "off"]
"""``auto``: assistant.threads.setStatus, a placeholder message where Slack refuses it;
``placeholder``: always a placeholder message; ``off``: nothing until the first text."""


@dataclass(frozen=True, slots=True)
class SurfaceConfig:
    """Everything :class:`~adapters.slack.surface.SlackSurface` is configured with."""

    streaming: StreamingMode = "edit"
    render: RenderMode = "markdown"
    thinking: ThinkingMode = "auto"
    update_per_minute: float = 50.0
    # A modest burst: Slack welcomes "sporadic bursts" but does not say how large.
    update_burst: float = 3.0
    append_per_minute: float = 100.0
    start_per_minute: float = 20.0
    post_per_second_per_channel: float = 1.0
    post_per_minute: float = 300.0
    # conversations.replies, Tier 3 (50+ per minute) for internal and Marketplace apps
    # (docs.slack.dev reference/methods/conversations.replies, "Usage info"); crash
    # recovery's reads of a message draw on it (scopes_for "read").
    replies_per_minute: float = 50.0
    min_edit_interval: float = 1.0
    max_message_chars: int = 4_000
    max_file_bytes: int = 1024**3
    # A Web API call answers in well under a second; after this it is treated as failed.
    call_timeout: float = 10.0
    # Uploads move whole files (up to max_file_bytes) and get more time.
    upload_timeout: float = 120.0

    @property
    def native(self) -> bool:
        """Whether replies are rendered as standard Markdown for Slack's streaming API."""
        return self.streaming != "edit"

    @property
    def markdown(self) -> bool:
        """Whether replies are sent as (defused) standard Markdown that Slack renders: in
        native streams and ``markdown`` blocks; else as hand-converted mrkdwn."""
        return self.native or self.render == "markdown"

    def limits(self) -> SurfaceLimits:
        # Native streams can only append: a cursor added to each update could never be
        # taken back, so the indicator is Slack's own streaming animation instead.
        return SurfaceLimits(
            # A page must fit in one markdown block (its payload's whole Markdown budget).
            max_message_chars=(
                min(self.max_message_chars, MARKDOWN_BLOCK_LIMIT)
                if self.markdown
                else self.max_message_chars
            ),
            min_edit_interval=self.min_edit_interval,
            max_file_bytes=self.max_file_bytes,
            max_files_per_message=10,
            # files.getUploadURLExternal refuses ``length`` 0: "missing_argument ...
            # Typically only occurs when the length provided is 0" (its Errors).
            min_file_bytes=1,
            streaming_indicator="" if self.native else " ▍",
        )


def scope_key(where: ThreadRef, method: str, *, per_channel: bool = False) -> str:
    """``slack:<team>:<method>`` (workspace budget) or ``slack:<team>:<channel>:<method>``."""
    if per_channel:
        return f"slack:{where.workspace}:{where.channel}:{method}"
    return f"slack:{where.workspace}:{method}"


def scopes_for(
    config: SurfaceConfig, where: ThreadRef, action: SurfaceAction, *, native: bool
) -> Sequence[BudgetScope]:
    """The budgets one ``action`` in ``where`` draws on (``native``: streams are in use)."""
    if action == "read":  # a message read back with conversations.replies (Tier 3)
        return (
            BudgetScope(
                scope_key(where, "conversations.replies"),
                rate=config.replies_per_minute / 60.0,
                burst=config.update_burst,
            ),
        )
    if action == "edit":
        if native:
            return (
                BudgetScope(
                    scope_key(where, "chat.appendStream"),
                    rate=config.append_per_minute / 60.0,
                    burst=config.update_burst,
                ),
            )
        return (
            BudgetScope(
                scope_key(where, "chat.update"),
                rate=config.update_per_minute / 60.0,
                burst=config.update_burst,
            ),
        )
    scopes = [
        BudgetScope(
            scope_key(where, "chat.postMessage", per_channel=True),
            rate=config.post_per_second_per_channel,
            burst=2.0,
        ),
        BudgetScope(
            scope_key(where, "chat.postMessage"), rate=config.post_per_minute / 60.0, burst=10.0
        ),
    ]
    if native:
        # A streamed reply's first message is a chat.startStream (Tier 2, 20+/min).
        scopes.append(
            BudgetScope(
                scope_key(where, "chat.startStream"),
                rate=config.start_per_minute / 60.0,
                burst=config.update_burst,
            )
        )
    return tuple(scopes)
