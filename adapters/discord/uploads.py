"""Splitting files into messages Discord accepts: ≤ 10 files, and the upload limit for all
of a message's files together — "A file upload size limit applies to *all* files in a
request (rather than each individual file) … it is 10 MiB by default", more on boosted
servers (discord-api-docs, Reference > Uploading Files)."""

from __future__ import annotations

from collections.abc import Sequence

from core.surface import OutgoingFile

__all__ = ["MAX_REQUEST_BYTES", "group_files"]

# discord.py's ``utils.DEFAULT_FILE_SIZE_LIMIT_BYTES``: an unboosted server's, and DMs'.
MAX_REQUEST_BYTES = 10 * 1024 * 1024


def group_files(
    files: Sequence[OutgoingFile], *, max_files: int, max_bytes: int = MAX_REQUEST_BYTES
) -> list[list[OutgoingFile]]:
    """Consecutive groups, in order, each within both caps (a lone oversized file stays
    alone: Discord's answer for it is the surface's error to report)."""
    groups: list[list[OutgoingFile]] = []
    size = 0
    for file in files:
        current = groups[-1] if groups else None
        if current is None or len(current) >= max(1, max_files) or size + file.size > max_bytes:
            groups.append([file])
            size = file.size
        else:
            current.append(file)
            size += file.size
    return groups
