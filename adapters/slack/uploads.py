"""Files to Slack in ``files_upload_v2``'s three steps, each file streamed from its source.

slack-sdk's ``files_upload_v2`` reads every file of a call into memory before it uploads the
first (``_to_v2_file_upload_item``: ``data = file.read()``; slack_sdk/web/internal_utils.py),
so ten 24 MiB artifacts would hold 240 MiB. The steps are the documented ones
(docs.slack.dev, files.getUploadURLExternal "Usage info"), done here with the body streamed:

1. ``files.getUploadURLExternal`` (``filename``, ``length`` in bytes) → ``upload_url`` and
   ``file_id``, per file;
2. the file's bytes POSTed to ``upload_url`` as the raw body (as slack-sdk sends them), read
   from the file a block at a time with an exact ``Content-Length``. "Slack will return
   HTTP 200 if the upload is successful; a non-200 response indicates a failure" (the same
   "Usage info"), with no Slack JSON to read a code from (slack-sdk checks the status only:
   slack_sdk/web/async_client.py ``files_upload_v2``, ``Failed to upload a file (status:
   ..., body: ...)``). So: a 5xx (slackapi/python-slack-sdk#1853: 504s from this step) or
   no answer (the network) → :class:`SlackUnavailable`, retried as an outage; a 413
   (Content Too Large, RFC 9110 §15.5.14: the same bytes would be refused again) →
   :class:`SlackFileRefused`, never retried; any other status → a plain
   :class:`SlackError` (a refusal, retried a few times);
3. ``files.completeUploadExternal`` (``files`` = ``[{"id", "title"}]``, ``channel_id``,
   ``thread_ts``) shares them all in one message in the thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack import texts
from adapters.slack.errors import SlackError, SlackFileRefused, slack_error, translate
from core.surface import OutgoingFile

__all__ = ["UPLOAD", "upload_files"]

UPLOAD = "upload_url"
"""The name the POST to ``upload_url`` goes by in errors (not a Web API method; not the
retired ``files.upload`` either)."""
_TOO_LARGE = 413


async def upload_files(
    client: AsyncWebClient,
    channel: str,
    thread: str | None,
    files: Sequence[OutgoingFile],
    *,
    scope: str | None = None,
    completing: Callable[[list[str]], None] | None = None,
    completer: AsyncWebClient | None = None,
) -> AsyncSlackResponse:
    """Share ``files`` in one message of ``channel`` (``thread``); the completion's answer.
    ``completing(ids)``: called with the files' ids just before the completion is sent (the
    one step that attaches them: :mod:`adapters.slack.unsure_uploads`); ``completer``: the
    client that sends it (default ``client``), one that never resends it by itself: the
    method "can only be called once", so a completion resent blind after a lost answer is
    refused if the first landed, and the upload made again would attach the files twice.
    Raises :mod:`core.errors` exceptions naming the step that failed (its method, or
    :data:`UPLOAD`; a 429 names ``scope``), see the module docstring."""
    shared: list[dict[str, str | None]] = []
    for file in files:
        answer = await _step(
            "files.getUploadURLExternal",
            scope,
            client.files_getUploadURLExternal(filename=file.name, length=file.size),
        )
        await _send(client, str(answer["upload_url"]), file)
        shared.append({"id": str(answer["file_id"]), "title": file.name})
    if completing is not None:
        completing([str(item["id"]) for item in shared])
    return await _step(
        "files.completeUploadExternal",
        scope,
        (completer or client).files_completeUploadExternal(
            files=shared, channel_id=channel, thread_ts=thread
        ),
    )


async def _step(
    method: str, scope: str | None, call: Awaitable[AsyncSlackResponse]
) -> AsyncSlackResponse:
    """``call``'s answer; its failure translated as ``method``'s (not the last step's)."""
    try:
        return await call
    except Exception as exc:
        error = translate(exc, method=method, scope=scope)
        if isinstance(error, SlackError) and error.reason is None:
            error.reason = texts.UPLOAD_REFUSED.get(error.code or "")
        raise error from exc


async def _send(client: AsyncWebClient, url: str, file: OutgoingFile) -> None:
    session = client.session
    own = session is None or session.closed
    if own:  # a client built without a session (tests): one for this upload
        session = aiohttp.ClientSession()
    assert session is not None
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(file.size)}
    try:
        async with session.post(
            url, data=file.blocks(), headers=headers, proxy=client.proxy, ssl=client.ssl or True
        ) as response:
            status, body = response.status, await response.text()
    except (aiohttp.ClientError, OSError) as exc:  # OSError: TimeoutError too
        raise slack_error(UPLOAD, None, f"{type(exc).__name__} for {file.name}: {exc}") from exc
    finally:
        if own:
            await session.close()
    if status != 200:
        detail = f"HTTP {status} for {file.name}: {body[:200]}"
        if status == _TOO_LARGE:
            raise SlackFileRefused(UPLOAD, None, detail, status=status)
        raise slack_error(UPLOAD, None, detail, status=status)
