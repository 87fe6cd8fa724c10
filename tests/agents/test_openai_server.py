"""The OpenAI-format test server itself, spoken to with plain httpx."""

from __future__ import annotations

import json

import httpx

from tests.servers.openai_server import OpenAIScript, OpenAIServer


async def complete(server: OpenAIServer, messages: list[dict[str, str]]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{server.base_url}/chat/completions",
            json={"model": "m", "messages": messages, "stream": True},
            headers={"authorization": "Bearer test-key"},
        )


def contents(body: str) -> str:
    text = []
    for line in body.splitlines():
        if line.startswith("data: {"):
            chunk = json.loads(line[6:])
            if "choices" in chunk:
                text.append(chunk["choices"][0]["delta"].get("content", ""))
    return "".join(text)


async def test_echo_uses_the_messages_it_is_sent(openai_server: OpenAIServer) -> None:
    response = await complete(openai_server, [{"role": "user", "content": "hello"}])
    assert contents(response.text) == "You said: hello"
    assert response.text.endswith("data: [DONE]\n\n")
    history = [
        {"role": "user", "content": "I like tea"},
        {"role": "assistant", "content": "noted"},
        {"role": "user", "content": "what did I say?"},
    ]
    assert contents((await complete(openai_server, history)).text) == "You said: I like tea."


async def test_scripted_errors(openai_server: OpenAIServer) -> None:
    openai_server.enqueue(
        OpenAIScript(status=429, error="quota"), OpenAIScript(tokens=["a", "b"], error_after=1)
    )
    limited = await complete(openai_server, [])
    assert limited.status_code == 429
    assert limited.json()["error"]["message"] == "quota"
    broken = await complete(openai_server, [])
    assert contents(broken.text) == "a"
    assert '"error": {"message": "model exploded"}' in broken.text
    async with httpx.AsyncClient() as client:
        denied = await client.post(f"{openai_server.base_url}/chat/completions", json={})
    assert denied.status_code == 401
