"""After the text: the agent's files and structured output, handed to the surface.

Artifacts are fetched and uploaded one message's worth at a time
(``limits.max_files_per_message``). Each download streams into a spool (memory while small,
a temporary file past 1 MiB); the surface streams the upload from it (an
:class:`~core.surface.OutgoingFile` is a file, not bytes) and the spool is gone right after,
so neither downloads nor uploads hold a whole file in memory. A file that cannot be
fetched (no link, an internal address refused by :mod:`core.netguard`, 404, too large,
timeout) or uploaded is not an error of the reply: it is named, with its link, in one
notice posted in the thread.

The HTTP client must come from :func:`core.netguard.guarded_client` (the runtime builds one
with ``THREADCAST_ARTIFACT_ALLOW_HOSTS``); a plain client's fetches are refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx
from pydantic import BaseModel

from core import texts
from core.download import DOWNLOAD_TIMEOUT, Spool
from core.errors import (
    ArtifactError,
    PlatformUnavailable,
    RateLimited,
    SurfaceError,
    Undeliverable,
)
from core.models import Artifact
from core.relay.notices import Notices
from core.relay.outcome import ArtifactFailure
from core.relay.sender import Sender
from core.surface import ChatSurface, OutgoingFile, Upload, post_key
from core.turn import ThreadRef

__all__ = ["Attachments", "Delivered"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Delivered:
    """What :class:`Attachments` got through, and what not."""

    uploaded: list[str] = field(default_factory=list)
    failed: list[ArtifactFailure] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)


class Attachments:
    """Posts one reply's structured data and artifacts in its thread."""

    def __init__(
        self,
        surface: ChatSurface,
        sender: Sender,
        where: ThreadRef,
        *,
        max_bytes: int,
        http_client: httpx.AsyncClient | None,
        notices: Notices,
        ends_at: float | None = None,
    ) -> None:
        """``ends_at``: loop time the turn's time runs out (``THREADCAST_TURN_TIMEOUT``):
        no download runs past it; what was not fetched is named in the notice."""
        self._surface = surface
        self._sender = sender
        self._where = where
        # A surface whose cap depends on the place (Discord: the guild's boost level) says
        # so with an optional ``file_limit(where)``; otherwise ``limits`` is the cap.
        file_limit = getattr(surface, "file_limit", None)
        cap = file_limit(where) if callable(file_limit) else surface.limits.max_file_bytes
        self._max_bytes = min(max_bytes, int(cap))
        self._http = http_client
        self._notices = notices
        self._ends_at = ends_at
        self.result = Delivered()

    async def structured(self, data: BaseModel) -> None:
        fallback = self._surface.render(self._notices.structured_fallback(data))
        key = post_key()  # one for every try: a retry must not post it twice
        try:
            await self._sender.post_urgently(
                lambda: self._surface.post_structured(self._where, data, fallback, key=key)
            )
        except SurfaceError as exc:
            self.result.undelivered.append(f"structured data: {exc}")

    async def artifacts(
        self,
        artifacts: Sequence[Artifact],
        *,
        unreadable: Sequence[str] = (),
        unlisted: str | None = None,
    ) -> None:
        """Attach ``artifacts``; name those that fail, each list of files the agent
        announced that could not be read (``unreadable``: why), and the agent's files when
        its API failed to list them (``unlisted``: why), in one notice."""
        if unlisted:
            log.warning("the agent's files could not be listed: %s", unlisted)
            self.result.failed.append(
                ArtifactFailure(texts.FILES_MADE, "", texts.ARTIFACTS_NOT_LISTED)
            )
        if unreadable:
            log.warning("files the agent announced not attached: %s", "; ".join(unreadable))
            self.result.failed.append(
                ArtifactFailure(texts.ANNOUNCED_FILES, "", texts.UNREADABLE_FILE_LIST)
            )
        group_size = max(1, self._surface.limits.max_files_per_message)
        for first in range(0, len(artifacts), group_size):
            group = artifacts[first : first + group_size]
            async with AsyncExitStack() as spools:
                fetched = [(a, await self._fetch(a, spools)) for a in group]
                # The surface streams each spool; it is closed once the group is sent.
                files = [
                    OutgoingFile(a.name, spool.file, spool.size, a.format_type)
                    for a, spool in fetched
                    if spool is not None and self._big_enough(a, spool.size)
                ]
                if files:
                    await self._upload(files, group)
        if self.result.failed:
            await self._post_failures()

    async def _fetch(self, artifact: Artifact, spools: AsyncExitStack) -> Spool | None:
        """The artifact spooled (closed with ``spools``), or ``None`` once its failure is noted."""
        limit = DOWNLOAD_TIMEOUT
        if self._ends_at is not None:
            limit = min(limit, self._ends_at - asyncio.get_running_loop().time())
            if limit <= 0:
                self._fail(artifact, texts.ARTIFACT_OUT_OF_TIME)
                return None
        try:
            async with asyncio.timeout(limit):
                return await spools.enter_async_context(
                    artifact.spooled(max_bytes=self._max_bytes, client=self._http)
                )
        except ArtifactError as exc:
            # The error names exceptions, statuses and addresses: for operators; the user
            # reads why in words, and no link that leads inside the network.
            self._fail(artifact, exc.reason, detail=str(exc), show_link=exc.show_link)
        except TimeoutError:
            self._fail(artifact, texts.DOWNLOAD_TIMED_OUT)
        return None

    def _big_enough(self, artifact: Artifact, size: int) -> bool:
        """Whether the platform takes a file of ``size`` bytes; if not, it is noted failed
        (sent with the others, it would fail their upload too: Slack refuses 0 bytes)."""
        if size >= self._surface.limits.min_file_bytes:
            return True
        self._fail(artifact, texts.EMPTY_FILE.format(platform=self._where.platform.title()))
        return False

    async def _upload(self, files: list[OutgoingFile], group: Sequence[Artifact]) -> None:
        # One for every try: a retry must not attach the files twice, and a surface that
        # splits the upload into messages (Discord: 10 files, 10 MiB a message) counts in it
        # the files of those that landed: they are in the thread, never resent, even when a
        # timeout cut the try off after them.
        upload = Upload(post_key())
        try:
            await self._sender.post_urgently(
                lambda: self._surface.upload(self._where, files, upload)
            )
        except SurfaceError as exc:
            landed, files = files[: upload.landed], files[upload.landed :]
            self.result.uploaded.extend(file.name for file in landed)
            if len(files) > 1 and _refused_file(exc):
                # One file the platform refuses (Slack: a size the workspace restricts, a
                # type it disallows) fails the whole group: send each alone, so only it fails.
                for file in files:
                    await self._upload([file], group)
                return
            sent = {file.name for file in files}
            # The error names the platform's method, code, status (or an address): for
            # operators; the user reads it in words.
            log.warning("upload failed: %s", exc)
            reason = exc.reason or _upload_failure(exc, self._where.platform.title())
            for artifact in group:
                if artifact.name in sent:
                    self._fail(artifact, reason)
            return
        self.result.uploaded.extend(file.name for file in files)

    def _fail(
        self, artifact: Artifact, reason: str, *, detail: str = "", show_link: bool = True
    ) -> None:
        """Note ``artifact`` failed: ``reason`` for the user, ``detail`` (default: the
        reason) for the log."""
        log.warning("artifact %s not attached: %s", artifact.name, detail or reason)
        # A ``data:`` URL is the file's contents, not a link anyone can follow (and may fill
        # the notice's whole length): never shown.
        inline = artifact.url[:5].lower() == "data:"
        url = artifact.url if show_link and not inline else ""
        self.result.failed.append(ArtifactFailure(artifact.name, url, reason))

    async def _post_failures(self) -> None:
        """One notice for all failures, in as few messages as the size limit allows."""
        limit = self._surface.limits.max_message_chars
        messages: list[str] = []
        for failure in self.result.failed:
            line = self._surface.render(
                self._notices.artifacts_failed([(failure.name, failure.url, failure.reason)])
            )[:limit]
            if messages and len(messages[-1]) + 1 + len(line) <= limit:
                messages[-1] += "\n" + line
            else:
                messages.append(line)
        for text in messages:
            await self._post_notice(text)

    async def _post_notice(self, text: str) -> None:
        try:
            key = post_key()
            await self._sender.post_urgently(lambda: self._surface.post(self._where, text, key=key))
        except SurfaceError as exc:
            self.result.undelivered.append(f"artifact notice: {exc}")


def _upload_failure(exc: SurfaceError, platform: str) -> str:
    """Why an upload failed, in words, when the adapter gave none (``exc.reason``)."""
    if isinstance(exc, PlatformUnavailable):
        return texts.UPLOAD_UNAVAILABLE.format(platform=platform)
    if isinstance(exc, RateLimited):
        return texts.UPLOAD_RATE_LIMITED.format(platform=platform)
    if isinstance(exc, Undeliverable):
        return texts.UPLOAD_UNDELIVERABLE.format(platform=platform)
    return texts.UPLOAD_FAILED.format(platform=platform)


def _refused_file(exc: SurfaceError) -> bool:
    """Whether ``exc`` may be one file's refusal rather than the place's or the platform's:
    not a place or token refusal (nothing can be sent there), not an outage or a 429
    (retried already, and the same for every file)."""
    return not isinstance(exc, Undeliverable | PlatformUnavailable | RateLimited)
