"""deploy/Dockerfile, read statically (no Docker engine here; hadolint is not installable)."""

from __future__ import annotations

import fnmatch
import re

import pytest

from tests.deploy.dockerfile import Stage, parse_dockerfile, stages
from tests.deploy.manifests import DEPLOY, PENDING_ENV, REPO, code_env_names

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"  # the build context is the repository root
# Variables for the tools in the image, not read by threadcast's settings.
TOOL_ENV = re.compile(r"^(PATH|PYTHON[A-Z_]*|UV_[A-Z_]*)$")


@pytest.fixture(scope="module")
def parsed() -> tuple[dict[str, str], list[Stage]]:
    preamble, found = stages(parse_dockerfile(DOCKERFILE))
    global_args = {}
    for instruction in preamble:
        assert instruction.keyword == "ARG", f"only ARG may precede FROM: {instruction}"
        name, _, default = instruction.args[0].partition("=")
        global_args[name] = default
    return global_args, found


def _expand(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


# The Debian release is pinned: the bare ``python:3.11-slim`` tag moved from bookworm to
# trixie (August 2025) under every rebuild. Bookworm is what tests/deploy builds on (its
# stand-in is Debian's own Python 3.11, which only bookworm ships).
BASE_IMAGE = "python:3.11-slim-bookworm"


def test_multi_stage_on_python_311_slim(parsed: tuple[dict[str, str], list[Stage]]) -> None:
    global_args, found = parsed
    assert len(found) >= 2, "a builder stage and a runtime stage"
    assert all(stage.name for stage in found), "every stage is named (FROM ... AS name)"
    earlier: set[str | None] = set()
    for stage in found:
        base = _expand(stage.base, global_args)
        assert base == BASE_IMAGE or base in earlier, stage.base
        earlier.add(stage.name)
    # The runtime stage starts afresh: nothing of a builder's tools ships.
    assert _expand(found[-1].base, global_args) == BASE_IMAGE


def test_builder_installs_uv_from_pypi_and_syncs_the_frozen_lock(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = parsed
    builder = found[0]
    runs = [i.text for i in builder.all("RUN")]
    assert any(re.search(r"pip install .*\buv\b", run) for run in runs), runs
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs, "the builder installs with uv sync"
    for sync in syncs:
        assert "--frozen" in sync, f"installs exactly uv.lock: {sync}"
        # Not --no-dev alone: the default groups also hold the embedded Redis.
        assert "--no-default-groups" in sync, f"no test tools, no embedded Redis: {sync}"
    copied = {src for i in builder.all("COPY") for src in i.args[:-1]}
    assert {"pyproject.toml", "uv.lock"} <= copied


def test_runtime_stage_runs_threadcast_as_a_non_root_user(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = parsed
    runtime = found[-1]
    users = runtime.all("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].args[0].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "a numeric uid, so Kubernetes can check runAsNonRoot"
    (entrypoint,) = runtime.all("ENTRYPOINT")
    assert entrypoint.exec_form and entrypoint.args == ["threadcast"]
    (command,) = runtime.all("CMD")
    assert command.exec_form and command.args == ["slack"]
    assert [i.args for i in runtime.all("EXPOSE")] == [["3000"]]
    sources = {i.flags.get("from") for i in runtime.all("COPY")}
    assert sources <= {s.name for s in found[:-1]}, "the runtime copies only from the builder"


def test_a_change_to_the_source_rebuilds_only_the_runtime_stage_s_last_layer(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = parsed
    by_name = {stage.name: stage for stage in found}
    builder, runtime = found[0], found[-1]
    copied = {src for i in builder.all("COPY") for src in i.args[:-1]}
    assert not copied & {"core", "adapters", "bots"}, "the dependencies' venv has no source"
    assert any("--no-install-project" in i.text for i in builder.all("RUN"))
    layers = [i for i in runtime.instructions if i.keyword in {"ADD", "COPY", "RUN"}]
    project = by_name[layers[-1].flags.get("from")]
    sources = {src for i in project.all("COPY") for src in i.args[:-1]}
    assert {"core", "adapters", "bots"} <= sources, "the last layer is the project's"
    for copy in layers[:-1]:
        assert copy.flags.get("from") in {None, builder.name}, copy
    installs = [i.text for i in project.all("RUN") if "install" in i.text]
    assert installs and all("--no-deps" in i for i in installs), "its dependencies: uv.lock's"


def test_healthcheck_probes_healthz_on_port_with_python(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = parsed
    (check,) = found[-1].all("HEALTHCHECK")
    assert check.args[0] == "CMD"
    assert "python" in check.args, "no curl in the slim image"
    assert "127.0.0.1" in check.text and "/healthz" in check.text
    assert "PORT" in check.text, "the probe follows PORT"
    assert {"interval", "timeout", "retries"} <= set(check.flags)


def test_copy_sources_exist_and_are_not_dockerignored(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = parsed
    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in found:
        for copy in stage.all("COPY"):
            if "from" in copy.flags:
                continue
            for source in copy.args[:-1]:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
                hits = [p for p in ignored if fnmatch.fnmatch(source, p.lstrip("/"))]
                assert not hits, f"COPY {source} is excluded by .dockerignore {hits}"


def test_dockerignore_keeps_the_venv_and_env_files_out() -> None:
    patterns = set(DOCKERIGNORE.read_text().split())
    assert {".venv", ".git", ".env"} <= patterns


def test_env_set_in_the_image_is_read_by_the_code(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    _, found = parsed
    names = {
        arg.partition("=")[0] for stage in found for env in stage.all("ENV") for arg in env.args
    }
    unknown = {n for n in names if not TOOL_ENV.match(n)} - code_env_names() - set(PENDING_ENV)
    assert not unknown, f"ENV the code never reads: {sorted(unknown)}"


def test_no_syntax_directive_that_would_fetch_a_frontend_image() -> None:
    # BuildKit pulls the image a `# syntax=` line names; no registry is reachable everywhere.
    first = DOCKERFILE.read_text().lstrip().splitlines()[0]
    assert not re.match(r"#\s*syntax\s*=", first, re.IGNORECASE), first


def test_the_user_is_created_without_a_uid_range_warning(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    # useradd/groupadd --system want ids below SYS_UID_MAX (999) and warn about 10001.
    _, found = parsed
    runs = " ".join(i.text for i in found[-1].all("RUN"))
    assert "useradd" in runs and "--uid 10001" in runs
    assert "--system" not in runs and " -r " not in runs
