"""The environment variables the artefacts use are exactly the ones the code reads.

The code's set is collected from the pydantic-settings models (core, Slack, Discord).
``.env.example`` lists all of them; compose and the Kubernetes manifests use a subset, and
never a name the code would ignore (a typo there is a setting silently not applied).
"""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.manifests import (
    DEPLOY,
    EXAMPLES,
    KUSTOMIZATIONS,
    PENDING_ENV,
    code_env_names,
    containers,
    load_documents,
    render,
)

ENV_EXAMPLE = DEPLOY / ".env.example"
# `NAME=value` or, for a setting left at its default, `# NAME=value`.
VARIABLE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
SECRET = re.compile(r"(TOKEN|SECRET|API_KEY)$")
# Optional strings you fill in, for which blank means unset (like the secrets).
FILL_IN = {"LYZR_AGENT_ID"}


def _env_example() -> list[tuple[int, str, bool, str]]:
    """(line number, name, commented out, value) of each variable line."""
    found = []
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        match = VARIABLE.match(line)
        if match:
            found.append((number, match.group(2), bool(match.group(1)), match.group(3)))
    return found


def test_env_example_lists_exactly_the_variables_the_code_reads() -> None:
    names = [name for _, name, _, _ in _env_example()]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"listed twice: {twice}"
    expected = code_env_names() | set(PENDING_ENV)
    assert set(names) == expected, (
        f"missing: {sorted(expected - set(names))}; not read by the code: "
        f"{sorted(set(names) - expected)}"
    )


def test_every_variable_has_a_comment_and_secrets_are_blank() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, name, commented, value in _env_example():
        above = lines[number - 2].strip()
        assert above.startswith("#") and not VARIABLE.match(above), f"{name}: no comment above"
        if SECRET.search(name):
            assert value == "", f"{name}: a secret must be blank in the example"
        elif not commented and name not in FILL_IN:
            assert value, f"{name}: an empty value is not the default; comment the line out"


def test_compose_uses_only_variables_the_code_reads() -> None:
    (compose,) = load_documents(DEPLOY / "compose.yml")
    used: set[str] = set()
    for name, service in compose["services"].items():
        if name == "redis":
            continue
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        used |= set(environment)
    unknown = used - code_env_names() - set(PENDING_ENV)
    assert not unknown, f"compose sets variables the code never reads: {sorted(unknown)}"


def _kubernetes_env(documents: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for doc in documents:
        if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].startswith("threadcast"):
            names |= set(doc.get("data", {}))
        if doc.get("kind") == "Secret":
            names |= set(doc.get("stringData", {})) | set(doc.get("data", {}))
        for container in containers(doc):
            if container["image"].startswith("threadcast"):
                names |= {env["name"] for env in container.get("env", [])}
    return names


def test_kubernetes_uses_only_variables_the_code_reads() -> None:
    documents = [doc for path in KUSTOMIZATIONS for doc in render(path)]
    documents += [doc for path in sorted(EXAMPLES.glob("*.yaml")) for doc in load_documents(path)]
    used = _kubernetes_env(documents)
    assert {"REDIS_URL", "SLACK_BOT_TOKEN", "DISCORD_TOKEN", "DISCORD_SHARD_ID"} <= used
    unknown = used - code_env_names() - set(PENDING_ENV)
    assert not unknown, f"the manifests set variables the code never reads: {sorted(unknown)}"


def test_pending_names_are_really_pending() -> None:
    # A promised name the code now reads is an ordinary name: drop it from PENDING_ENV, so
    # the exactness checks above cover it fully again.
    landed = set(PENDING_ENV) & code_env_names()
    assert not landed, f"now read by the code, remove from PENDING_ENV: {sorted(landed)}"
