"""File uploads the way ``files_upload_v2`` does them, in three steps.

1. ``files.getUploadURLExternal`` (``filename``, ``length``) -> ``upload_url`` + ``file_id``;
2. the bytes are POSTed to ``upload_url`` (raw body or multipart; answered ``OK - <size>``
   as text/plain, like files.slack.com). "Slack will return HTTP 200 if the upload is
   successful; a non-200 response indicates a failure" (docs.slack.dev reference/methods/
   files.getUploadURLExternal, "Usage info"), and slack-sdk's ``files_upload_v2`` checks
   nothing else (slack_sdk/web/async_client.py: ``if upload_result.status != 200: raise
   SlackRequestError("Failed to upload a file (status: ..., body: ...)")``). Which failures
   Slack answers there is not documented; those seen: 504s from the upload step
   (slackapi/python-slack-sdk#1853, "2-6 HTTP 504 errors per day in the ``_upload_file``
   internal call"), Slack's edge answering a short text/plain body (slack-go/slack#1108:
   ``408 Request Timeout``, ``Content-Type: text/plain``, ``stream timeout``). The
   simulator answers a failure only when a test asks (``fail_next("upload", body,
   status=...)``: that status with ``body`` as text/plain, or a gateway's HTML page with
   ``html=True``), and a lost answer with ``after_call("upload", ...)``;
3. ``files.completeUploadExternal`` (``files`` = JSON text ``[{"id", "title"}]``,
   ``channel_id`` or ``channels``, ``thread_ts``, ``initial_comment``) shares them: one bot
   message carrying every file lands in the channel or thread.

Checks (docs.slack.dev reference/methods/files.getUploadURLExternal and
files.completeUploadExternal, Errors; the same lists in Slack's method JSON, e.g. the
slack_kit package's copies): ``length`` 0 answers ``missing_argument``, a size past
``SimConfig.max_file_size`` ``file_too_large``, past the team's restriction
(``SimConfig.team_upload_limit``) ``file_upload_size_restricted``; the completion
checks every target before sharing anything: ``channel_not_found``, ``not_in_channel``,
``is_archived`` and ``thread_not_found`` (a ``thread_ts`` whose parent is gone), as
chat.postMessage does.

Completing a file that was never uploaded, or twice, answers ``file_not_found``: the
method "can only be called once" (docs.slack.dev reference/methods/files.completeUploadExternal,
"Usage info"); which error a second call gets is not documented, this is the simulator's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bots.simulators.slack.calls import Fault
from bots.simulators.slack.context import CallContext, Change, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.model import Channel, FileRecord, Message
from bots.simulators.slack.params import int_arg, json_arg, str_arg
from bots.simulators.slack.store import Store

__all__ = ["METHODS", "receive_upload"]


def get_upload_url(ctx: CallContext) -> dict[str, Any]:
    filename = str_arg(ctx.params, "filename", required=True)
    length = int_arg(ctx.params, "length", required=True)
    assert filename is not None and length is not None
    if length < 0:
        raise ApiError("invalid_arguments", detail="length must be positive")
    if length == 0:
        # "missing_argument: A required argument was not provided. Typically only occurs
        # when the length provided is 0" (files.getUploadURLExternal, Errors).
        raise ApiError("missing_argument", detail="length must be greater than 0")
    if length > ctx.config.max_file_size:
        raise ApiError("file_too_large")
    restricted = ctx.config.team_upload_limit
    if restricted is not None and length > restricted:
        raise ApiError("file_upload_size_restricted")
    record = FileRecord(
        id=ctx.store.ids.next("F"),
        team_id=ctx.ws.team_id,
        user=ctx.ws.bot_user_id,
        filename=filename,
        length=length,
    )
    ctx.store.files[record.id] = record
    return {"ok": True, "upload_url": f"{ctx.base_url}/upload/v1/{record.id}", "file_id": record.id}


async def receive_upload(
    store: Store, request: web.Request, fault: Fault | None = None
) -> web.Response:
    """The upload URL: takes the file's bytes (raw body or a multipart ``file`` part);
    ``fault``: a failure a test injected, answered instead (the bytes are not kept)."""
    record = store.files.get(request.match_info["file_id"])
    if record is None or record.completed:
        return web.Response(status=404, text="file not found", content_type="text/plain")
    if fault is not None:
        await request.read()  # the client sends the whole body before it reads an answer
        if fault.html:
            page = f"<html><body><h1>{fault.status} {fault.error}</h1></body></html>"
            return web.Response(status=fault.status, text=page, content_type="text/html")
        return web.Response(status=fault.status, text=fault.error, content_type="text/plain")
    if request.content_type == "multipart/form-data":
        data = b""
        form = await request.post()
        for value in form.values():
            if isinstance(value, web.FileField):
                data = value.file.read()
                break
    else:
        data = await request.read()
    record.data = data
    return web.Response(status=200, text=f"OK - {len(data)}", content_type="text/plain")


def complete_upload(ctx: CallContext) -> dict[str, Any]:
    items = json_arg(ctx.params, "files")
    if not isinstance(items, list) or not items:
        raise ApiError("invalid_arguments", detail="files must be a non-empty JSON array")
    records: list[FileRecord] = []
    for item in items:
        record = ctx.store.files.get(str(item.get("id"))) if isinstance(item, dict) else None
        if record is None or record.team_id != ctx.ws.team_id or record.data is None:
            raise ApiError("file_not_found")
        if record.completed:
            raise ApiError("file_not_found")
        records.append(record)
    targets = [_target(ctx, channel_id) for channel_id in _channel_ids(ctx)]
    for record, item in zip(records, items, strict=True):
        record.title = str(item.get("title") or record.filename)
        record.completed = True
    for channel, parent_ts in targets:
        _share(ctx, channel, parent_ts, records)
    return {"ok": True, "files": [r.to_api() for r in records]}


def _channel_ids(ctx: CallContext) -> list[str]:
    channel_id = str_arg(ctx.params, "channel_id")
    if channel_id is not None:
        return [channel_id]
    channels = str_arg(ctx.params, "channels")
    return [c for c in (channels or "").split(",") if c]


def _target(ctx: CallContext, channel_id: str) -> tuple[Channel, str | None]:
    """Where to share: the channel, and the thread's parent ts (checked before any change)."""
    channel = ctx.store.channel_in(ctx.ws.team_id, channel_id)
    if channel is None or (channel.kind in ("private", "mpim") and not channel.bot_member):
        raise ApiError("channel_not_found")  # "Value passed for channel_id was invalid"
    if not channel.bot_member:
        # "not_in_channel: User/bot membership is required for the specified channel"
        # (files.completeUploadExternal, Errors).
        raise ApiError("not_in_channel")
    if channel.archived:
        # Not in the method's documented errors; Slack refuses a share into an archived
        # channel as it refuses a post there (chat.postMessage: "is_archived: Channel has
        # been archived"), the simulator's choice of code.
        raise ApiError("is_archived")
    return channel, ctx.reply_parent(channel)


def _share(
    ctx: CallContext, channel: Channel, parent_ts: str | None, records: list[FileRecord]
) -> None:
    message = Message(
        ts=ctx.store.ts_clock.next(),
        channel=channel.id,
        team_id=ctx.ws.team_id,
        user=ctx.ws.bot_user_id,
        text=str_arg(ctx.params, "initial_comment") or "",
        thread_ts=parent_ts,
        bot_id=ctx.ws.bot_id,
    )
    message.files = list(records)
    for record in records:
        record.channel, record.thread_ts = channel.id, parent_ts
    ctx.store.add_message(message)
    if parent_ts is not None:
        ctx.store.statuses.pop((channel.id, parent_ts), None)
    ctx.changes.append(Change("posted", message))


METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
