"""What a vote is about and what it says (pure values, JSON in Redis and on the webhook)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["REASON_MAX_CHARS", "ReplyRef", "ReplyTag", "VoteRecord", "VoteValue", "vote_value"]

VoteValue = Literal["up", "down"]
REASON_MAX_CHARS = 2_000  # a reason is free text from a modal: bounded before it is stored


@dataclass(frozen=True, slots=True)
class ReplyRef:
    """The message a vote is cast on: the reply's last message (its controls are there)."""

    platform: str
    workspace: str
    channel: str
    message: str


@dataclass(frozen=True, slots=True)
class ReplyTag:
    """What the bot knew about a reply when it offered the controls: recorded with it, so
    a vote names the conversation, session and agent without asking the platform."""

    ref: ReplyRef
    thread: str | None
    conversation: str
    session_id: str | None
    agent: str | None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.ref), "thread": self.thread, "conversation": self.conversation,
                "session_id": self.session_id, "agent": self.agent}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplyTag:
        ref = ReplyRef(
            str(data["platform"]), str(data["workspace"]), str(data["channel"]),
            str(data["message"]),
        )  # fmt: skip
        return cls(ref, data.get("thread"), str(data.get("conversation", "")),
                   data.get("session_id"), data.get("agent"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """One person's vote on one reply (the latest: a vote can be changed)."""

    tag: ReplyTag
    voter: str
    vote: VoteValue
    reason: str | None
    at: str  # ISO 8601, UTC

    def to_json(self) -> dict[str, Any]:
        """The stored form, which is also the webhook's body."""
        ref = self.tag.ref
        return {
            "vote": self.vote,
            "reason": self.reason,
            "voter": self.voter,
            "platform": ref.platform,
            "workspace": ref.workspace,
            "channel": ref.channel,
            "thread": self.tag.thread,
            "message": ref.message,
            "conversation": self.tag.conversation,
            "session_id": self.tag.session_id,
            "agent": self.tag.agent,
            "at": self.at,
        }


def vote_value(raw: object) -> VoteValue | None:
    """``up`` / ``down`` from a control's value; anything else is not a vote."""
    if raw == "up":
        return "up"
    return "down" if raw == "down" else None
