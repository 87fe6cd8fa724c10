"""Which kind of file a user sent, from its MIME type and name (pure)."""

from __future__ import annotations

from pathlib import PurePosixPath

from core.context.models import FileKind

__all__ = ["IMAGE_TYPES", "file_kind"]

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""The image formats vision models take (OpenAI's image inputs: PNG, JPEG, WEBP, GIF)."""

_TEXT_TYPES = frozenset(
    {
        "application/json", "application/xml", "application/x-yaml", "application/yaml",
        "application/toml", "application/x-sh", "application/javascript",
        "application/x-python", "application/sql", "application/csv",
    }
)  # fmt: skip
_TEXT_SUFFIXES = frozenset(
    {
        ".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".jsonl", ".yaml", ".yml",
        ".toml", ".ini", ".cfg", ".conf", ".log", ".xml", ".html", ".htm", ".css", ".py",
        ".js", ".ts", ".tsx", ".jsx", ".java", ".kt", ".go", ".rs", ".c", ".h", ".cc",
        ".cpp", ".hpp", ".cs", ".rb", ".php", ".swift", ".scala", ".sh", ".bash", ".zsh",
        ".sql", ".lua", ".r", ".pl", ".diff", ".patch", ".env", ".rst", ".tex",
    }
)  # fmt: skip
_IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                   ".gif": "image/gif", ".webp": "image/webp"}  # fmt: skip
_DOCUMENT_SUFFIXES = frozenset({".pdf", ".docx", ".doc", ".pptx", ".xlsx", ".xls"})


def file_kind(name: str, mimetype: str) -> tuple[FileKind, str]:
    """The kind of a file and the MIME type to declare for it.

    Platforms often say ``application/octet-stream`` (Discord for unknown uploads) or
    ``text/plain`` for code: the name's suffix decides then.
    """
    mime = mimetype.split(";")[0].strip().lower()
    suffix = PurePosixPath(name.lower()).suffix
    if mime in IMAGE_TYPES:
        return "image", mime
    if suffix in _IMAGE_SUFFIXES and (not mime or mime == "application/octet-stream"):
        return "image", _IMAGE_SUFFIXES[suffix]
    if mime.startswith("text/") or mime in _TEXT_TYPES or suffix in _TEXT_SUFFIXES:
        return "text", mime or "text/plain"
    if suffix in _DOCUMENT_SUFFIXES or mime == "application/pdf":
        return "document", mime or "application/octet-stream"
    return "other", mime or "application/octet-stream"
