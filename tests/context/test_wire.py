"""A turn's context in each backend's shape, and the demo agent showing it."""

from __future__ import annotations

from core.agents.context_wire import (
    context_block,
    openai_context_messages,
    openai_user_content,
    remembered,
)
from core.agents.demo import DemoAgent
from core.context.models import EarlierMessage, InputFile, TurnContext

CONTEXT = TurnContext(
    messages=(
        EarlierMessage("1", "Ann Lee", "the build is red"),
        EarlierMessage("2", "threadcast", "Which job?", from_bot=True),
        EarlierMessage("3", "Bo", "", files=("ci.log",)),
    ),
    left_out=2,
    files=(
        InputFile("a.png", "image/png", "image", b"\x89PNG"),
        InputFile("n.txt", "text/plain", "text", b"notes"),
    ),
)


def test_openai_gets_roles_names_and_parts() -> None:
    assert openai_context_messages(CONTEXT) == [
        {"role": "user", "content": "(2 older messages were left out.)"},
        {"role": "user", "content": "Ann Lee: the build is red", "name": "Ann_Lee"},
        {"role": "assistant", "content": "Which job?"},
        {"role": "user", "content": "Bo: [attached: ci.log]", "name": "Bo"},
    ]
    content = openai_user_content("why?", CONTEXT)
    assert isinstance(content, list)
    text, image = content
    assert text == {
        "type": "text",
        "text": "why?\n\n(attached image: a.png)\n\n"
        "--- file: n.txt ---\nnotes\n--- end of n.txt ---",
    }
    assert image == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}
    assert openai_user_content("plain", None) == "plain"


def test_lyzr_block_and_what_a_history_keeps() -> None:
    block = context_block(CONTEXT)
    assert block.startswith("[Thread context: earlier messages, oldest first]\n(2 older")
    assert "Ann Lee: the build is red\nthreadcast (assistant): Which job?" in block
    assert "--- file: n.txt ---\nnotes" in block and "a.png" not in block
    kept = remembered("why?", CONTEXT)
    assert kept.startswith(block) and "why?" in kept and "(attached image: a.png)" in kept
    assert context_block(TurnContext()) == "" and remembered("x", None) == "x"


async def test_the_demo_agent_says_what_it_received() -> None:
    agent = DemoAgent(delay=0)
    chunks = [c async for c in agent.stream("hello", session_id="s", user_id="u", context=CONTEXT)]
    text = "".join(c.content for c in chunks)
    assert text.startswith(
        "(I received 3 earlier messages of this thread (from Ann Lee, Bo, threadcast); a note "
        "that 2 older ones were left out; your files a.png (image), n.txt (text).)"
    )


def test_the_reference_run_call_takes_context_too() -> None:
    agent = DemoAgent(delay=0)
    try:
        reply = agent.run("hello", context=TurnContext(messages=CONTEXT.messages[:1]))
    finally:
        agent.close()
    assert reply.response.startswith(
        "(I received 1 earlier message of this thread (from Ann Lee).)"
    )
