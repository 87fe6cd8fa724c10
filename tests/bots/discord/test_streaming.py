"""Streaming limits: long replies, files, agent failures, 429s, and no pings."""

from __future__ import annotations

import re

from adapters.discord import STOP_CUSTOM_ID as STOP_ID
from tests.bots.discord.conftest import MESSAGE, MESSAGES, World
from tests.servers.lyzr_server import LyzrScript, split_words

FENCE = re.compile(r"^```", re.MULTILINE)


def long_reply_with_code(size: int = 9000) -> str:
    parts: list[str] = []
    n = 0
    while sum(map(len, parts)) < size:
        parts.append(f"Step {n}: a paragraph explaining the next bit of code in some detail.\n\n")
        lines = "\n".join(f"    value_{n}_{i} = compute({n}, {i})  # line {i}" for i in range(12))
        parts.append(f"```python\ndef step_{n}():\n{lines}\n    return {n}\n```\n\n")
        n += 1
    return "".join(parts).rstrip() + "\n"


def without_fences(text: str) -> str:
    kept = [line for line in text.splitlines() if not line.startswith("```")]
    return re.sub(r"\s+", "", "".join(kept))


async def test_long_reply_continues_in_new_messages_with_fences_intact(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    reply = long_reply_with_code()
    assert len(reply) > 9000
    lyzr.enqueue(LyzrScript(tokens=split_words(reply), delay=0.0))
    start = await sim.user_message(sim.channel("general").id, "long code", mention_bot=True)
    await world.answered(1, within=40)
    messages = world.bot_messages(start.id)
    assert len(messages) >= 5
    for message in messages:
        assert len(message.content) <= 2000
        assert all(len(v) <= 2000 for v in message.versions)
        assert len(FENCE.findall(message.content)) % 2 == 0  # every code block closed
        assert "▍" not in message.content and STOP_ID not in str(message.components)
    # A page cut inside a code block reopens it with its language in the next message.
    reopened = [m for m in messages[1:] if m.content.startswith("```")]
    assert reopened and all(m.content.startswith("```python\n") for m in reopened)
    assert without_fences("".join(m.content for m in messages)) == without_fences(reply)
    (result,) = world.results
    assert result.outcome is not None and result.outcome.text == reply


async def test_artifacts_are_attached_and_failures_named(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    listed = [
        {"file_url": lyzr.add_file(f"r{n}.txt", f"report {n}".encode()), "name": f"r{n}.txt"}
        for n in range(11)
    ]
    big = lyzr.add_file("huge.bin", b"\0" * (10 * 1024 * 1024 + 1))
    listed.append({"file_url": big, "name": "huge.bin"})
    missing = f"{lyzr.url}/files/missing.pdf"
    listed.append({"file_url": missing, "name": "missing.pdf"})
    lyzr.enqueue(LyzrScript(tokens=["Here", " are", " your", " files."], artifacts=listed))
    start = await sim.user_message(sim.channel("general").id, "files please", mention_bot=True)
    await world.answered(1, within=30)
    text, *uploads, notice = world.bot_messages(start.id)
    assert text.content == "Here are your files."
    assert [len(m.attachments) for m in uploads] == [10, 1]
    assert [a.filename for m in uploads for a in m.attachments] == [f"r{n}.txt" for n in range(11)]
    assert uploads[1].attachments[0].data == b"report 10"
    assert "huge.bin" in notice.content and big in notice.content
    assert "missing.pdf" in notice.content and missing in notice.content
    (result,) = world.results
    assert result.outcome is not None
    assert [f.name for f in result.outcome.artifacts_failed] == ["huge.bin", "missing.pdf"]


async def test_files_within_the_upload_limit_each_are_all_attached(world: World) -> None:
    # Discord's upload limit (10 MiB unboosted) counts a request's files together: three
    # files of 4 MiB go in two messages, not one refused as too large.
    sim, lyzr = world.sim, world.lyzr
    four = 4 * 1024 * 1024
    listed = [
        {"file_url": lyzr.add_file(f"p{n}.bin", bytes([n]) * four), "name": f"p{n}.bin"}
        for n in range(3)
    ]
    lyzr.enqueue(LyzrScript(tokens=["Your", " files."], artifacts=listed))
    start = await sim.user_message(sim.channel("general").id, "files please", mention_bot=True)
    await world.answered(1, within=30)
    text, *uploads = world.bot_messages(start.id)
    assert text.content == "Your files."
    assert [[a.filename for a in m.attachments] for m in uploads] == [
        ["p0.bin", "p1.bin"], ["p2.bin"],
    ]  # fmt: skip
    (result,) = world.results
    assert result.outcome is not None and result.outcome.artifacts_failed == []


async def test_agent_error_mid_stream_keeps_the_partial_text(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    lyzr.enqueue(
        LyzrScript(
            tokens=split_words("the first part of an answer that"), delay=0.05, error_after=5
        )
    )
    start = await sim.user_message(sim.channel("general").id, "fail", mention_bot=True)
    await world.answered(1)
    (message,) = world.bot_messages(start.id)
    assert message.content.startswith("the first part of an")
    assert "The agent reported an error." in message.content
    assert "▍" not in message.content and STOP_ID not in str(message.components)
    (result,) = world.results
    assert result.outcome is not None and result.outcome.status == "failed"


async def test_429s_on_edits_still_give_the_complete_text(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    reply = " ".join(f"token{n}" for n in range(40))
    lyzr.enqueue(LyzrScript(tokens=split_words(reply), delay=0.06))
    # More 429s in a row than discord.py retries (5): some reach the relay as RateLimited.
    sim.inject_failure("PATCH", MESSAGE, times=8, retry_after=0.2)
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
    await world.answered(1, within=30)
    (message,) = world.bot_messages(start.id)
    assert message.content == reply
    statuses = [c.status for c in sim.calls_to("PATCH", MESSAGE)]
    assert statuses.count(429) == 8 and statuses[-1] == 200
    assert world.bot.reporter.seen == 8
    bucket = world.runtime.scheduler.bucket(f"discord:channel:{start.id}")
    assert bucket is not None and bucket.rate < bucket.ceiling  # the budget adapted
    # Our own pacing caused none: every 429 here was an injected one.
    assert all(c.status != 429 for c in sim.calls if c not in sim.calls_to("PATCH", MESSAGE))


async def test_agent_output_pings_nobody(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    alice, role = sim.user("alice").id, sim.world.bot_role_id
    text = f"@everyone and @here, look: <@{alice}> <@!{alice}> <@&{role}>"
    lyzr.enqueue(LyzrScript(tokens=split_words(text), delay=0.02))
    start = await sim.user_message(sim.channel("general").id, "ping them", mention_bot=True)
    await world.answered(1)
    (message,) = world.bot_messages(start.id)
    assert message.content == text  # shown as written …
    assert message.pings.nobody  # … but nobody is notified
    sent = [c for c in sim.calls_to("POST", MESSAGES) + sim.calls_to("PATCH", MESSAGE)]
    assert sent and all(c.json["allowed_mentions"] == {"parse": []} for c in sent)


async def test_a_table_in_a_reply_arrives_as_an_aligned_code_block(world: World) -> None:
    # Discord has no tables (support.discord.com "Markdown Text 101"): pipes would show as
    # written, ragged in a proportional font. Every edit while it streams shows the rows so
    # far in a code block, and the final message the whole table, aligned.
    sim, lyzr = world.sim, world.lyzr
    reply = (
        "Sizes:\n\n| Planet | Moons | Note |\n|:--|--:|:--|\n"
        "| Mercury | 0 | **hot** |\n| Jupiter | 95 | [big](https://nasa.gov) |\n\nThat's all."
    )
    lyzr.enqueue(LyzrScript(tokens=split_words(reply), delay=0.02))
    start = await sim.user_message(sim.channel("general").id, "planets", mention_bot=True)
    await world.answered(1)
    (message,) = world.bot_messages(start.id)
    assert message.content.split("\n") == [
        "Sizes:",
        "",
        "```",
        "Planet  | Moons | Note",
        "--------+-------+-----------------------",
        "Mercury |     0 | hot",
        "Jupiter |    95 | big (https://nasa.gov)",
        "```",
        "",
        "That's all.",
    ]
    assert all(len(FENCE.findall(version)) % 2 == 0 for version in message.versions)
    assert all("|--" not in version for version in message.versions)
    (result,) = world.results
    assert result.outcome is not None and result.outcome.text == reply  # the agent's own text
