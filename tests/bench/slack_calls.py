"""Reading the Slack simulator's call log in the benchmarks: which chunk each thread showed
when (the agents number their chunks with five digits, so the highest number in a text is
how far the reply had got)."""

from __future__ import annotations

import re
from collections import defaultdict

from bots.simulators.slack import SlackSimulator

__all__ = ["NUMBER", "SHOWING", "slack_shown"]

NUMBER = re.compile(r"\d{5}")
SHOWING = ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream",
           "chat.stopStream")  # fmt: skip
"""The Web API methods that put a reply's text on screen."""


def slack_shown(slack: SlackSimulator) -> dict[tuple[str, str], list[tuple[float, int]]]:
    """(channel, thread) -> (time, highest chunk shown) of every call that showed text."""
    threads: dict[tuple[str, str], str] = {}  # (channel, message ts) -> thread ts
    shown: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for call in slack.calls():
        if call.method not in SHOWING or not call.ok:
            continue
        channel = str(call.params.get("channel"))
        if call.method in ("chat.postMessage", "chat.startStream"):
            thread = str(call.params.get("thread_ts"))
            threads[(channel, str(call.response.get("ts")))] = thread
        else:
            thread = threads.get((channel, str(call.params.get("ts"))), "")
        text = str(call.params.get("markdown_text") or call.params.get("text") or "")
        numbers = NUMBER.findall(text)
        if numbers:
            shown[(channel, thread)].append((call.time, max(map(int, numbers))))
    return shown
