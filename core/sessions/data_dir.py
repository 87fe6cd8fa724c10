"""Where the embedded Redis keeps its data when ``THREADCAST_DATA_DIR`` is not set.

The default is the user's data directory, ``$XDG_DATA_HOME/threadcast`` (normally
``~/.local/share/threadcast``), not the working directory: a console thread is the user's,
so ``threadcast ask --thread demo`` finds its session from any directory, and a read-only
working directory (a container's root, a checked-out tree on a read-only mount) is no
obstacle. When that directory cannot be written either (a read-only home), the data goes to
a private directory under the system's temporary directory, and :attr:`DataDir.note` says
so in one line (such data does not survive a reboot).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

__all__ = ["DataDir", "choose_data_dir", "default_data_dir"]


@dataclass(frozen=True, slots=True)
class DataDir:
    """The directory to use; ``note`` is set when the default was not writable."""

    path: Path
    note: str | None = None


def default_data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/threadcast``, or ``~/.local/share/threadcast`` (XDG base dirs)."""
    xdg = environ.get("XDG_DATA_HOME", "")
    # The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "threadcast"


def choose_data_dir(configured: Path | None) -> DataDir:
    """``configured`` as it is (errors then name THREADCAST_DATA_DIR), else the default,
    else a private temporary directory with a note."""
    if configured is not None:
        return DataDir(configured)
    try:
        preferred: Path | None = default_data_dir()
    except RuntimeError:  # no home directory to be found
        preferred = None
    if preferred is not None and _writable(preferred):
        return DataDir(preferred)
    fallback = Path(tempfile.gettempdir()) / f"threadcast-{os.getuid()}"
    where = f"{preferred} is not writable" if preferred else "there is no home directory"
    try:
        _make_private(fallback)
    except OSError as exc:
        raise ConfigError("THREADCAST_DATA_DIR", f"not set, {where}, and {exc}") from None
    return DataDir(
        fallback,
        f"{where}; keeping the embedded Redis data in {fallback}, which a reboot may "
        "clear (set THREADCAST_DATA_DIR to choose)",
    )


def _writable(path: Path) -> bool:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _make_private(path: Path) -> None:
    """Create ``path`` for this user only; refuse one that someone else could have made
    (the temporary directory is shared, and the server's socket lives in it)."""
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} is not a directory private to this user")
