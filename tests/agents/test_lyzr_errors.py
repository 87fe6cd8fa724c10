"""How the Lyzr stream reports a failure, and what the user then sees.

Lyzr's clients know one mid-stream error, ``data: [ERROR] <message>``; an error as JSON
(an ``event: error`` event, a ``{"error": ...}`` or ``{"type": "error"}`` frame) is read for
its words too (tests/servers/lyzr_server.py gives the sources). Either way the user keeps
the text so far and sees the notice with the agent's words, never raw JSON.
"""

from __future__ import annotations

from typing import Any

import pytest

from core import texts
from core.agents.lyzr import LyzrAgent
from core.errors import AgentServerError
from tests.agents.conftest import lyzr_agent, shown
from tests.agents.test_lyzr import collect, text_of
from tests.servers.lyzr_server import LyzrScript, LyzrServer

ERRORS: list[tuple[str, dict[str, Any]]] = [
    ("marker", {"error_message": "model exploded"}),
    ("event", {"error_body": {"detail": "model exploded"}}),
    ("event-openai", {"error_body": {"error": {"message": "model exploded", "code": 500}}}),
    ("frame", {"tokens": ["Partial", " answer", {"error": "model exploded"}]}),
    ("typed", {"tokens": ["Partial", " answer", {"type": "error", "message": "model exploded"}]}),
]


def failing(options: dict[str, Any]) -> LyzrScript:
    script: dict[str, Any] = {"tokens": ["Partial", " answer"], "error_after": 2, **options}
    if "error_body" not in options and "error_message" not in options:
        script.pop("error_after")  # the error is a frame among the tokens; no [DONE] after
        script["done"] = False
    return LyzrScript(**script)


@pytest.mark.parametrize("options", [o for _, o in ERRORS], ids=[n for n, _ in ERRORS])
async def test_an_error_is_raised_with_its_words_after_the_text(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, options: dict[str, Any]
) -> None:
    lyzr_server.default = failing(options)
    received: list[str] = []
    with pytest.raises(AgentServerError) as raised:
        async for chunk in lyzr.stream("hi", session_id="s", user_id="u"):
            received.append(chunk.content)
    assert "".join(received) == "Partial answer"
    assert raised.value.said == "model exploded"
    assert len(lyzr_server.stream_requests()) == 1  # a reported error is not retried


@pytest.mark.parametrize("options", [o for _, o in ERRORS], ids=[n for n, _ in ERRORS])
async def test_the_user_sees_the_partial_reply_and_the_agents_words_never_json(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, options: dict[str, Any]
) -> None:
    lyzr_server.default = failing(options)
    outcome, texts = await shown(lyzr)
    assert outcome.status == "failed"
    assert texts == ["Partial answer\n\n⚠️ _The agent reported an error._ It said: “model exploded”"]


async def test_an_error_without_words_shows_the_notice_alone(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["Partial"], error_after=1, error_body={"code": 7})
    _, texts = await shown(lyzr)
    assert texts == ["Partial\n\n⚠️ _The agent reported an error._"]


async def test_the_data_lines_of_one_event_join_without_a_newline_as_lyzrs_clients_do(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    # Not the SSE spec's "\n": lyzr-adk, lyzr-kit and the studio append each data line.
    lyzr_server.default = LyzrScript(tokens=["a", ["b", " c"], " d"])
    assert text_of(await collect(lyzr)) == "ab c d"


@pytest.mark.parametrize(
    "tokens",
    [
        ["Use the ", "<artifacts> tag", " to list files."],  # an opening tag, never closed
        ["Is x ", "<"],  # the start of a tag, maybe
    ],
    ids=["open-tag", "partial-tag"],
)
async def test_text_held_back_for_a_tag_is_shown_when_the_agent_reports_an_error(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, tokens: list[str]
) -> None:
    # The text after "<artifacts>" (or a possible tag's start) waits for what follows; an
    # error ends the text there, so it is the reply's, shown before the notice, not lost.
    lyzr_server.default = LyzrScript(tokens=tokens, error_after=len(tokens))
    _, texts = await shown(lyzr)
    assert texts == [
        "".join(tokens) + "\n\n⚠️ _The agent reported an error._ It said: “model exploded”"
    ]


LONG = "quota exceeded for this agent, " * 40  # 1,240 characters


@pytest.mark.parametrize(
    "options",
    [
        {"error_message": LONG},
        {"error_body": {"detail": LONG}},
        {"tokens": ["Partial", {"error": LONG}]},
        {"tokens": ["Partial", {"type": "error", "message": LONG}]},
    ],
    ids=["marker", "event", "frame", "typed"],
)
async def test_the_agents_words_are_cut_to_the_same_length_however_the_error_came(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, options: dict[str, Any]
) -> None:
    lyzr_server.default = failing(options)
    with pytest.raises(AgentServerError) as raised:
        async for _ in lyzr.stream("hi", session_id="s", user_id="u"):
            pass
    assert raised.value.said is not None
    assert raised.value.said == LONG.strip()[: len(raised.value.said)]
    assert len(raised.value.said) <= 500


@pytest.mark.parametrize(
    "words",
    [
        'Traceback (most recent call last):\n  File "/app/agent/run.py", line 12, in run\n'
        "    raise KeyError(k)\nKeyError: 'x'",
        "HTTPConnectionPool(host='10.20.0.7', port=8000): Max retries exceeded with url: "
        "/v1/tools/search",
        "upstream http://agent-tools.internal:8080/run answered 502",
    ],
    ids=["traceback", "ip", "internal-url"],
)
async def test_an_error_of_technical_internals_shows_the_notice_alone(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, words: str
) -> None:
    # A stack trace or a network address is for the operator's logs, not the chat.
    lyzr_server.default = failing({"error_body": {"detail": words}})
    outcome, texts = await shown(lyzr)
    assert texts == ["Partial answer\n\n⚠️ _The agent reported an error._"]
    assert outcome.error is not None and words.splitlines()[-1] in outcome.error.detail


SECRET = "x-api-key: sk-live-7f3a9c"
"""A body that echoes what it should not (a proxy's debug page, a validation error that
quotes the request): whatever the status, the user reads the notice, never the body."""


@pytest.mark.parametrize(
    ("status", "detail", "notice"),
    [
        (401, f"Invalid API key {SECRET}", texts.AGENT_AUTH),
        (403, f"Forbidden {SECRET}", texts.AGENT_FORBIDDEN),
        (404, f"Agent not found {SECRET}", texts.AGENT_NOT_FOUND),
        # FastAPI's validation error, as Lyzr's API answers one (a list of {loc, msg, type}).
        (422, [{"loc": ["body", "message"], "msg": SECRET, "type": "value_error"}],
         texts.AGENT_SERVER),
        (429, f"Out of credits {SECRET}", texts.AGENT_CREDITS),
        (500, f"Internal error {SECRET}", texts.AGENT_SERVER),
        (502, f"<html>Bad gateway {SECRET}</html>", texts.AGENT_SERVER),
        (503, f"Unavailable {SECRET}", texts.AGENT_SERVER),
    ],
)  # fmt: skip
async def test_an_http_error_shows_its_notice_never_its_body(
    lyzr_server: LyzrServer, status: int, detail: object, notice: str
) -> None:
    lyzr_server.default = LyzrScript(status=status, detail=detail)
    agent = lyzr_agent(lyzr_server, retries=1)
    outcome, texts = await shown(agent)
    await agent.aclose()
    assert outcome.status == "failed"
    assert texts == [f"⚠️ _{notice}_"]
    # Sent once; a 503 (refused before anyone took it) once more.
    assert len(lyzr_server.stream_requests()) == (2 if status == 503 else 1)
