"""Podman for the image tests: rootful, every bit of its state under one directory.

No Docker engine and no container registry are reachable here, yet ``deploy/Dockerfile``
builds unchanged with Debian's podman, given:

- the base image it names (``PYTHON_IMAGE``) made locally: ``mmdebstrap`` builds a minimal
  Debian root filesystem from the machine's configured apt sources and ``podman import``
  turns it into an image (:func:`debian_image`). The tarball is cached between runs, keyed
  by the apt sources and the package list, so only the first run pays for it;
- ``runc`` as the runtime (crun refuses this host's hybrid cgroups), default ulimits no
  higher than the host's hard limits, ``--format docker`` (the OCI format drops
  ``HEALTHCHECK``) and ``--network host``;
- the machine's CA bundle bind-mounted read-only into the RUN steps, so they reach PyPI
  through it and nothing of it lands in the image (:meth:`Podman.build`).

Every call is bounded by a timeout; a failing one raises with podman's own output.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "CA_BUNDLE",
    "Podman",
    "PodmanError",
    "cache_dir",
    "debian_image",
    "missing_tools",
    "python_base_image",
    "redis_image",
    "redis_tarball",
]

# What the image tests need besides podman itself (Debian packages; .ci/run installs them):
# the runtime, the pause binary `podman kube play` builds its infra image from, and the
# base-image builder. (podman-compose is a dev dependency: Debian 12's is too old.)
TOOLS = ("runc", "catatonit", "mmdebstrap")
CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
_APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
# Makes the Debian stand-in for python:3.11-slim-bookworm behave like it: pip may install into the
# system Python (Debian marks it externally managed, PEP 668).
_PIP_LIKE_PYTHON_IMAGE = 'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED'
_TRIM_DOCS = ("path-exclude=/usr/share/doc/*", "path-exclude=/usr/share/man/*")


class PodmanError(AssertionError):
    """A podman command failed; the message carries its output."""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def cache_dir() -> Path:
    """Where base-image tarballs are kept between runs (``THREADCAST_TEST_CACHE``)."""
    configured = os.environ.get("THREADCAST_TEST_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "threadcast-tests"


class Podman:
    """Runs ``podman`` (and ``podman-compose``) against a store in ``state``."""

    def __init__(self, state: Path, *, image_stores: Sequence[Path] = ()) -> None:
        """``image_stores``: read-only stores whose images this one runs as its own
        (containers/storage's ``additionalimagestores``)."""
        self.state = state
        state.mkdir(parents=True, exist_ok=True)
        (state / "tmp").mkdir(exist_ok=True)
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nproc = _nproc_limit()
        _write_atomically(
            state / "containers.conf",
            "[containers]\n"
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'  # no systemd here
            'events_logger = "file"\n'
            f'tmp_dir = "{state / "tmp"}"\n',
        )
        _write_atomically(
            state / "storage.conf",
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{state / "root"}"\n'
            f'runroot = "{state / "run"}"\n'
            + (
                "[storage.options]\nadditionalimagestores = ["
                + ", ".join(f'"{store}"' for store in image_stores)
                + "]\n"
                if image_stores
                else ""
            ),
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(state / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(state / "storage.conf"),
        }

    def __call__(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run(["podman", *args], timeout=timeout, check=check)

    def run(
        self, command: Sequence[str], *, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Any command (podman-compose too) with this store's configuration."""
        result = subprocess.run(
            list(command),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise PodmanError(
                f"{' '.join(command)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def reference(self, tag: str) -> str:
        """``tag`` in this store, as another store's podman names it (``podman pull``)."""
        return f"containers-storage:[overlay@{self.state / 'root'}+{self.state / 'run'}]{tag}"

    def build(self, dockerfile: Path, context: Path, tag: str, build_args: dict[str, str]) -> None:
        args = [f"--build-arg={name}={value}" for name, value in build_args.items()]
        self(
            "build",
            "--format=docker",
            "--network=host",
            f"--volume={CA_BUNDLE}:/etc/ssl/certs/ca-certificates.crt:ro",
            *args,
            f"--file={dockerfile}",
            f"--tag={tag}",
            str(context),
            timeout=600,
        )

    def reset(self) -> None:
        """Remove every container, pod and image of this store (and unmount them)."""
        self("pod", "rm", "--all", "--force", check=False, timeout=60)
        self("rm", "--all", "--force", check=False, timeout=60)
        self("system", "reset", "--force", check=False, timeout=120)


def debian_image(
    podman: Podman,
    tag: str,
    packages: Sequence[str],
    *,
    hooks: Sequence[str] = (),
    changes: Sequence[str] = (),
) -> None:
    """A minimal Debian image with ``packages``, made by mmdebstrap, imported as ``tag``.

    The tarball is cached in :func:`cache_dir`, keyed by the apt sources, the suite, the
    packages and the hooks: a change to any of them builds a new one (and drops the old).
    """
    tarball = debian_tarball(podman, tag, packages, hooks=hooks)
    podman("import", *(f"--change={change}" for change in changes), str(tarball), tag)


def debian_tarball(
    podman: Podman, tag: str, packages: Sequence[str], *, hooks: Sequence[str] = ()
) -> Path:
    """The root filesystem tarball :func:`debian_image` imports (made once, then cached)."""
    suite = _os_release()["VERSION_CODENAME"]
    sources = _apt_source_files()
    key = hashlib.sha256()
    for part in (suite, *packages, *hooks, *_TRIM_DOCS):
        key.update(part.encode() + b"\0")
    for source in sources:
        key.update(source.read_bytes())
    name = tag.rpartition("/")[2].replace(":", "-")
    directory = cache_dir()
    tarball = directory / f"{name}-{key.hexdigest()[:16]}.tar"
    if not tarball.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")
        podman.run(
            [
                "mmdebstrap",
                "--variant=essential",
                f"--include={','.join(packages)}",
                *(f"--dpkgopt={option}" for option in _TRIM_DOCS),
                *(f"--customize-hook={hook}" for hook in hooks),
                suite,
                str(partial),
                *(str(source) for source in sources),
            ],
            timeout=600,
        )
        for stale in directory.glob(f"{name}-*.tar"):
            if stale != partial:
                stale.unlink()
        partial.rename(tarball)
    return tarball


_PYTHON_PACKAGES = ("passwd", "python3", "python3-pip", "ca-certificates")


def python_base_image(podman: Podman, tag: str) -> None:
    """The stand-in for ``python:3.11-slim-bookworm``: Debian's Python 3.11, pip, CA certs."""
    debian_image(podman, tag, _PYTHON_PACKAGES, hooks=[_PIP_LIKE_PYTHON_IMAGE])


def python_base_tarball(podman: Podman, tag: str) -> Path:
    """What :func:`python_base_image` imports: its name changes when its content would."""
    return debian_tarball(podman, tag, _PYTHON_PACKAGES, hooks=[_PIP_LIKE_PYTHON_IMAGE])


_REDIS_PACKAGES = ("redis-server", "redis-tools")


def redis_image(podman: Podman, tag: str) -> None:
    """The stand-in for ``redis:7.4-alpine``: Debian's redis-server and redis-cli, in /data."""
    debian_image(podman, tag, _REDIS_PACKAGES, changes=["WORKDIR /data"])


def redis_tarball(podman: Podman, tag: str) -> Path:
    """What :func:`redis_image` imports: its name changes when its content would."""
    return debian_tarball(podman, tag, _REDIS_PACKAGES)


def _apt_source_files() -> list[Path]:
    files: list[Path] = []
    for path in _APT_SOURCES:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in {".list", ".sources"}))
    assert files, "no apt sources configured: mmdebstrap needs a Debian mirror"
    return files


def _os_release() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines())
    return {key: value.strip('"') for key, value in (p for p in pairs if len(p) == 2)}


def _write_atomically(path: Path, text: str) -> None:
    """Replaced whole: another process using the same store never reads half a file."""
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(path)


def _nproc_limit() -> int:
    """The host's hard limit on processes, at most ``pid_max``."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    return pid_max if hard == resource.RLIM_INFINITY else min(hard, pid_max)
