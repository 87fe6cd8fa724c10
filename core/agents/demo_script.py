"""What the demo agent says: deterministic replies chosen by keyword.

Each reply exercises one thing the relay and the surfaces must handle: several paragraphs
and Markdown, a fenced code block, a reply longer than one Discord (2,000) or Slack (4,000)
message, a file, reasoning to hide, an error in the middle of a stream, and memory.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

from pydantic import BaseModel

from core.agents.schema_sample import sample_data
from core.models import Artifact

__all__ = ["DemoReply", "compose_reply"]


@dataclass(frozen=True, slots=True)
class DemoReply:
    text: str
    artifacts: list[Artifact] = field(default_factory=list)
    fail_after_text: bool = False
    words_per_token: int = 1


HELP = """Hi! I'm the **threadcast demo agent**: offline, deterministic, and here to show \
what a streamed reply looks like.

Send a message containing one of these keywords:

- `code`: a reply with a fenced Python code block
- `long`: a reply longer than one Discord or Slack message, split safely
- `file`: a reply with an attached file
- `format`: Markdown formatting (bold, italics, lists, links, quotes)
- `think`: a reply whose hidden reasoning is kept out of the text
- `error`: a reply that fails halfway, to show how errors look
- `what did I say?`: I remember what you told me earlier in this conversation

Anything else, and I'll repeat it back to you."""

_CODE = '''Here is a small, complete example: a token bucket, the classic rate limiter.

```python
import time


class TokenBucket:
    """Allow `rate` actions per second, with bursts up to `capacity`."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = time.monotonic()

    def try_take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
```

The bucket refills continuously, so a quiet period earns a burst, and the long-run rate \
never exceeds `rate`. threadcast's edit scheduler shares budgets like this one between \
every reply that streams in the same scope.'''

_FORMAT = """Markdown, rendered for each platform:

**Bold**, *italic*, ~~strikethrough~~ and `inline code`.

1. An ordered list
2. with a second item
   - and a nested bullet

> A quote: streamed replies should feel alive, not flood the channel.

A link: [threadcast on the web](https://example.com/threadcast). Characters that need care: \
<angle brackets>, & ampersands, *stars* and _underscores_."""

_THINK = """<think>The user wants to see reasoning handled. I will think out loud here; \
none of this should appear in the reply.</think>

My reasoning was streamed first, inside a `<think>` block, and kept out of this text \
(it is in the final chunk's metadata instead)."""

_ERROR = """Starting an answer that is going to fail on purpose. A real agent can fail \
halfway through a reply: a timeout, a lost connection, an error from the model. The text \
so far is kept and a notice is added"""


def _long_reply() -> str:
    topics = [
        ("Streaming", "the reply is shown while it is written, one edit at a time"),
        ("Pacing", "edits wait for the previous one and for the message's minimum interval"),
        ("Budgets", "every reply in a workspace or channel draws on one shared edit budget"),
        ("Splitting", "a reply that outgrows one message continues in the next one"),
        ("Fences", "a code block cut by a split is closed and reopened with its language"),
        ("Failures", "partial text is kept, and a notice says what went wrong"),
    ]
    parts = [
        "This is a long reply. It is longer than one Discord message (2,000 characters) "
        "and longer than one Slack message (4,000), so it is split into several messages "
        "at paragraph boundaries, never in the middle of a word or of a code block."
    ]
    for number, (title, idea) in enumerate(topics, start=1):
        parts.append(f"## {number}. {title}")
        parts.append(
            f"In short: {idea}. "
            * 2
            + "This paragraph repeats itself on purpose, to give the relay enough text to "
            "paginate, while staying readable enough that a reviewer can check nothing was "
            "lost or duplicated at the boundaries between messages."
        )
        parts.append(
            f"Section {number} ends here. Watch how the message grows while it streams, "
            "then how the next message picks up exactly where this one stopped, with the "
            "streaming indicator moving along and disappearing once the reply is complete."
        )
        if number == 3:
            lines = "\n".join(f"    budget.take()  # edit {i:02d}" for i in range(1, 31))
            parts.append(f"```python\nfor reply in replies:\n{lines}\n```")
    parts.append("The end. If you can read this line, the whole reply arrived.")
    return "\n\n".join(parts)


def _demo_file() -> Artifact:
    rows = [
        "keyword,what it shows",
        "code,a fenced code block",
        "long,splitting across messages",
        "file,this attachment",
        "error,a failure mid-stream",
    ]
    data = base64.b64encode(("\n".join(rows) + "\n").encode()).decode()
    return Artifact(
        name="threadcast-demo.csv",
        url=f"data:text/csv;base64,{data}",
        format_type="csv",
        artifact_id="demo-csv",
    )


_GREETING = re.compile(r"^\s*(hi|hello|hey|help|start|/help|\?)\b|^\s*\W*\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"what did i (say|tell|write)|do you remember|what have i said", re.I)


def _has(word: str, text: str) -> bool:
    return re.search(rf"\b{word}\b", text, re.IGNORECASE) is not None


def compose_reply(
    message: str, said_before: list[str], response_format: type[BaseModel] | None = None
) -> DemoReply:
    """The reply to ``message``, given what the user said earlier in the session."""
    if response_format is not None:
        data = json.dumps(sample_data(response_format), indent=2, ensure_ascii=False)
        return DemoReply(f"```json\n{data}\n```")
    if _MEMORY.search(message):
        said_before = [text for text in said_before if not _MEMORY.search(text)]
        if not said_before:
            return DemoReply("You haven't told me anything yet in this conversation.")
        listed = "\n".join(f"{i}. {text}" for i, text in enumerate(said_before, start=1))
        return DemoReply(f"Earlier in this conversation you said:\n\n{listed}")
    if _has("error", message):
        return DemoReply(_ERROR, fail_after_text=True)
    if _has("long", message):
        return DemoReply(_long_reply(), words_per_token=4)
    if _has("code", message):
        return DemoReply(_CODE)
    if _has("file", message):
        return DemoReply(
            "Here is a small CSV file listing the demo keywords. It is attached to this reply.",
            artifacts=[_demo_file()],
        )
    if _has("format", message):
        return DemoReply(_FORMAT)
    if _has("think", message):
        return DemoReply(_THINK)
    if _GREETING.search(message):
        return DemoReply(HELP)
    return DemoReply(
        f"You said: {message.strip()}\n\n"
        "I'm the demo agent, so I only echo. Say `help` to see what I can show you."
    )
