"""Which agent answers: routes (first match wins) and the conversation's pinned agent."""

from __future__ import annotations

from core.routing.pins import AgentPins
from core.routing.routes import DEFAULT_ROUTE, RouteChoice, choose_route, route_matches

__all__ = ["DEFAULT_ROUTE", "AgentPins", "RouteChoice", "choose_route", "route_matches"]
