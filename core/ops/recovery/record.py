"""What Redis keeps of one reply: enough for another replica to finish it.

A record is written by the reply's owner (:mod:`core.ops.recovery.heartbeat`) and read by a
reaper (:mod:`core.ops.recovery.reaper`). It names the thread, and each message of the reply
that is not final yet with the text it shows (or is being sent: the owner writes ahead of
every edit, so a finaliser never shows less than the screen did).

``handed_over``: the owner finished the reply but could not make some final edits (the
platform was down); the texts are final and the reapers make those edits, without a notice.
A record of a final edit a surface still owes (:mod:`core.ops.recovery.owed`) is written so
from the start, but held by its owner: due only once that owner is dead or hands it over.
``unsent``: final texts whose post failed (handed over: the reapers post them).
``feedback``: the page whose (handed-over) final edit carries the feedback controls: the
last message of a completed reply, already recorded for votes.
``posted``: the reply showed something once (a page may be final already), so an orphan
without open pages was cut off, not left unanswered.
``posting``: the text of a post sent and not answered yet (written ahead of the post); the
post may have landed, its message unknown to the record: a reaper looks for it in the
thread, after ``last``: the newest message the reply is known to have posted, or else the
turn's own message (its platform id, e.g. ``C123:1700000000.000100`` on Slack), or None.
A page names its own place when it is not the reply's (a Discord reply detoured to the
thread's parent channel); records written before pages had it still parse.

``stray``: the record is not a reply but a :class:`~core.surface.StrayCopy` left by a
surface (a post retried blind); a reaper has it looked for and finalised, and nothing else
of the record applies (``where`` is the stray's thread).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.surface import MessageRef, StrayCopy
from core.turn import ThreadRef

__all__ = ["Page", "ReplyRecord"]


@dataclass(slots=True)
class Page:
    """A message of the reply that is not final yet."""

    message_id: str
    text: str  # rendered: what it shows, or the text being sent to it
    stream: bool = False  # a native stream (stopped before it is edited)
    # Where it is when not in the reply's place: a Discord reply detoured to the thread's
    # parent channel (the thread refused the bot's posts).
    place: ThreadRef | None = None

    def ref(self, where: ThreadRef) -> MessageRef:
        return MessageRef(self.place or where, self.message_id, stream=self.stream)

    def to_list(self) -> list[Any]:
        item: list[Any] = [self.message_id, self.text, self.stream]
        if self.place is not None:
            item.append([self.place.workspace, self.place.channel, self.place.thread])
        return item

    @classmethod
    def from_list(cls, item: list[Any], platform: str) -> Page:
        message_id, text, stream, *more = item
        place = None
        if more and more[0] is not None:
            workspace, channel, thread = more[0]
            place = ThreadRef(platform, workspace, channel, thread)
        return cls(str(message_id), str(text), bool(stream), place)


@dataclass(slots=True)
class ReplyRecord:
    """One reply in the registry (JSON in Redis)."""

    owner: str
    where: ThreadRef
    pages: list[Page] = field(default_factory=list)
    posted: bool = False
    handed_over: bool = False
    unsent: list[str] = field(default_factory=list)
    posting: str | None = None
    last: str | None = None
    stray: StrayCopy | None = None
    feedback: str | None = None

    @classmethod
    def of_stray(cls, owner: str, stray: StrayCopy) -> ReplyRecord:
        return cls(owner, stray.where, stray=stray)

    def to_json(self) -> str:
        where = self.where
        stray = self.stray
        extra: dict[str, Any] = {}
        if self.feedback is not None:
            extra["feedback"] = self.feedback
        if stray is not None:
            extra["stray"] = [stray.text, list(stray.shown), stray.since, stray.kept,
                              stray.native, stray.key]  # fmt: skip
        return json.dumps(
            {
                **extra,
                "owner": self.owner,
                "platform": where.platform,
                "workspace": where.workspace,
                "channel": where.channel,
                "thread": where.thread,
                "pages": [p.to_list() for p in self.pages],
                "posted": self.posted,
                "handed_over": self.handed_over,
                "unsent": self.unsent,
                "posting": self.posting,
                "last": self.last,
            }
        )

    @classmethod
    def parse(cls, raw: str) -> ReplyRecord:
        """Raises ValueError, KeyError or TypeError on a malformed record."""
        data: dict[str, Any] = json.loads(raw)
        where = ThreadRef(data["platform"], data["workspace"], data["channel"], data["thread"])
        pages = [Page.from_list(item, where.platform) for item in data["pages"]]
        unsent = [str(t) for t in data.get("unsent", [])]
        posting, last = data.get("posting"), data.get("last")
        feedback = data.get("feedback")  # records written before it still parse
        stray = None
        if data.get("stray") is not None:
            text, shown, since, kept, native, *more = data["stray"]  # the key came later
            stray = StrayCopy(where, str(text), tuple(str(t) for t in shown), float(since),
                              str(kept), bool(native), str(more[0]) if more else "")  # fmt: skip
        return cls(
            str(data["owner"]), where, pages, bool(data["posted"]), bool(data["handed_over"]),
            unsent, None if posting is None else str(posting), None if last is None else str(last),
            stray, None if feedback is None else str(feedback),
        )  # fmt: skip
