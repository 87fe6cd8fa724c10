"""What the xdist workers' fork server (``tests/zygote.py``, profile ``workers``) imports
before forking them, so that a worker starts with it imported: pytest's built-in plugins,
the installed pytest plugins, the whole project, and the test modules with what they
import (~1.5 s of CPU a worker otherwise spends importing them).

The plugins' packages (and anyio's, a plugin's) and the test modules (with the conftests
they import) are imported through pytest's assertion-rewriting import hook, as a fresh
worker's pytest imports them: so their asserts are rewritten exactly as they would be (the
same rewritten bytecode, cached in ``__pycache__``), and the worker's pytest, finding that
hook's loader on the plugins, does not warn that they were imported before it could
rewrite them. A worker's collection then finds each test module imported (pytest's
``prepend`` import mode imports it by its module name, as here) and goes on to build its
items.

Import-time warnings are recorded here and raised again in each forked worker while it
collects (:func:`reraise_warnings`, ``tests/conftest.py``), where a fresh worker would have
raised them, so the run's warnings summary still shows them. A test module that fails to
import is left to the worker, which reports the error as it would.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

_ROOT = Path(__file__).parents[1]
# What a worker imports besides the project and the test modules before its first test
# (measured with ``python -X importtime``): execnet's and xdist's remote sides.
_MODULES = ("execnet", "xdist.remote")
_raised: list[warnings.WarningMessage] = []


def preload(first: Callable[[], None]) -> None:
    """Import everything (in the fork server, before its first fork): ``first``, then the
    rest."""
    from importlib.metadata import entry_points

    from _pytest.assertion import install_importhook
    from _pytest.config import get_config
    from _pytest.outcomes import OutcomeException

    config = get_config()  # (its built-in plugins imported)
    hook = install_importhook(config)
    config._mark_plugins_for_rewrite(hook, disable_autoload=False)
    try:
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always")
            first()
            for entry in entry_points(group="pytest11"):
                entry.load()
            for name in (*_MODULES, *_project_modules()):
                importlib.import_module(name)
            for name in _test_modules():
                # One that fails (a module-level skip too) is left for the worker to
                # import and report.
                with contextlib.suppress(Exception, OutcomeException):
                    importlib.import_module(name)
    finally:
        sys.meta_path.remove(hook)
    _raised.extend(raised)


def reraise_warnings() -> None:
    """In a forked worker, while it collects: the warnings the server's imports raised."""
    raised, _raised[:] = list(_raised), []
    for w in raised:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _project_modules() -> list[str]:
    """Every module of the project's packages (a worker imports nearly all of them)."""
    return [_name(path) for package in ("core", "adapters", "bots") for path in _files(package)]


def _test_modules() -> list[str]:
    """The test modules of ``tests`` (its packages, not ``tests/bench``)."""
    return [
        _name(path)
        for path in _files("tests")
        if path.name.startswith("test_") and (path.parent / "__init__.py").exists()
    ]


def _files(package: str) -> list[Path]:
    return sorted((_ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
