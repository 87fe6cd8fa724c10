"""One podman store per test run, shared by every xdist worker, each image built in it once.

The run's controller (the process without workers, or the only one) names the store's
directory and hands it to its workers (:func:`name_store`, :func:`share_store`); the first
worker to need an image builds it while the others wait on a file lock (:func:`once`), so
the container tests can run on any worker and the image is still built once. The controller
empties the store when the run ends (:func:`remove_store`): a worker cannot, as another may
still be using it.

The directory is short on purpose: with a ``runroot`` path of 51 characters or more, every
attached ``podman run`` (podman 4.3 with runc, measured) returns 20 s after its container
exited, and pytest's per-worker temporary directories are longer than that.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deploy.podman import Podman

__all__ = [
    "RUNROOT_LIMIT",
    "image_link",
    "image_links",
    "locked",
    "name_store",
    "once",
    "open_store",
    "redis_link",
    "remove_store",
    "share_store",
]

_WORKER_KEY = "threadcast_podman_store"
_STORE = pytest.StashKey[Path]()
RUNROOT_LIMIT = 50
"""The longest ``runroot`` path (characters) with which podman answers promptly."""


def name_store(config: pytest.Config) -> None:
    """In the controller: the directory this run's store will use (made when first used)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[_STORE] = Path(workerinput[_WORKER_KEY])
        return
    store = Path(tempfile.gettempdir()) / f"tc-podman-{uuid.uuid4().hex[:12]}"
    assert len(str(store / "run")) <= RUNROOT_LIMIT, (
        f"{store}: podman's runroot under it would be too long (see tests/deploy/store.py); "
        "set TMPDIR to a shorter directory"
    )
    config.stash[_STORE] = store


def share_store(config: pytest.Config, workerinput: dict[str, object]) -> None:
    """In the controller, for each worker it starts: the same store."""
    workerinput[_WORKER_KEY] = str(config.stash[_STORE])


def open_store(config: pytest.Config) -> Podman:
    """This run's store (each worker writes the same configuration, atomically). Its
    images include those of the read-only stores ``images`` and ``redis-images`` link to:
    at first an empty directory of its own, then the stores the image was built into and
    the Redis stand-in imported into (``tests/deploy/images.py``)."""
    state = config.stash[_STORE]
    links = image_links(state)
    for link in links:
        if not link.is_symlink():
            empty = state / "no-images"
            empty.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # another worker made it first
                link.symlink_to(empty)
    return Podman(state, image_stores=links)


def image_link(state: Path) -> Path:
    """The link, in a run's store, to the read-only store of its built images."""
    return state / "images"


def redis_link(state: Path) -> Path:
    """The link, in a run's store, to the read-only store of the Redis stand-in."""
    return state / "redis-images"


def image_links(state: Path) -> list[Path]:
    """Every read-only store a run's store reads images from."""
    return [image_link(state), redis_link(state)]


def once(podman: Podman, tag: str, make: Callable[[], None]) -> None:
    """``make()`` builds ``tag`` unless the store has it already. Workers asking for the same
    tag wait for the one building it: the lock is held while ``make()`` runs (every podman
    call in it bounded by a timeout) and released by the kernel if that worker dies."""
    with locked(podman.state / f"{re.sub(r'[^A-Za-z0-9.-]', '_', tag)}.lock"):
        if podman("image", "exists", tag, check=False).returncode != 0:
            make()


def remove_store(config: pytest.Config) -> None:
    """In the controller, once every worker is done: the store's containers, pods and images
    removed (and unmounted), then its directory."""
    if hasattr(config, "workerinput") or _STORE not in config.stash:
        return
    store = config.stash[_STORE]
    if store.exists():
        Podman(store, image_stores=image_links(store)).reset()
        shutil.rmtree(store, ignore_errors=True)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """``path`` locked for this process (waiting for any other holder), released by the
    kernel if the process dies."""
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
