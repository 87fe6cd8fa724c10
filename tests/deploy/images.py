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
import json
import os
import shutil
import subprocess
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
from tests.deploy.store import RUNROOT_LIMIT, image_link, locked, once, open_store, redis_link

__all__ = [
    "BASE_IMAGE",
    "IMAGE",
    "REDIS_STAND_IN",
    "build_ahead",
    "build_cache",
    "build_image",
    "build_redis_stand_in",
    "build_stores",
    "needs_an_image",
    "wait_for_builds",
]

IMAGE = "localhost/threadcast:0.1.0"  # what compose.yml and deploy/k8s name (threadcast:0.1.0)
BASE_IMAGE = "localhost/threadcast-test-python:3.11"
REDIS_STAND_IN = "docker.io/library/redis:7.4-alpine"  # compose.yml's Redis


def build_image(podman: Podman) -> None:
    """deploy/Dockerfile built, unchanged, on the local stand-in for python:3.11-slim-bookworm.

    Built in the build cache (:func:`build_cache`), where podman reuses every layer whose
    inputs did not change (the dependencies' layer until ``uv.lock`` changes, the base image
    until its tarball does) as ``docker build`` would on a build host. The image then goes
    into a read-only store of its own beside the cache, named after everything the build
    reads (:func:`_build_key`); the run's store runs it from (``additionalimagestores``,
    :func:`tests.deploy.store.open_store`): a run whose inputs are those of an earlier one
    finds that store made and neither builds nor copies. Without a cache (its path
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
            _drop_stale(images, "images-*", _KEPT_STORES)
        _point(image_link(podman.state), images)

    once(podman, IMAGE, build)
    _hold_linked(image_link(podman.state))


def _point(link: Path, store: Path) -> None:
    """``link``, in a run's store, switched to ``store``'s images at once (replaced whole:
    a podman call reading it meanwhile sees the old store or the new one)."""
    partial = link.with_name(f"{link.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    partial.symlink_to(store / "root")
    partial.replace(link)


def _hold_linked(link: Path) -> None:
    """Every worker that may run the images of the store ``link`` points to holds it (see
    :func:`_drop_stale`)."""
    linked = link.resolve().parent
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
    _seed(store)
    images = Podman(store)
    # Copied from store to store, no archive written and read back: into a seeded store,
    # 0.7 s of CPU against 3.5 s to save and 0.9 s to load; into an empty one, 10.8 s
    # against 15.3 s (measured).
    images("pull", cache.reference(IMAGE), timeout=300)
    # The pull leaves the cache's overlay directory mounted on itself (podman binds a store's
    # on opening it; only a podman whose own store it is unmounts it on exit, measured): a
    # call on the cache unmounts it, so that no mount outlives the run.
    cache("image", "exists", IMAGE, check=False)
    _only(images, IMAGE)
    _bounded(cache)
    (store / _COMPLETE).touch()
    return store


def _seed(store: Path) -> None:
    """``store`` begun as a copy of the latest image store, its layers' files hard-linked,
    not copied: the pull then writes only the layers it does not find there (the
    project's alone after a change to the source, ``deploy/Dockerfile``'s last layer),
    not the base image's and the dependencies' again (7-11 s of CPU). Podman's records of
    the layers and images are copied (their lock files are written in place). Begun empty
    where there is no earlier store or a link fails (a store on another file system, or
    mounted by a podman that died)."""
    stores = _complete_stores(store.parent, "images-*")
    if not stores:
        return
    latest, root = stores[-1] / "root", store / "root"
    root.mkdir(parents=True, exist_ok=True)
    for command in (
        ["cp", "-a", "--link", str(latest / "overlay"), str(root)],
        ["cp", "-a", str(latest / "overlay-layers"), str(latest / "overlay-images"), str(root)],
    ):
        if subprocess.run(command, capture_output=True, check=False).returncode != 0:
            shutil.rmtree(store, ignore_errors=True)
            return


def _only(images: Podman, tag: str) -> None:
    """``tag`` left alone in its store: the seed's images (:func:`_seed`) and the layers
    only they used are removed (unlinked: the store they came from keeps its files)."""
    keep = images("image", "inspect", "--format={{.Id}}", tag).stdout.strip()
    listed = images("images", "--all", "--quiet", "--no-trunc").stdout.split()
    stale = {i for i in listed if i.removeprefix("sha256:") != keep.removeprefix("sha256:")}
    if stale:
        images("rmi", "--force", *sorted(stale))


def _complete_stores(directory: Path, pattern: str) -> list[Path]:
    """The complete read-only stores matching ``pattern``, the latest used last."""
    stores = [p for p in directory.glob(pattern) if (p / _COMPLETE).exists()]
    return sorted(stores, key=lambda p: (p / _COMPLETE).stat().st_mtime)


def _hold(store: Path) -> None:
    """A shared lock on ``store`` for the rest of this process: no run drops it meanwhile."""
    holder = (store / "in-use").open("a")
    fcntl.flock(holder, fcntl.LOCK_SH)
    _HELD.append(holder)


def _drop_stale(current: Path, pattern: str, kept: int) -> None:
    """``current`` marked as the latest used; stores matching ``pattern`` beyond ``kept``,
    least recently used first, are removed unless a run is using them (it holds them:
    :func:`_hold`)."""
    (current / _COMPLETE).touch()
    for stale in _complete_stores(current.parent, pattern)[:-kept]:
        with (stale / "in-use").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # in use by a run: dropped by a later one
            (stale / _COMPLETE).unlink()
            shutil.rmtree(stale, ignore_errors=True)


_CACHE_IMAGES = 240
"""Images (layers of earlier builds included) beyond which the build cache starts afresh:
a rebuild after a change to the source adds ~12 of them and ~19 MB (measured), so ~20
rebuilds, each ~12 s of CPU, before one that remakes every layer (~45 s)."""


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
    build then makes every layer again). The images are counted in podman's record of
    them (``podman images --all`` took ~1.5 s of CPU to list ~100)."""
    record = cache.state / "root" / "overlay-images" / "images.json"
    if record.exists() and len(json.loads(record.read_text())) > _CACHE_IMAGES:
        cache.reset()
        (cache.state / "base-image").unlink(missing_ok=True)


_CONTEXT_IGNORE = REPO / ".dockerignore"


def _build_key(cache: Podman) -> str:
    """A digest of what the image store holds: the Dockerfile, the base image's tarball
    (named after its content) and every file of the build context (the repository less
    what ``.dockerignore`` leaves out). Where a pattern is not understood here, the file
    counts: a needless rebuild, never a stale image."""
    digest = hashlib.sha256()
    digest.update((DEPLOY / "Dockerfile").read_bytes())
    digest.update(python_base_tarball(cache, BASE_IMAGE).name.encode() + b"\0")
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
    name, so the compose file runs as shipped (no registry is reachable here).

    Imported into a read-only store of its own beside the build cache, named after its
    tarball, which the run's store reads as it reads the image's: imported once per machine
    (~4 s of CPU), not again with each new image. Without a cache, in the run's store."""

    def build() -> None:
        cache = build_cache()
        if cache is None:
            redis_image(podman, REDIS_STAND_IN)
            return
        with locked(cache.state / "redis.lock"):
            store = _redis_store(cache)
            _hold(store)
            _drop_stale(store, f"*{_REDIS_STORE}", 1)
        _point(redis_link(podman.state), store)

    once(podman, REDIS_STAND_IN, build)
    _hold_linked(redis_link(podman.state))


_REDIS_STORE = ".images"
"""The suffix of the Redis stand-in's store, named after its tarball."""


def _redis_store(cache: Podman) -> Path:
    """The read-only store holding the Redis stand-in imported from its current tarball
    (imported now if no earlier run did); called with its lock held."""
    tarball = redis_tarball(cache, REDIS_STAND_IN)
    store = cache.state.parent / f"{tarball.stem}{_REDIS_STORE}"
    if not (store / _COMPLETE).exists():
        shutil.rmtree(store, ignore_errors=True)  # left half-made by a run that died
        redis_image(Podman(store), REDIS_STAND_IN)
        (store / _COMPLETE).touch()
    return store


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
    if config.option.collectonly:
        return  # a collection alone runs no test (.ci/run's, which warms pytest's caches)
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


def build_stores() -> None:
    """The image's and the Redis stand-in's read-only stores made now, before a run, where a
    build cache can hold them: ``.ci/run`` builds them beside mypy, which leaves the second
    core idle, and the run's workers then find them made (a rebuild after a change to the
    source costs ~15 s of CPU, which inside the suite its other tests waited for). Nothing
    to do without podman (the container tests skip, or fail in CI, and say why)."""
    cache = build_cache()
    if cache is None or shutil.which("podman") is None or missing_tools():
        return
    with locked(cache.state / "build.lock"):
        _drop_stale(_image_store(cache), "images-*", _KEPT_STORES)
    with locked(cache.state / "redis.lock"):
        _drop_stale(_redis_store(cache), f"*{_REDIS_STORE}", 1)


if __name__ == "__main__":
    build_stores()
