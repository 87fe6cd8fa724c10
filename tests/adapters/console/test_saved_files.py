"""The agent's files in the console: saved under the artifact folder, and when that folder
cannot be written, the person at the terminal reads where and why, not a platform's
refusal (the console is no platform that could refuse an upload)."""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console import ConsoleSurface, PlainView
from core.models import Artifact
from core.relay import Relay, RetryPolicy
from core.turn import ThreadRef
from tests.relay.helpers import SpyScheduler, scripted

THREAD = ThreadRef(platform="console", workspace="local", channel="console", thread="t1")


async def test_a_file_that_cannot_be_saved_says_where_and_why(tmp_path: Path) -> None:
    blocker = tmp_path / "artifacts"
    blocker.write_text("a file where the folder should be")
    out, info = io.StringIO(), io.StringIO()
    surface = ConsoleSurface(view=PlainView(out=out, info=info), artifact_dir=blocker)
    relay = Relay(surface, SpyScheduler(), policy=RetryPolicy(backoff=0.01))
    artifact = Artifact(name="notes.txt", url="data:text/plain,hello")
    outcome = await relay.deliver(THREAD, scripted([(0.0, "Notes.")], artifacts=[artifact]))
    assert [f.name for f in outcome.artifacts_failed] == ["notes.txt"]
    reason = f"it could not be saved in {blocker / 't1'} (Not a directory)"
    assert outcome.artifacts_failed[0].reason == reason
    assert f"⚠️ Could not attach **notes.txt**: {reason}." in out.getvalue()
    assert surface.saved == []
