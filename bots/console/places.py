"""Where the console keeps things when the settings leave it open.

- The embedded Redis data: ``THREADCAST_DATA_DIR``, else the user's data directory, else a
  private temporary directory (:func:`core.sessions.data_dir.choose_data_dir`), with one
  line saying so (none when there is no embedded Redis to run). Decided here, once, so
  that line is the console's and not a log record.
- The agent's files: ``THREADCAST_ARTIFACT_DIR``, else ``./threadcast-artifacts`` — next to
  the user, like a download — or, when the working directory cannot be written (a
  read-only container root), ``artifacts`` in the data directory. Every saved file's path
  is printed, so the fallback needs no line of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.config import Settings
from core.sessions.data_dir import choose_data_dir
from core.sessions.embedded import EmbeddedUnavailable, redis_server_binary

__all__ = ["settle_places"]


def settle_places(settings: Settings) -> tuple[Settings, list[str]]:
    """``settings`` with the data and artifact directories decided, and the notes to show."""
    notes: list[str] = []
    update: dict[str, Path] = {}
    data_dir = settings.data_dir
    if not settings.redis_url and _embedded_available():
        chosen = choose_data_dir(settings.data_dir)
        data_dir = update["data_dir"] = chosen.path
        if chosen.note:
            notes.append(chosen.note)
    if "artifact_dir" not in settings.model_fields_set and not _writable(settings.artifact_dir):
        update["artifact_dir"] = choose_data_dir(data_dir).path / "artifacts"
    return settings.model_copy(update=update), notes


def _embedded_available() -> bool:
    """Whether an embedded Redis can run: without one, opening Redis says so in one line
    and a note about its data directory would only get in the way."""
    try:
        redis_server_binary()
    except EmbeddedUnavailable:
        return False
    return True


def _writable(folder: Path) -> bool:
    """Whether ``folder`` can be written, or created (it does not exist yet)."""
    folder = folder.absolute()
    existing = folder if folder.exists() else folder.parent
    return os.access(existing, os.W_OK | os.X_OK)
