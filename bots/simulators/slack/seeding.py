"""Every workspace starts the same, so tests and benchmarks can rely on a few known names.

Workspace ``n`` has team ``T{n:04d}SIM`` with the app's bot user (``U{n:04d}BOT`` /
``B{n:04d}BOT``), two people (alice, bob), another app's bot ("helper"), the public
channels #general and #random, and a DM between alice and the bot.
"""

from __future__ import annotations

from bots.simulators.slack.config import DEFAULT_SCOPES, AppIdentity
from bots.simulators.slack.model import User, Workspace
from bots.simulators.slack.store import Store

__all__ = ["seed_workspace"]


def seed_workspace(store: Store, app: AppIdentity, name: str | None = None) -> Workspace:
    n = len(store.workspaces) + 1
    tag = f"{n:04d}"
    ws = Workspace(
        team_id=f"T{tag}SIM",
        name=name or f"Sim Team {n}",
        domain=f"sim-team-{n}",
        bot_token=f"xoxb-{tag}-sim-bot-token",
        bot_user_id=f"U{tag}BOT",
        bot_id=f"B{tag}BOT",
        alice=f"U{tag}ALICE",
        bob=f"U{tag}BOB",
        helper_bot_user=f"U{tag}HELPER",
        helper_bot_id=f"B{tag}HELPER",
        general=f"C{tag}GENERAL",
        random=f"C{tag}RANDOM",
        alice_dm=f"D{tag}ALICE",
        scopes=set(DEFAULT_SCOPES),
    )
    store.add_workspace(ws)
    store.add_user(User(ws.bot_user_id, ws.team_id, app.bot_name, "threadcast", True, ws.bot_id))
    store.add_user(User(ws.alice, ws.team_id, "alice", "Alice Example"))
    store.add_user(User(ws.bob, ws.team_id, "bob", "Bob Example"))
    store.add_user(
        User(ws.helper_bot_user, ws.team_id, "helper", "Helper Bot", True, ws.helper_bot_id)
    )
    store.add_channel(ws.team_id, ws.general, "general", "public", None)
    store.add_channel(ws.team_id, ws.random, "random", "public", None)
    store.add_channel(ws.team_id, ws.alice_dm, ws.alice_dm, "im", ws.alice)
    return ws
