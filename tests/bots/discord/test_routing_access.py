"""Issue 13 on Discord, end to end (the real discord.py bot against the simulator, real
Redis, two local Lyzr servers): routes by channel to two agents, a conversation (a thread)
keeps its agent after the routes change, every access rule refuses without calling an
agent, opening a thread or saying anything in the channel, and tells the user once by
DM; Stop is the asker's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from string import Template

import pytest

from bots.discord import DiscordBot
from bots.discord.texts import NEW_DONE
from bots.simulators.discord import DiscordSimulator
from core.runtime import Runtime
from core.texts import DENIED, NOT_YOURS_TO_RESET, NOT_YOURS_TO_STOP
from tests.bots.discord.conftest import bot_settings, sim_settings
from tests.deployment.files import KEYS, refused, route, two_agents, write
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import PATIENCE

EPHEMERAL = 1 << 6
STOP_ID = "threadcast:stop"


class Running:
    """The simulator, two agents' servers, the bot and its runtime."""

    def __init__(
        self, sim: DiscordSimulator, support: LyzrServer, eng: LyzrServer, runtime: Runtime,
        bot: DiscordBot, path: Path,
    ) -> None:  # fmt: skip
        self.sim, self.support, self.eng = sim, support, eng
        self.runtime, self.bot, self.path = runtime, bot, path

    def messages_to(self, server: LyzrServer) -> list[str]:
        return [r.json["message"] for r in server.stream_requests()]

    def bot_messages(self, channel_id: int) -> list[str]:
        return [
            m.content
            for m in self.sim.channel_messages(channel_id)
            if m.author.id == self.sim.bot.id
        ]

    async def idle(self, until: Callable[[], bool]) -> None:
        """Wait until ``until()`` holds (it may read state the simulator does not see change,
        such as a refusal counted in this process), then for the bot's tasks."""
        # The suite's patience, not 10 s: a reply on a loaded machine (a full run on two
        # cores) took longer, once.
        async with asyncio.timeout(PATIENCE):
            while not until():  # noqa: ASYNC110 - polling the bot's state
                await asyncio.sleep(0.01)
            await self.bot.tasks.idle()


Start = Callable[..., contextlib.AbstractAsyncContextManager[Running]]


@pytest.fixture
def start(redis_url: str, namespace: str, tmp_path: Path) -> Start:
    @contextlib.asynccontextmanager
    async def begin(
        extra: str, *, prepare: Callable[[DiscordSimulator], str] | None = None
    ) -> AsyncIterator[Running]:
        async with (
            DiscordSimulator() as sim,
            LyzrServer(api_key=KEYS["SUPPORT_KEY"]) as support,
            LyzrServer(api_key=KEYS["ENG_KEY"]) as eng,
        ):
            # Roles exist before the bot connects: the guild lists them in GUILD_CREATE.
            text = prepare(sim) if prepare is not None else ""
            path = write(tmp_path / "threadcast.toml", two_agents(support, eng) + extra + text)
            settings = bot_settings(redis_url, support, shutdown_grace=0.0, config_file=path)
            async with Runtime(settings, environ=KEYS, namespace=namespace) as runtime:
                options = sim_settings(sim)
                async with DiscordBot(runtime, options, guild_ready_timeout=0.05) as bot:
                    yield Running(sim, support, eng, runtime, bot, path)

    return begin


async def test_routes_by_channel_and_a_thread_keeps_its_agent(start: Start) -> None:
    async with start("") as d:
        sim = d.sim
        general, random = sim.channel("general").id, sim.channel("random").id
        routes = route("support", platform="discord", channel=str(general))
        write(d.path, two_agents(d.support, d.eng) + routes + route("eng", channel=str(random)))
        assert await d.runtime.deployment.reload()
        one = await sim.user_message(general, "printer broken", mention_bot=True)
        two = await sim.user_message(random, "review my code", mention_bot=True)
        await d.idle(lambda: bool(d.bot_messages(one.id)) and bool(d.bot_messages(two.id)))
        assert d.messages_to(d.support) == ["printer broken"]  # its thread, via its parent
        assert d.messages_to(d.eng) == ["review my code"]

        # #general now goes to eng; the thread opened there keeps support, until /new.
        write(d.path, two_agents(d.support, d.eng) + route("eng"))
        assert await d.runtime.deployment.reload()
        await sim.user_message(one.id, "still there?", mention_bot=True)
        three = await sim.user_message(general, "new question", mention_bot=True)
        await d.idle(lambda: len(d.bot_messages(one.id)) == 2 and bool(d.bot_messages(three.id)))
        assert d.messages_to(d.support) == ["printer broken", "still there?"]
        assert d.messages_to(d.eng) == ["review my code", "new question"]
        renewed = await sim.slash_command("new", channel_id=one.id)

        def reset_done() -> bool:  # acknowledged first, answered once Redis did the reset
            answer = sim.original_response(renewed)
            return answer is not None and answer.content == NEW_DONE

        await sim.wait_until(reset_done)
        await sim.user_message(one.id, "and now?", mention_bot=True)
        await d.idle(lambda: len(d.eng.stream_requests()) == 3)
        # The fresh session (another agent) is given the thread so far (issue 12).
        assert d.messages_to(d.eng)[-1].startswith("[Thread context: earlier messages")
        assert d.messages_to(d.eng)[-1].endswith("\n\nand now?")
        assert d.messages_to(d.support) == ["printer broken", "still there?"]


RULES: list[tuple[str, str, str]] = [
    # (a line of [access], the reason, where alice writes: a channel or her DM)
    ('users = { deny = ["$alice"] }', "user", "general"),
    ('users = { allow = ["$bob"] }', "user", "dm"),
    ('channels = { allow = ["$random"] }', "channel", "general"),
    ('channels = { deny = ["$general"] }', "channel", "general"),
    ('workspaces = { deny = ["$guild"] }', "workspace", "general"),
    ('roles = { allow = ["$staff"] }', "role", "general"),
    ('roles = { deny = ["$muted"] }', "role", "general"),
    ("dms = false", "dm", "dm"),
]


def _access(sim: DiscordSimulator, rule: str) -> str:
    """``[access]`` with ``rule``'s ids filled in; gives Alice the role ``muted`` and Bob
    the role ``staff`` (before the bot connects: the guild lists roles in GUILD_CREATE)."""
    staff, muted = sim.world.roles.add("staff"), sim.world.roles.add("muted")
    sim.world.roles.give(sim.user("alice").id, muted)
    sim.world.roles.give(sim.user("bob").id, staff)
    ids = {"alice": sim.user("alice").id, "bob": sim.user("bob").id,
           "general": sim.channel("general").id, "random": sim.channel("random").id,
           "guild": sim.world.guild_id, "staff": staff, "muted": muted}  # fmt: skip
    return "\n[access]\n" + Template(rule).substitute(ids) + "\n"


@pytest.mark.parametrize(("rule", "reason", "where"), RULES)
async def test_each_access_rule_refuses_without_the_agent_and_tells_once_by_dm(
    start: Start, rule: str, reason: str, where: str
) -> None:
    def prepare(sim: DiscordSimulator) -> str:
        return _access(sim, rule)

    async with start("", prepare=prepare) as d:
        sim = d.sim
        alice = sim.user("alice")
        dm = sim.world.dm_channel(alice.id)
        general = sim.channel("general").id
        before = refused(reason)
        if where == "dm":
            await sim.dm_message("hello")
        else:
            await sim.user_message(general, "hello", mention_bot=True)
        await d.idle(lambda: refused(reason) == before + 1 and bool(d.bot_messages(dm.id)))
        if where == "dm":
            await sim.dm_message("again")
        else:
            await sim.user_message(general, "again", mention_bot=True)
        await d.idle(lambda: refused(reason) == before + 2)
        assert d.support.stream_requests() == [] and d.eng.stream_requests() == []
        assert d.bot_messages(dm.id) == [DENIED[reason]]  # once, privately
        assert sim.threads() == []  # no thread opened
        assert d.bot_messages(general) == []  # nothing said in the channel
        # Bob (allowed everywhere a rule names him) is answered where Alice was refused.
        if reason in ("user", "role") and where == "general":
            asked = await sim.user_message(general, "hello", mention_bot=True, author="bob")
            await d.idle(lambda: bool(d.bot_messages(asked.id)))
            assert d.messages_to(d.support) == ["hello"]


async def test_only_the_asker_stops_and_resets(start: Start) -> None:
    async with start("") as d:
        sim = d.sim
        tokens = split_words(" ".join(f"w{n}" for n in range(80)))
        # The stream holds after a few words until it is stopped: it used to run 8 s and
        # end by itself, and on a loaded machine it could end before Alice's Stop.
        d.support.enqueue(LyzrScript(tokens=tokens, delay=0.05, hold_after=10))
        asked = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
        await sim.wait_until(lambda: any(m.components for m in sim.channel_messages(asked.id)))
        (streaming,) = [m for m in sim.channel_messages(asked.id) if m.components]
        by_bob = await sim.click_button(streaming.id, STOP_ID, user="bob")
        await sim.wait_until(lambda: bool(private_answers(sim, asked.id, by_bob.id)))
        assert private_answers(sim, asked.id, by_bob.id) == [NOT_YOURS_TO_STOP]
        assert not d.support.streams[0].disconnected  # still streaming
        by_alice = await sim.click_button(streaming.id, STOP_ID, user="alice")
        await d.idle(lambda: by_alice.acknowledged and not streaming.components)
        assert d.support.streams[0].disconnected
        reset = await sim.slash_command("new", channel_id=asked.id, user="bob")
        await sim.wait_until(lambda: bool(private_answers(sim, asked.id, reset.id)))
        assert private_answers(sim, asked.id, reset.id) == [NOT_YOURS_TO_RESET]
        public = [m for m in sim.channel_messages(asked.id) if m.interaction_id == reset.id]
        assert all(m.flags & EPHEMERAL for m in public)  # the "thinking" message is gone


def private_answers(sim: DiscordSimulator, channel_id: int, interaction_id: int) -> list[str]:
    """What the bot told only the user of one interaction, in a channel."""
    return [
        m.content
        for m in sim.channel_messages(channel_id)
        if m.interaction_id == interaction_id and m.flags & EPHEMERAL and m.content
    ]


async def test_a_refused_users_chatter_in_the_bots_thread_is_not_refused(start: Start) -> None:
    """Without the MESSAGE_CONTENT intent, a message in the bot's thread that does not
    mention it arrives blank: nothing says it was meant for the bot, so a user the rules
    refuse is not told so by DM (nor counted refused) for talking to the others there."""

    def prepare(sim: DiscordSimulator) -> str:
        return _access(sim, 'users = { deny = ["$alice"] }')

    async with start("", prepare=prepare) as d:
        sim = d.sim
        asked = await sim.user_message(
            sim.channel("general").id, "hello", mention_bot=True, author="bob"
        )
        await d.idle(lambda: bool(d.bot_messages(asked.id)))
        before = refused("user")
        await sim.user_message(asked.id, "bob, did it work?", author="alice")
        # Bob's next question is answered after Alice's message has been handled.
        await sim.user_message(asked.id, "and now?", mention_bot=True, author="bob")
        await d.idle(lambda: len(d.bot_messages(asked.id)) == 2)
        assert refused("user") == before
        assert d.bot_messages(sim.world.dm_channel(sim.user("alice").id).id) == []
