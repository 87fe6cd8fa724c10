"""A post applied by Discord whose answer never came (the connection broke after the
create, or the call timed out) is retried by the relay's retry policy. The retry must not
leave two messages, the first one open for ever with its indicator and Stop button: every
try carries the same nonce, enforced (see ``adapters.discord.requests``), and Discord
returns the message the first try created (modelled in ``bots/simulators/discord/
nonces.py``). Real bot, real Redis, the simulator over loopback.
"""

from __future__ import annotations

from adapters.discord.stop_button import STOP_CUSTOM_ID
from bots.simulators.discord import AnswerLost, Call
from tests.bots.discord.conftest import MESSAGES, BotWorld
from tests.servers.lyzr_server import LyzrScript, split_words

INDICATOR = "▍"


def _reply_post(call: Call) -> bool:
    """The create-message of a streaming reply (it carries the Stop button)."""
    body = call.json if isinstance(call.json, dict) else {}
    return STOP_CUSTOM_ID in str(body.get("components"))


async def test_a_post_whose_answer_was_lost_is_created_once(bot_world: BotWorld) -> None:
    async with bot_world() as world:
        sim = world.sim
        lost: list[Call] = []

        # The agent holds after 20 words until the first post has landed: the whole reply
        # took 0.4 s, and a post after its end is a final one, without the Stop button.
        words = " ".join(f"word{i}" for i in range(40))
        script = LyzrScript(tokens=split_words(words), delay=0.01, hold_after=20)

        async def lose(call: Call) -> None:
            lost.append(call)
            script.hold.set()
            raise AnswerLost

        sim.after_call("POST", MESSAGES, lose, match=_reply_post)
        world.lyzr.enqueue(script)
        start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
        await world.answered(1, within=60)

        assert lost  # the first create was applied and its answer lost
        thread = f"/channels/{start.id}/messages"  # the thread opened on the mention
        creates = [c for c in sim.calls if c.method == "POST" and c.path == thread]
        assert len(creates) >= 2  # retried (with the text the reply had by then)
        assert len(world.bot_messages(start.id)) == 1  # one message, not two
        nonces = {str((c.json or {}).get("nonce")) for c in creates if isinstance(c.json, dict)}
        assert len(nonces) == 1  # every try of the one post carried the same nonce
        (message,) = world.bot_messages(start.id)
        assert message.content == words
        assert STOP_CUSTOM_ID not in str(message.components) and INDICATOR not in message.content
