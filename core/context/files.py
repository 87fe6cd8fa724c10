"""Downloading the files a user attached to the message that addresses the bot.

Each file is checked before any byte moves (count, declared size, a kind the agent takes),
then fetched the way the platform's adapter says (:class:`~core.context.source.FileRequest`)
through the address-checking client (:mod:`core.netguard`), streamed and capped
(:mod:`core.download`), redirects only within the file's host. Whatever is not passed on
becomes a :class:`SkippedFile` with a reason the user reads; nothing is dropped silently.
Files are fetched one after another: at most ``max_files``, each read bounded by the
client's timeouts, all of them together by :data:`FILES_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from core import texts
from core.context.kinds import file_kind
from core.context.models import FileKind, InputFile, SkippedFile
from core.context.source import ContextSource, FileRefused
from core.download import DOWNLOAD_TIMEOUT, DownloadRefused, TooLarge, download
from core.turn import Attachment, Turn

__all__ = ["FILES_TIMEOUT", "FileLimits", "fetch_files"]

log = logging.getLogger(__name__)

FILES_TIMEOUT = DOWNLOAD_TIMEOUT
"""Seconds a turn's files may take to download, all of them: one download's time, as a
host that drips bytes would otherwise hold the turn, its conversation locked and nothing
shown yet."""


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_files: int
    max_bytes: int


async def fetch_files(
    turn: Turn,
    source: ContextSource,
    http: httpx.AsyncClient,
    *,
    limits: FileLimits,
    accepts: frozenset[FileKind],
) -> tuple[tuple[InputFile, ...], tuple[SkippedFile, ...]]:
    """The turn's files the agent can take, and those it will not get (with reasons)."""
    files: list[InputFile] = []
    skipped: list[SkippedFile] = []
    deadline = asyncio.get_running_loop().time() + FILES_TIMEOUT
    for index, attachment in enumerate(turn.attachments):
        if index >= limits.max_files:
            reason = texts.TOO_MANY_FILES.format(limit=limits.max_files)
            skipped.append(SkippedFile(attachment.name, reason))
            continue
        result = await _fetch_one(turn, attachment, source, http, limits, accepts, deadline)
        if isinstance(result, InputFile):
            files.append(result)
        else:
            skipped.append(result)
    return tuple(files), tuple(skipped)


async def _fetch_one(
    turn: Turn,
    attachment: Attachment,
    source: ContextSource,
    http: httpx.AsyncClient,
    limits: FileLimits,
    accepts: frozenset[FileKind],
    deadline: float,
) -> InputFile | SkippedFile:
    name = attachment.name
    kind, mimetype = file_kind(name, attachment.mimetype)
    if kind not in accepts:
        return SkippedFile(name, texts.FILE_UNSUPPORTED)
    if attachment.size is not None and attachment.size > limits.max_bytes:
        return SkippedFile(name, texts.file_too_large(attachment.size, limits.max_bytes))
    try:
        request = source.file_request(turn, attachment)
    except FileRefused as exc:
        return SkippedFile(name, str(exc))
    try:
        async with asyncio.timeout_at(deadline):
            spool = await download(
                request.url,
                client=http,
                max_bytes=limits.max_bytes,
                headers=request.headers,
                same_host=True,
            )
    except TimeoutError:
        log.warning("file %s not fetched: the files' %gs ran out", name, FILES_TIMEOUT)
        return SkippedFile(name, texts.DOWNLOAD_TIMED_OUT)
    except TooLarge as exc:
        return SkippedFile(name, texts.file_too_large(exc.size, exc.cap))
    except DownloadRefused as exc:
        log.warning("file %s not fetched: %s", name, exc)
        return SkippedFile(name, request.login_page or texts.FILE_NOT_SHARED)
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        log.warning("file %s not fetched: HTTP %d", name, status)
        reason = (
            texts.FILE_NOT_SHARED if status in (401, 403, 404) else texts.download_failed(status)
        )
        return SkippedFile(name, reason)
    except httpx.HTTPError as exc:
        log.warning("file %s not fetched: %r", name, exc)
        return SkippedFile(name, texts.download_failed())
    try:
        data = spool.file.read()
        content_type = spool.content_type.split(";")[0].strip().lower()
    finally:
        spool.close()
    if request.login_page and content_type == "text/html" and "html" not in mimetype:
        return SkippedFile(name, request.login_page)
    return InputFile(name, mimetype, kind, data)
