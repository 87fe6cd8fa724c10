"""Load the deployment artefacts for the tests: YAML documents, kustomize renders, env names.

The validators (PyYAML, kubernetes-validate, check-jsonschema's vendored compose schema)
are dev-only packages, imported through ``pytest.importorskip`` so that a checkout without
them skips with the package's name instead of failing to collect.

Kustomizations are rendered by ``kustomize build`` or ``kubectl kustomize`` when either is
on PATH; otherwise by :func:`render_plain`, which understands exactly what this repository
uses (``resources`` and ``namespace``) and refuses anything else, so that a patch added
later cannot be skipped silently.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

__all__ = [
    "DEPLOY",
    "EXAMPLES",
    "K8S",
    "KUSTOMIZATIONS",
    "PENDING_ENV",
    "REPO",
    "code_env_names",
    "containers",
    "env_names_of",
    "kustomize_command",
    "load_documents",
    "render",
    "render_plain",
    "yaml_module",
]

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
EXAMPLES = K8S / "examples"
# The two ways to apply: in-cluster Redis (the default) and an external Redis.
KUSTOMIZATIONS = (K8S, K8S / "external-redis")

# Names the artefacts use before the code reads them: each is promised by a work item.
# (test_env_names reports when one lands, so the entry can go.)
PENDING_ENV: dict[str, str] = {}

# Kinds without a namespace (the only cluster-scoped kind this repository ships).
_CLUSTER_SCOPED = {"Namespace"}
_PLAIN_KEYS = {"apiVersion", "kind", "namespace", "resources"}
_SETTINGS_MODULES = (
    ("core.config", "Settings"),
    ("bots.slack.settings", "SlackSettings"),
    ("bots.discord.settings", "DiscordSettings"),
)


def yaml_module() -> Any:
    return pytest.importorskip("yaml", reason="PyYAML is needed to read the deploy files")


def _load_all(text: str) -> list[Any]:
    """Every YAML document of ``text``, as ``yaml.safe_load_all`` reads them: with PyYAML's
    C parser when it was built with libyaml (the same loader's constructors, ~10x less CPU
    than its pure-Python parser, which costs the deploy tests seconds)."""
    yaml = yaml_module()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return list(yaml.load_all(text, Loader=loader))


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document of ``path`` (each must be a mapping)."""
    documents = [doc for doc in _load_all(path.read_text()) if doc is not None]
    for doc in documents:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping: {doc!r}"
    return documents


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(directory: Path) -> list[dict[str, Any]]:
    """The kustomization in ``directory`` rendered (by kustomize when installed)."""
    command = kustomize_command()
    if command is None:
        return render_plain(directory)
    documents = [doc for doc in _load_all(_kustomize(tuple(command), directory)) if doc is not None]
    return [doc for doc in documents if isinstance(doc, dict)]


@functools.cache
def _kustomize(command: tuple[str, ...], directory: Path) -> str:
    """The output of ``command directory``: run once a process, as the files do not change
    during a run (each call still parses its own copy of the documents)."""
    result = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} {directory}: {result.stderr}"
    return result.stdout


def render_plain(directory: Path) -> list[dict[str, Any]]:
    """Render a kustomization that only lists ``resources`` and sets ``namespace``."""
    kustomization = load_documents(directory / "kustomization.yaml")[0]
    unsupported = set(kustomization) - _PLAIN_KEYS
    assert not unsupported, (
        f"{directory}/kustomization.yaml uses {sorted(unsupported)}: render_plain handles only "
        f"{sorted(_PLAIN_KEYS)}; keep patches out of the base or install kustomize/kubectl"
    )
    documents: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        documents.extend(render_plain(path) if path.is_dir() else load_documents(path))
    namespace = kustomization.get("namespace")
    if namespace:
        for doc in documents:
            if doc.get("kind") not in _CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = namespace
    return documents


def env_names_of(model: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings model reads (its validation aliases)."""
    prefix = str(model.model_config.get("env_prefix") or "")
    names: set[str] = set()
    for field, info in model.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            choices = [c for c in alias.choices if isinstance(c, str)]
            assert len(choices) == len(alias.choices), f"{model.__name__}.{field}: path alias"
            names.update(choices)
        elif isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasPath):
            raise AssertionError(f"{model.__name__}.{field}: path alias")
        else:
            names.add(f"{prefix}{info.alias or field}")
    return {name.upper() for name in names}


def code_env_names() -> set[str]:
    """Every variable the code reads: core, Slack and Discord settings (skip if one is absent)."""
    import importlib

    names: set[str] = set()
    for module_name, class_name in _SETTINGS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                pytest.skip(f"{module_name} does not exist yet: its variables cannot be checked")
            raise
        names |= env_names_of(getattr(module, class_name))
    return names


def containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers of a workload's pod template (none for other kinds)."""
    spec = document.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]
