"""Edit mode's default rendering (``SLACK_RENDER=markdown``): the agent's Markdown in a
``markdown`` block that Slack renders, mentions defused, mrkdwn for the notification text
and as the fallback when Slack refuses the block."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import STOP_ACTION_ID
from adapters.slack.config import SurfaceConfig
from bots.simulators.slack import RateRule, SlackSimulator
from bots.simulators.slack.blocks import find_action
from tests.adapters.slack.conftest import SurfaceFactory, ViewFactory, replies, shown, thread_of

TABLE = "| City | People |\n| --- | --- |\n| Lyon | 522k |"


def test_pages_fit_one_markdown_block() -> None:
    assert SurfaceConfig().render == "markdown"
    assert SurfaceConfig(max_message_chars=30_000).limits().max_message_chars == 12_000
    mrkdwn = SurfaceConfig(render="mrkdwn", max_message_chars=30_000)
    assert mrkdwn.limits().max_message_chars == 30_000


async def test_reply_is_a_markdown_block_with_a_mrkdwn_notification(
    sim: SlackSimulator, make_surface: SurfaceFactory
) -> None:
    surface = await make_surface()
    where = thread_of(sim)
    markdown = f"## Cities <!channel>\n\n{TABLE}\n\n```py\nprint(1)\n```\n**done** <@U0BOSS>"
    text = surface.render(markdown)
    assert "<!channel>" not in text and "<@U0BOSS>" not in text  # defused, still Markdown
    assert text.startswith("## Cities") and TABLE in text and "**done**" in text

    ref = await surface.post(where, text + " ▍", streaming=True)
    message = shown(sim, ref)
    assert message.blocks is not None
    assert message.blocks[0] == {"type": "markdown", "text": text + " ▍"}
    assert find_action(message.blocks, STOP_ACTION_ID) is not None
    assert "*done*" in message.text and "**done**" not in message.text  # mrkdwn

    await surface.edit(ref, text, final=True)
    assert message.blocks == [{"type": "markdown", "text": text}]  # the button went
    assert "<!channel>" not in message.text and "*done*" in message.text


async def test_a_refused_block_falls_back_to_mrkdwn_text(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    surface = await make_view()
    where = thread_of(sim)
    ref = await surface.post(where, surface.render("**first** ▍"), streaming=True)
    sim.fail_next("chat.update", "invalid_blocks")
    await surface.edit(ref, surface.render("**first** [link](https://e.com)"), final=True)
    message = shown(sim, ref)
    assert message.blocks is None
    assert message.text == "*first* <https://e.com|link>"
    await surface.post(where, surface.render("**next** post"))  # the reply stays plain
    assert replies(sim, where)[-1].text == "*next* post"


async def test_simulator_enforces_the_markdown_block_limits(sim: SlackSimulator) -> None:
    # A payload past the limit is refused whole (msg_blocks_too_long: the relay then cuts
    # smaller pages, see adapters.slack.errors).
    client = AsyncWebClient(token=sim.workspace.bot_token, base_url=sim.api_url)
    channel = sim.workspace.general
    sim.set_rate_limit("chat.postMessage", RateRule(per_minute=6_000, burst=10))

    async def error_of(blocks: list[dict[str, Any]]) -> str | None:
        try:
            await client.chat_postMessage(channel=channel, text="t", blocks=blocks)
        except SlackApiError as exc:
            return str(exc.response["error"])
        return None

    # The 12,000 characters are cumulative over every markdown block of the payload.
    assert await error_of([{"type": "markdown", "text": "a" * 12_000}]) is None
    halves = [{"type": "markdown", "text": "a" * 6_001}] * 2
    assert await error_of(halves) == "msg_blocks_too_long"
    assert await error_of([{"type": "markdown", "text": ""}]) == "invalid_blocks"
    posted = await client.chat_postMessage(
        channel=channel, text="t", blocks=[{"type": "markdown", "text": "x", "block_id": "b1"}]
    )
    message = sim.message(channel, posted["ts"])
    assert message is not None and message.blocks == [{"type": "markdown", "text": "x"}]
