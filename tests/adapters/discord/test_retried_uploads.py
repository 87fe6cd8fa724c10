"""Files, embeds and an embed's text fallback retried after their answer was lost: the
relay retries the post (its retry policy), and every try of one carries the same key, so
each message carries a nonce derived from it, enforced, and Discord returns the message
the first try created (``bots/simulators/discord/nonces.py``) instead of a second one.
The relay over the real DiscordSurface and discord.py, against the simulator.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.discord import DiscordSurface, place
from bots.simulators.discord import AnswerLost, Call, DiscordSimulator
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay
from core.relay.scheduler import EditScheduler
from core.turn import ThreadRef
from tests.adapters.artifact_files import FILES, QUICK, Report
from tests.relay.helpers import scripted

MESSAGES = "/channels/{channel_id}/messages"


def _lose_the_answer(sim: DiscordSimulator, match: Callable[[Call], bool]) -> list[Call]:
    lost: list[Call] = []

    async def lose(call: Call) -> None:
        lost.append(call)
        raise AnswerLost

    sim.after_call("POST", MESSAGES, lose, match=match)
    return lost


def _creates(sim: DiscordSimulator, where: ThreadRef) -> list[Call]:
    path = f"/channels/{where.channel}/messages"
    return [c for c in sim.calls if c.method == "POST" and c.path == path and c.status < 300]


def _nonces(calls: list[Call]) -> set[str]:
    return {str(c.json.get("nonce")) for c in calls if isinstance(c.json, dict)}


async def test_files_whose_answer_was_lost_are_attached_once(
    sim: DiscordSimulator, surface: DiscordSurface, scheduler: EditScheduler, file_server: str
) -> None:
    where = place("channel", sim.channel("general").id, sim.guild_id)
    lost = _lose_the_answer(sim, lambda call: bool(call.files))
    artifacts = [Artifact(name=n, url=f"{file_server}/{n}") for n in FILES]
    async with guarded_client("127.0.0.1", timeout=10.0) as client:
        relay = Relay(surface, scheduler, http_client=client, policy=QUICK)
        outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=artifacts))

    assert lost  # the create carrying the files was applied, its answer lost
    assert outcome.artifacts_uploaded == list(FILES)
    uploads = [c for c in _creates(sim, where) if c.files]
    assert len(uploads) >= 2 and len(_nonces(uploads)) == 1  # retried, with one nonce
    carrying = [m for m in sim.channel_messages(int(where.channel)) if m.attachments]
    assert len(carrying) == 1  # once, not twice
    assert [a.filename for a in carrying[0].attachments] == list(FILES)


async def test_an_embed_whose_answer_was_lost_is_posted_once(
    sim: DiscordSimulator, surface: DiscordSurface, scheduler: EditScheduler
) -> None:
    where = place("channel", sim.channel("general").id, sim.guild_id)
    lost = _lose_the_answer(sim, lambda call: "embeds" in str(call.json))
    data = Report(title="Weekly", summary="all good")
    relay = Relay(surface, scheduler, policy=QUICK)
    await relay.deliver(where, scripted([(0.0, "Done.")], structured=data))

    assert lost
    assert len(_nonces([c for c in _creates(sim, where) if "embeds" in str(c.json)])) == 1
    embeds = [m for m in sim.channel_messages(int(where.channel)) if m.embeds]
    assert len(embeds) == 1
    # An answer lost is no refusal: its text fallback is not posted beside it.
    assert not [m for m in sim.channel_messages(int(where.channel)) if "Weekly" in m.content]


async def test_a_fallback_page_whose_answer_was_lost_is_posted_once(
    sim: DiscordSimulator, surface: DiscordSurface, scheduler: EditScheduler
) -> None:
    """The embed is refused (400), so its text fallback is posted; that post's answer is
    lost, and the retry (refused the embed again) does not post the text a second time."""
    where = place("channel", sim.channel("general").id, sim.guild_id)

    def refuse_the_next_post() -> None:
        sim.inject_failure("POST", MESSAGES, status=400, code=50035, message="Invalid Form Body")

    async def after_the_text(_: Call) -> None:
        refuse_the_next_post()  # the embed

    lost: list[Call] = []

    async def lose(call: Call) -> None:
        lost.append(call)
        refuse_the_next_post()  # the retry's embed, as the first one was
        raise AnswerLost

    sim.after_call("POST", MESSAGES, after_the_text, match=lambda c: "Done." in str(c.json))

    def fallback(call: Call) -> bool:
        body = call.json if isinstance(call.json, dict) else {}
        return "Weekly" in str(body.get("content")) and not body.get("embeds")

    sim.after_call("POST", MESSAGES, lose, match=fallback)
    data = Report(title="Weekly", summary="all good")
    relay = Relay(surface, scheduler, policy=QUICK)
    await relay.deliver(where, scripted([(0.0, "Done.")], structured=data))

    assert lost
    fallbacks = [m for m in sim.channel_messages(int(where.channel)) if "Weekly" in m.content]
    assert len(fallbacks) == 1
