"""deploy/compose.yml against the Compose Specification's JSON schema, offline.

The schema is the copy vendored in the check-jsonschema wheel (``compose-spec.json``).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from tests.deploy.manifests import DEPLOY, load_documents

COMPOSE = DEPLOY / "compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    (document,) = load_documents(COMPOSE)
    return document


def test_compose_file_validates_against_the_compose_spec(compose: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("check_jsonschema", reason="ships the compose-spec schema offline")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_schema_check_catches_a_mistake(compose: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("check_jsonschema")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["redis"]["restart_policy"] = "always"  # not a compose key
    assert not jsonschema.validators.validator_for(schema)(schema).is_valid(broken)


def test_redis_persists_with_aof_on_a_volume(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:")
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    volume = redis["volumes"][0].split(":")
    assert volume[1] == "/data" and volume[0] in compose["volumes"]


def test_redis_is_healthy_once_its_data_is_loaded(compose: dict[str, Any]) -> None:
    """The bots start on service_healthy. While Redis loads its AOF, PING answers
    "LOADING ..." and plain ``redis-cli ping`` still exits 0; ``-e`` makes it exit 1."""
    assert compose["services"]["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "-e", "ping"]


@pytest.mark.parametrize("bot", ["slack", "discord"])
def test_bots_share_one_image_and_wait_for_a_healthy_redis(
    compose: dict[str, Any], bot: str
) -> None:
    service = compose["services"][bot]
    assert service["command"] == [bot]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert service["env_file"] == ".env"
    assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert service["restart"] in {"unless-stopped", "always", "on-failure"}
    assert "/healthz" in " ".join(service["healthcheck"]["test"])
    assert service["profiles"] == [bot], "start only the platforms you have tokens for"
    images = {compose["services"][b]["image"] for b in ("slack", "discord")}
    assert len(images) == 1, "one image for every bot"


def test_stop_grace_outlasts_the_shutdown_grace(compose: dict[str, Any]) -> None:
    """THREADCAST_SHUTDOWN_GRACE's default, then the wait for the interrupted replies to
    finalise (TurnTasks.finalise_timeout), then a few seconds to exit, before SIGKILL."""
    from core.config import Settings
    from core.ops.tasks import TurnTasks

    needed = Settings.model_fields["shutdown_grace"].default + TurnTasks().finalise_timeout
    for bot in ("slack", "discord"):
        grace = compose["services"][bot]["stop_grace_period"]
        assert grace.endswith("s") and int(grace[:-1]) >= needed + 5, (bot, grace)


def test_slack_publishes_its_port(compose: dict[str, Any]) -> None:
    slack = compose["services"]["slack"]
    (mapping,) = slack["ports"]
    assert mapping.endswith(f":{slack['environment']['PORT']}")
