"""Every access rule, pure: who is refused, and why (the first rule that refuses)."""

from __future__ import annotations

import pytest

from core.deployment.schema import AccessSpec, IdRule
from core.governance.access import admit
from core.turn import ThreadRef, Turn


def turn(
    *,
    platform: str = "discord",
    workspace: str = "G1",
    channel: str = "C1",
    user: str = "U1",
    dm: bool = False,
    parent: str | None = None,
    roles: tuple[str, ...] = (),
) -> Turn:
    where = ThreadRef(platform, workspace, channel, None)
    return Turn(
        where=where, user=user, message_id="m", text="hi", is_dm=dm, parent=parent, roles=roles
    )


@pytest.mark.parametrize(
    ("access", "message", "reason"),
    [
        (AccessSpec(users=IdRule(deny=("U1",))), turn(), "user"),
        (AccessSpec(users=IdRule(allow=("U2",))), turn(), "user"),
        (AccessSpec(channels=IdRule(deny=("C1",))), turn(), "channel"),
        (AccessSpec(channels=IdRule(allow=("C2",))), turn(), "channel"),
        (AccessSpec(channels=IdRule(allow=("C2",))), turn(channel="TH", parent="C1"), "channel"),
        (AccessSpec(workspaces=IdRule(deny=("G1",))), turn(), "workspace"),
        (AccessSpec(workspaces=IdRule(allow=("G2",))), turn(), "workspace"),
        (AccessSpec(workspaces=IdRule(allow=("T2",))), turn(platform="slack", dm=True),
         "workspace"),
        (AccessSpec(roles=IdRule(allow=("R1",))), turn(roles=("R2",)), "role"),
        (AccessSpec(roles=IdRule(deny=("R2",))), turn(roles=("R1", "R2")), "role"),
        (AccessSpec(dms=False), turn(workspace="dm", dm=True), "dm"),
        (AccessSpec(dms=False), turn(platform="slack", workspace="T1", dm=True), "dm"),
    ],
)  # fmt: skip
def test_each_rule_refuses_with_its_reason(access: AccessSpec, message: Turn, reason: str) -> None:
    decision = admit(access, message)
    assert not decision.allowed and decision.reason == reason


@pytest.mark.parametrize(
    ("access", "message"),
    [
        (AccessSpec(), turn()),
        (AccessSpec(users=IdRule(allow=("U1",))), turn()),
        (AccessSpec(channels=IdRule(allow=("C1",))), turn(channel="TH", parent="C1")),
        # DMs are governed by dms and users: no channel, server or role there.
        (AccessSpec(channels=IdRule(allow=("C9",))), turn(workspace="dm", dm=True)),
        (AccessSpec(workspaces=IdRule(allow=("G9",))), turn(workspace="dm", dm=True)),
        (AccessSpec(roles=IdRule(allow=("R9",))), turn(workspace="dm", dm=True)),
        # Roles are Discord's: a Slack message is not refused for having none.
        (AccessSpec(roles=IdRule(allow=("R9",))), turn(platform="slack", workspace="T1")),
        (AccessSpec(roles=IdRule(allow=("R1",))), turn(roles=("R0", "R1"))),
    ],
)  # fmt: skip
def test_allowed(access: AccessSpec, message: Turn) -> None:
    assert admit(access, message).allowed


def test_admins_are_marked_but_not_exempt_from_access_rules() -> None:
    access = AccessSpec(admins=("U1",), channels=IdRule(deny=("C1",)))
    assert admit(access, turn(channel="C2")).admin
    refused = admit(access, turn())
    assert refused.admin and not refused.allowed and refused.reason == "channel"
