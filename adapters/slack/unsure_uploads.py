"""An upload whose completion's outcome is unknown, and its retry: files never attached twice.

An upload is three steps (:mod:`adapters.slack.uploads`); only the last,
``files.completeUploadExternal``, puts the files in the thread (a message of the bot that
carries them). When its answer is lost (a timeout, a dropped connection, a 5xx: Slack says
of its own transient errors that "some aspect of the operation" may have succeeded) the
relay retries the upload, and a fresh upload would attach the files a second time.
Completing the same files again is no way out: the method "can only be called once"
(docs.slack.dev reference/methods/files.completeUploadExternal, "Usage info").

So every try of one upload carries the same ``key``, the ids of the files each try was about
to complete are remembered, and a retry after an unknown completion first looks in the
thread (``conversations.replies``, as :mod:`adapters.slack.unsure_posts` does; a message
lists its ``files``, each with its ``id``: ``MessageElement.files`` in @slack/web-api's
``ConversationsRepliesResponse``, docs.slack.dev tools/node-slack-sdk reference) for a
message of the bot since the first try that carries one of those files. Found, the upload
is done and nothing is sent again. Not found, the files are uploaded afresh (those never
completed are discarded by Slack: "If this method is not called, the uploaded file and
associated metadata will be discarded", files.completeUploadExternal's page). When the
lookup itself fails (a 429: Tier 3), the retry uploads anyway: a duplicate file is better
than a lost one, and it shows nothing open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from adapters.slack.api import SlackApi
from adapters.slack.thread_scan import bot_messages
from adapters.slack.unsure_posts import outcome_unknown
from core.errors import SurfaceError
from core.surface import OutgoingFile
from core.turn import ThreadRef

__all__ = ["UnsureUploads"]

log = logging.getLogger(__name__)

_MAX_REMEMBERED = 1000


@dataclass(slots=True)
class _Upload:
    where: ThreadRef
    first: float  # wall-clock time of the first completion sent
    ids: set[str] = field(default_factory=set)  # every file any try was completing
    completing: bool = False  # the completion of the current try is in flight
    unknown: bool = False  # a completion ended without knowing whether it landed


class UnsureUploads:
    """The tries of the uploads in flight, by key (see the module docstring)."""

    def __init__(self, api: SlackApi, *, me: Callable[[], tuple[str, str] | None]) -> None:
        self._api = api
        self._me = me
        self._uploads: dict[str, _Upload] = {}

    async def upload(
        self, key: str, where: ThreadRef, files: Sequence[OutgoingFile], *, scope: str
    ) -> None:
        """A try of the upload ``key``: the files it completes are remembered until its
        outcome is known, so that a retry can look for them (:meth:`find`)."""

        def completing(ids: list[str]) -> None:
            self.completing(key, where, ids)

        try:
            await self._api.upload(where.channel, where.thread, files, scope=scope,
                                   completing=completing)  # fmt: skip
        except BaseException as exc:
            self.failed(key, exc)
            raise
        self.landed(key)

    def completing(self, key: str, where: ThreadRef, ids: Collection[str]) -> None:
        """A try of the upload ``key`` is about to complete the files ``ids``."""
        upload = self._uploads.get(key)
        if upload is None:
            upload = self._uploads[key] = _Upload(where, time.time())
            while len(self._uploads) > _MAX_REMEMBERED:
                del self._uploads[next(iter(self._uploads))]
        upload.ids.update(ids)
        upload.completing = True

    def failed(self, key: str, exc: BaseException) -> None:
        upload = self._uploads.get(key)
        if upload is None:
            return
        if upload.completing and outcome_unknown(exc):
            upload.unknown = True
        upload.completing = False

    def landed(self, key: str) -> None:
        self._uploads.pop(key, None)

    async def find(self, key: str, where: ThreadRef) -> bool:
        """Whether an earlier try of ``key`` did attach its files (then nothing is sent
        again); False when no try is unsure, when none landed, or when the lookup failed."""
        upload = self._uploads.get(key)
        me = self._me()
        if upload is None or not upload.unknown or me is None:
            return False
        try:
            async with asyncio.timeout(self._api.timeout):  # room left for the upload after
                found = await self._look(upload, me)
        except (SurfaceError, TimeoutError) as exc:
            log.warning("could not look for files that may have been attached in %s (%s): "
                        "uploading them again", where, exc)  # fmt: skip
            return False
        if found is None:
            return False
        del self._uploads[key]
        log.warning("an upload to %s timed out but had landed (%s): not attached again",
                    where, found)  # fmt: skip
        return True

    async def _look(self, upload: _Upload, me: tuple[str, str]) -> str | None:
        """The ts of the bot's message since the first try that carries one of the files."""
        async for raw in bot_messages(self._api, upload.where, since=upload.first, me=me):
            files = raw.get("files") or []
            ids = {str(f.get("id")) for f in files if isinstance(f, dict)}
            if ids & upload.ids:
                return str(raw.get("ts"))
        return None
