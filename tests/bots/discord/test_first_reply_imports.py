"""A started bot imports nothing while it answers: whatever its replies need was imported
during start-up, before it says it is ready, so no reply pays for an import (a module
imported on first use cost the first replies of a burst their CPU: tests/bench/README.md, "CPU per
streamed reply", seventh pass). Checked in a child process (tests/bots/discord/
first_reply.py), whose modules are only what the bot and its simulators imported, not
what earlier tests of this run did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_first_reply_imports_no_module(redis_url: str, namespace: str) -> None:
    child = [sys.executable, "-m", "tests.bots.discord.first_reply", redis_url, namespace]
    done = subprocess.run(child, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported == []
