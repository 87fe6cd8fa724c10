"""The RecordingSurface test double behaves like a platform where the relay relies on it."""

from __future__ import annotations

import pytest

from core.errors import MessageGone, MessageTooLong, RateLimited, SurfaceError
from core.surface import BudgetScope, ChatSurface, MessageRef, OutgoingFile, SurfaceLimits
from tests.fake_time import IN_MEMORY
from tests.surfaces import THREAD, RecordingSurface

pytestmark = IN_MEMORY


def test_is_a_chat_surface() -> None:
    assert isinstance(RecordingSurface(), ChatSurface)


async def test_records_calls_with_loop_time_and_keeps_texts() -> None:
    surface = RecordingSurface(latency=0.1, edit_latency=0.3)
    ref = await surface.post(THREAD, "one", streaming=True)
    await surface.edit(ref, "one two", final=True)
    post, edit = surface.calls
    assert (post.kind, post.started, post.finished, post.streaming) == ("post", 0.0, 0.1, True)
    assert (edit.kind, edit.started, edit.finished, edit.final) == ("edit", 0.1, 0.4, True)
    assert surface.texts() == ["one two"] and surface.messages[ref.message_id].edits == 1


async def test_refuses_what_platforms_refuse() -> None:
    limits = SurfaceLimits(max_message_chars=10, min_edit_interval=1.0, max_file_bytes=4)
    surface = RecordingSurface(limits=limits)
    with pytest.raises(MessageTooLong):
        await surface.post(THREAD, "x" * 11)
    with pytest.raises(SurfaceError):
        await surface.post(THREAD, "  ")
    with pytest.raises(MessageGone):
        await surface.edit(MessageRef(THREAD, "nope"), "text")
    with pytest.raises(SurfaceError):
        await surface.upload(THREAD, [OutgoingFile.from_bytes("big", b"12345")])
    ref = await surface.post(THREAD, "ok")
    surface.delete(ref.message_id)
    with pytest.raises(MessageGone):
        await surface.edit(ref, "again")
    assert surface.texts() == []


async def test_injected_failures_fail_n_times_then_succeed() -> None:
    surface = RecordingSurface()
    surface.fail("post", lambda: RateLimited(2.0, scope="s"), times=2)
    for _ in range(2):
        with pytest.raises(RateLimited) as info:
            await surface.post(THREAD, "hi")
        assert info.value.retry_after == 2.0
    await surface.post(THREAD, "hi")
    surface.fail("status", SurfaceError("down"), times=None)
    for _ in range(3):
        with pytest.raises(SurfaceError):
            await surface.set_status(THREAD, "busy")
    surface.heal()
    await surface.set_status(THREAD, "busy")
    assert surface.statuses == ["busy"]


async def test_rate_limit_answers_429_beyond_n_per_second() -> None:
    scope = BudgetScope("test:bot", rate=100.0)
    surface = RecordingSurface(scopes=[scope], rate_limit=(3, 1.0))
    ref = await surface.post(THREAD, "0")
    results = []
    for i in range(5):
        try:
            await surface.edit(ref, str(i))
            results.append("ok")
        except RateLimited as exc:
            results.append(f"429 {exc.retry_after} {exc.scope}")
    assert results == ["ok", "ok", "429 1.0 test:bot", "429 1.0 test:bot", "429 1.0 test:bot"]
    assert surface.rate_limited == 3


async def test_lean_mode_for_benchmarks_reports_updates_without_history() -> None:
    seen: list[tuple[str, str, float]] = []
    surface = RecordingSurface(record=False, edit_latency=0.02, on_update=lambda *u: seen.append(u))
    ref = await surface.post(THREAD, "a")
    await surface.edit(ref, "ab")
    assert surface.calls == [] and surface.messages[ref.message_id].calls == []
    assert seen == [(ref.message_id, "a", 0.0), (ref.message_id, "ab", 0.02)]
