"""The Web API calls the surface makes, each bounded by a timeout and translated.

Two slack-sdk clients, on purpose:

- ``client`` (chat.postMessage / update / delete, streams, status) has *no* retry handler:
  slack-sdk's rate-limit handler would sleep out a 429 invisibly, and the edit scheduler
  must see every 429 to pause and slow the shared budget (the relay honours Retry-After);
- ``rare`` (file uploads) may retry 429s itself: uploads are few and not paced by the
  scheduler's edit budgets. Not their completion (``files.completeUploadExternal``, which
  attaches them): it goes through ``client``, as its connection-error retry would resend
  it blind (:func:`adapters.slack.uploads.upload_files`).

Every call runs under ``asyncio.timeout`` and raises only :mod:`core.errors` exceptions
(:func:`~adapters.slack.errors.translate`).

A token Slack refuses (``token_revoked``, ``invalid_auth``, ``account_inactive``...) is
noticed on the call that meets it: one ERROR line names ``SLACK_BOT_TOKEN``, and from then
on every call fails at once without reaching Slack (no retry storm against a token that
cannot come back); :attr:`SlackApi.token_problem` says so to ``/readyz``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.errors import SlackError, slack_error, translate
from adapters.slack.uploads import upload_files
from core.surface import OutgoingFile

__all__ = ["SlackApi"]

log = logging.getLogger(__name__)


class SlackApi:
    """Thin, typed wrappers over the methods the bot calls."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        rare: AsyncWebClient | None = None,
        timeout: float = 10.0,
        upload_timeout: float = 120.0,
    ) -> None:
        self.client = client
        self.rare = rare or client
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self._refused_token: SlackError | None = None

    @property
    def token_problem(self) -> str | None:
        """Why the bot token no longer works (None while it does)."""
        refused = self._refused_token
        if refused is None:
            return None
        return (
            f"SLACK_BOT_TOKEN: Slack refused it ({refused.code}, on {refused.method}); "
            "restart the bot with a valid token"
        )

    async def _call(
        self,
        method: str,
        scope: str | None,
        request: Callable[[], Awaitable[AsyncSlackResponse]],
        *,
        within: float | None = None,
    ) -> AsyncSlackResponse:
        if self._refused_token is not None:
            raise slack_error(method, self._refused_token.code, "not sent: the token is refused")
        try:
            async with asyncio.timeout(within or self.timeout):
                return await request()
        except Exception as exc:
            error = translate(exc, method=method, scope=scope)
            if isinstance(error, SlackError) and error.kind == "token":
                self._token_refused(error)
            raise error from exc

    def _token_refused(self, error: SlackError) -> None:
        if self._refused_token is not None:
            return
        self._refused_token = error
        log.error(
            "SLACK_BOT_TOKEN no longer works: Slack answered %s to %s. The bot stops "
            "answering and /readyz reports not ready until it restarts with a valid token.",
            error.code,
            error.method,
        )

    async def post_message(
        self, channel: str, thread: str | None, content: dict[str, Any], *, scope: str | None
    ) -> str:
        """Post; returns the new message's ``ts``."""
        response = await self._call(
            "chat.postMessage",
            scope,
            lambda: self.client.chat_postMessage(
                channel=channel, thread_ts=thread, unfurl_links=False, unfurl_media=False,
                **content,
            ),
        )  # fmt: skip
        return _ts(response, "chat.postMessage")

    async def update(
        self, channel: str, ts: str, content: dict[str, Any], *, scope: str | None
    ) -> None:
        await self._call(
            "chat.update",
            scope,
            lambda: self.client.chat_update(channel=channel, ts=ts, **content),
        )

    async def delete(self, channel: str, ts: str, *, scope: str | None) -> None:
        await self._call(
            "chat.delete", scope, lambda: self.client.chat_delete(channel=channel, ts=ts)
        )

    async def post_ephemeral(
        self, channel: str, user: str, text: str, *, thread: str | None, scope: str | None
    ) -> None:
        """A message only ``user`` sees (``chat.postEphemeral``; the user must be in the
        channel, else ``user_not_in_channel``)."""
        await self._call(
            "chat.postEphemeral",
            scope,
            lambda: self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread
            ),
        )

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """``views.open``: a modal, within the trigger's 3 seconds."""
        await self._call(
            "views.open", None, lambda: self.client.views_open(trigger_id=trigger_id, view=view)
        )

    async def publish_home(self, user: str, view: dict[str, Any]) -> None:
        """``views.publish``: the App Home tab ``user`` sees."""
        await self._call(
            "views.publish", None, lambda: self.client.views_publish(user_id=user, view=view)
        )

    async def set_status(self, channel: str, thread: str, status: str) -> None:
        """``status=""`` clears it."""
        await self._call(
            "assistant.threads.setStatus",
            None,
            lambda: self.client.assistant_threads_setStatus(
                channel_id=channel, thread_ts=thread, status=status
            ),
        )

    async def start_stream(
        self,
        channel: str,
        thread: str,
        markdown: str,
        *,
        team: str | None,
        user: str | None,
        scope: str | None,
    ) -> str:
        response = await self._call(
            "chat.startStream",
            scope,
            lambda: self.client.chat_startStream(
                channel=channel, thread_ts=thread, markdown_text=markdown or None,
                recipient_team_id=team, recipient_user_id=user,
            ),
        )  # fmt: skip
        return _ts(response, "chat.startStream")

    async def append_stream(self, channel: str, ts: str, markdown: str, *, scope: str) -> None:
        await self._call(
            "chat.appendStream",
            scope,
            lambda: self.client.chat_appendStream(channel=channel, ts=ts, markdown_text=markdown),
        )

    async def stop_stream(
        self,
        channel: str,
        ts: str,
        markdown: str,
        *,
        scope: str,
        metadata: dict[str, Any] | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """``metadata``: the message's metadata from now on (:mod:`adapters.slack.final_mark`);
        ``blocks``: rendered at the bottom of the finalised message (the 👍 / 👎)."""
        await self._call(
            "chat.stopStream",
            scope,
            lambda: self.client.chat_stopStream(
                channel=channel,
                ts=ts,
                markdown_text=markdown or None,
                metadata=metadata,
                blocks=blocks,
            ),
        )

    async def replies(
        self, channel: str, thread: str, *, oldest: str | None, cursor: str | None, limit: int,
        latest: str | None = None, inclusive: bool = False, scope: str | None = None,
        metadata: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """One page of ``conversations.replies``: the thread's messages newer than
        ``oldest`` and older than ``latest`` (exclusive unless ``inclusive``), oldest first
        (see :mod:`adapters.slack.lost_posts`); with their metadata when ``metadata``
        (``include_all_metadata``). ``scope``: the budget a 429 names."""
        args: dict[str, Any] = {"channel": channel, "ts": thread, "limit": limit}
        if metadata:
            args["include_all_metadata"] = True
        if oldest:
            args["oldest"] = oldest
        if latest:
            args["latest"] = latest
        if inclusive:
            args["inclusive"] = True
        if cursor:
            args["cursor"] = cursor
        response = await self._call(
            "conversations.replies", scope, lambda: self.client.conversations_replies(**args)
        )
        data = response.data
        return data if isinstance(data, dict) else {}

    async def upload(
        self,
        channel: str,
        thread: str | None,
        files: Sequence[OutgoingFile],
        *,
        scope: str | None,
        completing: Callable[[list[str]], None] | None = None,
    ) -> None:
        """All ``files`` in one message in the thread, each streamed from its source
        (:mod:`adapters.slack.uploads`); ``completing(ids)`` just before the files are shared."""
        await self._call(
            "files upload",  # each step's failure names its method (upload_files)
            scope,
            lambda: upload_files(
                self.rare, channel, thread, files, scope=scope, completing=completing,
                completer=self.client,
            ),
            within=self.upload_timeout,
        )  # fmt: skip


def _ts(response: AsyncSlackResponse, method: str) -> str:
    ts = response.get("ts")
    if not isinstance(ts, str) or not ts:
        raise SlackError(method, None, "the answer carried no message ts")
    return ts
