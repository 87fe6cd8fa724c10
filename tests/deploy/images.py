"""The images the container tests run, each built once per run in the shared store, and
built ahead: as soon as a worker has collected tests that need them, a thread of its own
starts building them while the worker runs other tests (``tests/conftest.py`` also spreads
the container tests through the run), so no worker sits waiting for a build that could have
been done.

Every worker starts that thread; the first to take an image's lock builds it, the others
find it built (:func:`tests.deploy.store.once`). A build that fails ahead is not reported
there: the fixture asking for the image builds it again and fails with podman's output.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import pytest

from tests.deploy.manifests import DEPLOY, REPO
from tests.deploy.podman import (
    Podman,
    cache_dir,
    missing_tools,
    python_base_image,
    python_base_tarball,
    redis_image,
    redis_tarball,
)
from tests.deploy.store import RUNROOT_LIMIT, image_link, locked, once, open_store

__all__ = [
    "BASE_IMAGE",
    "IMAGE",
    "REDIS_STAND_IN",
    "build_ahead",
    "build_cache",
    "build_image",
    "build_redis_stand_in",
    "needs_an_image",
    "wait_for_builds",
]

IMAGE = "localhost/threadcast:0.1.0"  # what compose.yml and deploy/k8s name (threadcast:0.1.0)
BASE_IMAGE = "localhost/threadcast-test-python:3.11"
REDIS_STAND_IN = "docker.io/library/redis:7.4-alpine"  # compose.yml's Redis


def build_image(podman: Podman) -> None:
    """deploy/Dockerfile built, unchanged, on the local stand-in for python:3.11-slim.

    Built in the build cache (:func:`build_cache`), where podman reuses every layer whose
    inputs did not change (the dependencies' layer until ``uv.lock`` changes, the base image
    until its tarball does) as ``docker build`` would on a build host. The image then goes
    into a read-only store of its own beside the cache, named after everything the build
    reads (:func:`_build_key`), with compose's Redis stand-in; the run's store runs them from
    (``additionalimagestores``, :func:`tests.deploy.store.open_store`): a run whose inputs
    are those of an earlier one finds that store made and neither builds, saves nor loads
    (~16 s of CPU together, measured with every layer cached). Without a cache (its path
    too long for podman), built in the run's store.
    """

    def build() -> None:
        cache = build_cache()
        if cache is None:
            python_base_image(podman, BASE_IMAGE)
            podman.build(DEPLOY / "Dockerfile", REPO, IMAGE, {"PYTHON_IMAGE": BASE_IMAGE})
            return
        with locked(cache.state / "build.lock"):  # one run at a time builds in the cache
            images = _image_store(cache)
            _hold(images)
            _drop_stale(images)
        link = image_link(podman.state)
        partial = link.with_name(f"{link.name}.{os.getpid()}")
        partial.unlink(missing_ok=True)
        partial.symlink_to(images / "root")
        partial.replace(link)

    once(podman, IMAGE, build)
    # Every worker that may run the image holds the store it comes from (see _drop_stale).
    linked = image_link(podman.state).resolve().parent
    if (linked / _COMPLETE).exists():
        _hold(linked)


_COMPLETE = "complete"
_KEPT_STORES = 3
"""Read-only image stores kept beside the build cache (the latest used), one per set of
build inputs (a worktree's state)."""
_HELD: list[IO[str]] = []


def _image_store(cache: Podman) -> Path:
    """The read-only store holding the image built from the current inputs (made now if
    no earlier run made it); called with the build lock held."""
    store = cache.state.parent / f"images-{_build_key(cache)}"
    if (store / _COMPLETE).exists():
        return store
    shutil.rmtree(store, ignore_errors=True)  # left half-made by a run that died
    _base_in(cache)
    cache.build(DEPLOY / "Dockerfile", REPO, IMAGE, {"PYTHON_IMAGE": BASE_IMAGE})
    archive = cache.state / "tmp" / f"image-{os.getpid()}.tar"
    try:
        cache("save", f"--output={archive}", IMAGE, timeout=300)
        images = Podman(store)
        images("load", f"--input={archive}", timeout=300)
    finally:
        archive.unlink(missing_ok=True)
    redis_image(images, REDIS_STAND_IN)  # compose's, beside it: imported once, not per run
    _bounded(cache)
    (store / _COMPLETE).touch()
    return store


def _hold(store: Path) -> None:
    """A shared lock on ``store`` for the rest of this process: no run drops it meanwhile."""
    holder = (store / "in-use").open("a")
    fcntl.flock(holder, fcntl.LOCK_SH)
    _HELD.append(holder)


def _drop_stale(current: Path) -> None:
    """``current`` marked as the latest used; stores beyond a few, least recently used
    first, are removed unless a run is using them (it holds them: :func:`_hold`)."""
    (current / _COMPLETE).touch()
    stores = [p for p in current.parent.glob("images-*") if (p / _COMPLETE).exists()]
    stores.sort(key=lambda p: (p / _COMPLETE).stat().st_mtime)
    for stale in stores[:-_KEPT_STORES]:
        with (stale / "in-use").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # in use by a run: dropped by a later one
            (stale / _COMPLETE).unlink()
            shutil.rmtree(stale, ignore_errors=True)


_CACHE_IMAGES = 60
"""Images (layers of earlier builds included) beyond which the build cache starts afresh."""


def build_cache() -> Podman | None:
    """The podman store the image is built in, kept between runs under
    :func:`~tests.deploy.podman.cache_dir`; ``None`` where its runroot would be too long for
    podman (``store.py``)."""
    state = cache_dir() / "podman"
    if len(str(state / "run")) > RUNROOT_LIMIT:
        return None
    return Podman(state)


def _base_in(cache: Podman) -> None:
    """The base image in the cache, imported again when its tarball changed."""
    tarball = python_base_tarball(cache, BASE_IMAGE)
    marker = cache.state / "base-image"
    exists = cache("image", "exists", BASE_IMAGE, check=False).returncode == 0
    if not exists or not marker.exists() or marker.read_text() != tarball.name:
        python_base_image(cache, BASE_IMAGE)
        marker.write_text(tarball.name)


def _bounded(cache: Podman) -> None:
    """Old builds' layers accumulate in the cache: past a bound, it is emptied (the next
    build then makes every layer again)."""
    listed = cache("images", "--all", "--quiet", check=False).stdout.split()
    if len(listed) > _CACHE_IMAGES:
        cache.reset()
        (cache.state / "base-image").unlink(missing_ok=True)


_CONTEXT_IGNORE = REPO / ".dockerignore"


def _build_key(cache: Podman) -> str:
    """A digest of what the image store holds: the Dockerfile, the base image's and the
    Redis stand-in's tarballs (named after their content) and every file of the build
    context (the repository less what ``.dockerignore`` leaves out). Where a pattern is not
    understood here, the file counts: a needless rebuild, never a stale image."""
    digest = hashlib.sha256()
    digest.update((DEPLOY / "Dockerfile").read_bytes())
    digest.update(python_base_tarball(cache, BASE_IMAGE).name.encode() + b"\0")
    digest.update(redis_tarball(cache, REDIS_STAND_IN).name.encode() + b"\0")
    ignored = _ignore_patterns()
    for path in sorted(_context_files(REPO, ignored)):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _ignore_patterns() -> list[str] | None:
    """``.dockerignore``'s patterns; ``None`` (nothing left out) if one negates another."""
    lines = [line.strip() for line in _CONTEXT_IGNORE.read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    return None if any(p.startswith("!") for p in patterns) else patterns


def _context_files(root: Path, patterns: list[str] | None) -> Iterator[Path]:
    """The files under ``root`` no pattern leaves out (Docker's rules: a pattern matches a
    path from the context's root, ``**/`` at any depth; a matched directory goes whole)."""

    def ignored(relative: str) -> bool:
        for pattern in patterns or ():
            anywhere = pattern.removeprefix("**/")
            if fnmatch.fnmatchcase(relative, pattern.rstrip("/")):
                return True
            if anywhere != pattern and fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], anywhere):
                return True
        return False

    for directory, subdirs, files in os.walk(root):
        base = Path(directory)
        relative = base.relative_to(root).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        subdirs[:] = [d for d in subdirs if not ignored(prefix + d)]
        for name in files:
            if not ignored(prefix + name):
                yield base / name


def build_redis_stand_in(podman: Podman) -> None:
    """compose.yml's ``redis:7.4-alpine``, made locally (Debian's redis-server) under that
    name, so the compose file runs as shipped (no registry is reachable here)."""
    once(podman, REDIS_STAND_IN, lambda: redis_image(podman, REDIS_STAND_IN))


_BUILDS: dict[str, Callable[[Podman], None]] = {
    "image": build_image,
    "redis_stand_in": build_redis_stand_in,
}
"""The fixtures that need an image, and what builds it."""
_THREADS: list[threading.Thread] = []


def needs_an_image(item: pytest.Item) -> bool:
    return any(name in _BUILDS for name in getattr(item, "fixturenames", ()))


def build_ahead(config: pytest.Config, items: Sequence[pytest.Item]) -> None:
    """Starts building, in a thread, the images the collected tests will ask for."""
    wanted = {name for item in items for name in getattr(item, "fixturenames", ())}
    builds = [build for name, build in _BUILDS.items() if name in wanted]
    if not builds or shutil.which("podman") is None or missing_tools():
        return  # nothing to build, or the `podman` fixture skips or fails the tests
    podman = open_store(config)

    def run() -> None:
        for build in builds:
            with contextlib.suppress(Exception):  # the fixture reports it (docstring)
                build(podman)

    thread = threading.Thread(target=run, name="image builds", daemon=True)
    _THREADS.append(thread)
    thread.start()


def wait_for_builds() -> None:
    """Before the store is emptied or the worker exits: no build left half-way."""
    for thread in _THREADS:
        thread.join()
