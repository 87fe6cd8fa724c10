"""Slack's file host: ``url_private`` serves a file's bytes to its workspace's bot token.

docs.slack.dev reference/objects/file-object ("Authentication"): ``url_private`` needs an
``Authorization: Bearer`` header with a token of the workspace. What Slack answers
otherwise is not an HTTP error: without a valid token, a redirect ("Found") to the
workspace's sign-in page on ``<team>.slack.com`` (node-slack-sdk issue #1750,
deno-slack-sdk issue #285: ``<a href="https://….slack.com/?redir=%2Ffiles-pri%2F…">Found</a>``);
with a token lacking ``files:read``, HTTP 200 with the sign-in page's HTML (vercel/eve PR
#1531: "Slack's private-file endpoint returns HTTP 200 with a browser login page rather
than a 401/403"). A file that does not exist (or was deleted) is a 404.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bots.simulators.slack.store import Store

__all__ = ["serve_private_file"]

_SIGN_IN_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Slack</title></head>'
    "<body>Sign in to your workspace</body></html>"
)


def serve_private_file(store: Store, request: web.Request) -> web.Response:
    key = request.match_info["key"]  # "<team>-<file id>"
    team_id, _, file_id = key.partition("-")
    record = store.files.get(file_id)
    if record is None or record.team_id != team_id or record.data is None:
        raise web.HTTPNotFound()
    workspace = store.workspaces[team_id]
    auth = request.headers.get("Authorization", "")
    token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    if store.bot_tokens.get(token) != team_id or token in store.revoked_tokens:
        redirect = f"{workspace.url}?redir={quote(request.path, safe='')}"
        return web.Response(
            status=302, headers={"Location": redirect}, text=f'<a href="{redirect}">Found</a>.'
        )
    if "files:read" not in workspace.scopes:
        return web.Response(text=_SIGN_IN_PAGE, content_type="text/html")
    return web.Response(
        body=record.data, content_type=record.mimetype or "application/octet-stream"
    )
