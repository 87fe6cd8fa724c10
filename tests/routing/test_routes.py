"""Route matching: the first route whose every given key matches wins; no match → the
default agent."""

from __future__ import annotations

from core.deployment.load import Deployment
from core.deployment.schema import AgentSpec, FileConfig, RouteSpec
from core.routing.routes import DEFAULT_ROUTE, RouteChoice, choose_route
from core.turn import ThreadRef, Turn

AGENTS = tuple(AgentSpec(name=n, backend="demo") for n in ("support", "eng", "dm", "other"))


def deployment(*routes: RouteSpec, default: str = "other") -> Deployment:
    return Deployment(FileConfig(agents=AGENTS, routes=routes), default)


def turn(
    platform: str = "slack",
    workspace: str = "T1",
    channel: str = "C1",
    *,
    parent: str | None = None,
    dm: bool = False,
) -> Turn:
    where = ThreadRef(platform, workspace, channel, "t")
    return Turn(where=where, user="U1", message_id="m", text="hi", is_dm=dm, parent=parent)


def test_first_match_wins_and_no_match_is_the_default_agent() -> None:
    config = deployment(
        RouteSpec(platform="slack", channel="C1", agent="support"),
        RouteSpec(platform="slack", agent="eng", name="all-slack"),
        RouteSpec(channel="C1", agent="other"),
    )
    assert choose_route(config, turn()) == RouteChoice("support", "routes[0]")
    assert choose_route(config, turn(channel="C2")) == RouteChoice("eng", "all-slack")
    assert choose_route(config, turn("discord", channel="C3")) == RouteChoice(
        "other", DEFAULT_ROUTE
    )


def test_every_given_key_must_match() -> None:
    config = deployment(RouteSpec(platform="discord", workspace="G1", channel="C1", agent="eng"))
    assert choose_route(config, turn("discord", "G1", "C1")).agent == "eng"
    assert choose_route(config, turn("discord", "G2", "C1")).agent == "other"
    assert choose_route(config, turn("slack", "G1", "C1")).agent == "other"


def test_a_discord_thread_matches_through_its_parent_channel() -> None:
    config = deployment(RouteSpec(platform="discord", channel="C1", agent="eng"))
    assert choose_route(config, turn("discord", "G1", "TH9", parent="C1")).agent == "eng"
    assert choose_route(config, turn("discord", "G1", "TH9", parent="C2")).agent == "other"


def test_dm_routes() -> None:
    config = deployment(
        RouteSpec(dm=True, agent="dm"), RouteSpec(dm=False, platform="slack", agent="eng")
    )
    assert choose_route(config, turn(dm=True)).agent == "dm"
    assert choose_route(config, turn()).agent == "eng"
    assert choose_route(config, turn("discord")).agent == "other"
