"""A structured reply's text fallback longer than one Discord message is split like a
reply's pages: between words, never inside a word or an emoji with its modifier."""

from __future__ import annotations

import itertools

from pydantic import BaseModel

from adapters.discord import DiscordSurface, place
from bots.simulators.discord import DiscordSimulator
from core.relay.notices import DEFAULT_NOTICES

MESSAGES = "/channels/{channel_id}/messages"


class Report(BaseModel):
    title: str
    summary: str


async def test_a_long_fallback_is_split_between_words(
    sim: DiscordSimulator, surface: DiscordSurface
) -> None:
    where = place("channel", sim.channel("general").id, sim.guild_id)
    data = Report(title="Weekly", summary=" ".join(f"item{i}👍🏽done" for i in range(420)))
    fallback = surface.render(DEFAULT_NOTICES.structured_fallback(data))
    assert len(fallback) > 2 * 2000
    sim.inject_failure("POST", MESSAGES, status=400, code=50035, message="Invalid Form Body")
    await surface.post_structured(where, data, fallback)

    sent = [m.content for m in sim.channel_messages(int(where.channel))]
    assert len(sent) >= 3
    assert "".join(sent) == fallback  # nothing lost, nothing added (no code fence here)
    assert all(len(message) <= 2000 for message in sent)
    for message, following in itertools.pairwise(sent):
        assert message[-1].isspace() or following[0].isspace(), (message[-12:], following[:12])
