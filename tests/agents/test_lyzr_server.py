"""The Lyzr-format test server itself, spoken to with plain httpx."""

from __future__ import annotations

import httpx

from tests.servers.lyzr_server import LyzrScript, LyzrServer, lyzr_escape

KEY = {"x-api-key": "test-key"}


async def post(server: LyzrServer, message: str, session: str = "s1") -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{server.base_url}/v3/inference/stream/",
            json={"user_id": "u", "agent_id": "a", "session_id": session, "message": message},
            headers=KEY,
        )


async def test_echo_reply_with_memory_per_session(lyzr_server: LyzrServer) -> None:
    first = await post(lyzr_server, "my name is Ada")
    assert first.text == (
        "data: You\n\ndata:  said:\n\ndata:  my\n\ndata:  name\n\ndata:  is\n\n"
        "data:  Ada\n\ndata: [DONE]\n\n"
    )
    again = await post(lyzr_server, "what did I say?")
    assert again.text.endswith("data:  Ada.\n\ndata: [DONE]\n\n")
    other = await post(lyzr_server, "what did I say?", session="s2")
    assert "data:  nothing\n\ndata:  yet." in other.text
    assert lyzr_server.stream_requests()[0].json["message"] == "my name is Ada"
    assert lyzr_server.streams[0].finished


async def test_scripts_errors_and_auth(lyzr_server: LyzrServer) -> None:
    lyzr_server.enqueue(
        LyzrScript(tokens=["a\nb", "c"], error_after=1),
        LyzrScript(status=429, detail="no credits"),
        LyzrScript(tokens=["x"], done=False),
    )
    assert (await post(lyzr_server, "m")).text == "data: a\\nb\n\ndata: [ERROR] model exploded\n\n"
    limited = await post(lyzr_server, "m")
    assert (limited.status_code, limited.json()) == (429, {"detail": "no credits"})
    assert (await post(lyzr_server, "m")).text == "data: x\n\n"
    async with httpx.AsyncClient() as client:
        denied = await client.post(f"{lyzr_server.base_url}/v3/inference/stream/", json={})
    assert denied.status_code == 401


async def test_chat_artifacts_and_files(lyzr_server: LyzrServer) -> None:
    url = lyzr_server.add_file("r.txt", b"report")
    lyzr_server.default = LyzrScript(
        tokens=["done"], artifacts=[{"file_url": url, "name": "r.txt", "format_type": "txt"}]
    )
    async with httpx.AsyncClient(headers=KEY) as client:
        chat = await client.post(
            f"{lyzr_server.base_url}/v3/inference/chat/",
            json={"user_id": "u", "session_id": "s", "message": "hi"},
        )
        listed = await client.get(
            f"{lyzr_server.base_url}/v3/artifacts/", params={"user_id": "u", "session_id": "s"}
        )
        data = await client.get(url)
    assert chat.json()["response"] == "done"
    assert chat.json()["module_outputs"]["artifact_files"][0]["name"] == "r.txt"
    assert listed.json()[0]["file_url"] == url
    assert data.content == b"report"
    assert lyzr_server.requests[1].query == {"user_id": "u", "session_id": "s"}


def test_escape_round_trip_shape() -> None:
    assert lyzr_escape('a\\b\n"<&>') == 'a\\\\b\\n\\"&lt;&amp;&gt;'


async def test_json_frames_and_backslash_ampersand(lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(
        tokens=[{"type": "local_tool_call", "tool_name": "t"}, "R&D"], amp_escape="\\&"
    )
    body = (await post(lyzr_server, "m")).text
    assert body == 'data: {"type": "local_tool_call", "tool_name": "t"}\n\ndata: R\\&D\n\n' + (
        "data: [DONE]\n\n"
    )


async def test_artifacts_are_paged_in_each_shape(lyzr_server: LyzrServer) -> None:
    items = [{"file_url": f"http://x/{n}", "name": f"{n}"} for n in range(25)]
    async with httpx.AsyncClient(headers=KEY) as client:
        pages = {}
        for shape in ("list", "data", "page"):
            lyzr_server.default = LyzrScript(artifacts=items, artifacts_shape=shape)
            await post(lyzr_server, "m")
            url = f"{lyzr_server.base_url}/v3/artifacts/"
            pages[shape] = (await client.get(url, params={"page": 3})).json()
    assert pages["list"] == items[20:]  # 10 per page unless limit says otherwise
    assert pages["data"] == {"data": {"artifacts": items[20:]}}
    assert pages["page"] == {"artifacts": items[20:], "total": 25, "page": 3, "limit": 10}


async def test_an_event_of_several_data_lines_and_an_error_event(lyzr_server: LyzrServer) -> None:
    lyzr_server.enqueue(
        LyzrScript(tokens=["a", ["b", "c"]]),
        LyzrScript(tokens=["a"], error_after=1, error_body={"detail": "quota"}),
    )
    assert (await post(lyzr_server, "m")).text == "data: a\n\ndata: b\ndata: c\n\ndata: [DONE]\n\n"
    assert (await post(lyzr_server, "m")).text == (
        'data: a\n\nevent: error\ndata: {"detail": "quota"}\n\n'
    )
