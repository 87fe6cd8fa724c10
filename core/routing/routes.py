"""Which agent answers a conversation's first message: the first route that matches.

Pure: no I/O. A route matches when every key it gives matches the turn (platform,
workspace, channel, DM or not); a route that gives none matches everything. No route
matching → the default agent, under the route name ``default``. A conversation keeps the
agent chosen here until ``new`` (:mod:`core.routing.pins`), whatever the routes become.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.deployment.load import Deployment
from core.deployment.schema import RouteSpec
from core.turn import Turn

__all__ = ["DEFAULT_ROUTE", "RouteChoice", "choose_route", "route_matches"]

DEFAULT_ROUTE = "default"


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The agent that answers, and the route (its name) that chose it."""

    agent: str
    route: str


def choose_route(deployment: Deployment, turn: Turn) -> RouteChoice:
    for index, route in enumerate(deployment.config.routes):
        if route_matches(route, turn):
            return RouteChoice(route.agent, route.name or f"routes[{index}]")
    return RouteChoice(deployment.default_agent, DEFAULT_ROUTE)


def route_matches(route: RouteSpec, turn: Turn) -> bool:
    where = turn.where
    if route.platform is not None and route.platform != where.platform:
        return False
    if route.workspace is not None and route.workspace != where.workspace:
        return False
    # A Discord thread is a channel of its own: it matches its id or its parent's.
    if route.channel is not None and route.channel not in (where.channel, turn.parent):
        return False
    return route.dm is None or route.dm == turn.is_dm
