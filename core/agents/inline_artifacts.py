"""Keep ``<artifacts>[...]</artifacts>`` blocks out of the reply text, token by token, and
read the files they list.

A Lyzr agent can announce its files in the streamed text itself. Lyzr's studio web client
(ayush-lyzr/agent-studio-ui, ``src/pages/studio/components/chatbox.tsx``,
``separateThinkingContent``, run on the whole text received so far after every token)
matches ``/<artifacts>([\\s\\S]*?)<\\/artifacts>/``, ``JSON.parse``s the trimmed content (an
array; one object is taken as a list of one) of ``{"file_url", "artifact_id", "name",
"format_type"}`` entries, shows them as attachments and removes the block from the text.

Two things differ here, on purpose. The studio handles the first block only, and shows a
block that is still streaming (no closing tag yet) as raw text; here every block is
removed, and nothing of one is shown while it streams: from ``<artifacts>`` on, the text
is held back until ``</artifacts>`` decides (and a possible partial ``<artif`` at the end
of a token until the next token does). A block that is not JSON (the studio shows its raw
content as one broken attachment) is kept out of the text and reported in
:attr:`ArtifactsFilter.unreadable`, so the user is told files were announced but lost.
"""

from __future__ import annotations

import json
import logging

from core.agents.artifacts import parse_artifacts
from core.agents.think import partial_suffix
from core.models import Artifact

__all__ = ["ArtifactsFilter"]

log = logging.getLogger(__name__)

_OPEN = "<artifacts>"
_CLOSE = "</artifacts>"


class ArtifactsFilter:
    """The visible part of streamed text; the blocks' files in :attr:`found`."""

    def __init__(self) -> None:
        self._held = ""  # a possible partial opening tag, or the open block's text so far
        self._pieces: list[str] = []  # the open block's later tokens, joined once it closes
        self._tail = ""  # the open block's last characters: where its closing tag may start
        self._inside = False
        self.found: list[Artifact] = []
        self.unreadable: list[str] = []  # why a block's files could not be read, one a block

    def feed(self, text: str) -> str:
        if self._inside:
            # A token of an open block that does not close it is kept as it is: the block
            # is joined once, when it closes (a long block costs no copy per token).
            window = self._tail + text
            if _CLOSE not in window:
                self._pieces.append(text)
                self._tail = window[1 - len(_CLOSE) :]
                return ""
            self._held += "".join(self._pieces)
            self._pieces.clear()
        elif not self._held and "<" not in text:
            return text  # the common token: no tag can start in it
        data = self._held + text
        # Inside a block, the closing tag can only end in the new text: search from there.
        start = max(0, len(self._held) - len(_CLOSE) + 1) if self._inside else 0
        block_start = 0
        self._held = ""
        visible: list[str] = []
        while True:
            if self._inside:
                end = data.find(_CLOSE, start)
                if end < 0:
                    self._held = data[block_start:]
                    self._tail = self._held[1 - len(_CLOSE) :]
                    break
                self._read(data[block_start:end])
                start = end + len(_CLOSE)
                self._inside = False
                continue
            begin = data.find(_OPEN, start)
            if begin < 0:
                keep = partial_suffix(data, start, _OPEN)
                visible.append(data[start:keep])
                self._held = data[keep:]
                break
            visible.append(data[start:begin])
            start = block_start = begin + len(_OPEN)
            self._inside = True
        return "".join(visible)

    def flush(self) -> str:
        """What was held back when the text ends. A block never closed is read if its text
        is JSON-like (files announced, then the tag forgotten); otherwise the opening tag
        was just words in the reply, and they are shown."""
        held, self._held = self._held + "".join(self._pieces), ""
        self._pieces.clear()
        if not self._inside:
            return held
        self._inside = False
        if held.lstrip()[:1] in ("[", "{"):
            self._read(held)
            return ""
        return _OPEN + held

    def _read(self, block: str) -> None:
        try:
            parsed = json.loads(block)
        except ValueError as exc:
            self._unreadable(f"not JSON ({exc})", block)
            return
        entries = parsed if isinstance(parsed, list) else [parsed]
        files = parse_artifacts(entries)
        if len(files) < len(entries):
            self._unreadable(f"{len(entries) - len(files)} entries without a name or link", block)
        self.found.extend(files)

    def _unreadable(self, why: str, block: str) -> None:
        log.warning("unreadable <artifacts> block in the reply: %s: %.200r", why, block)
        self.unreadable.append(why)
