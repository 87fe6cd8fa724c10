"""Make a user's message safe to send to an agent API.

Chat platforms deliver what users paste: control characters, and from some clients lone
UTF-16 surrogates, which cannot be encoded as UTF-8 and would crash the JSON request.
"""

from __future__ import annotations

import re

__all__ = ["clean_message"]

# C0 controls except tab, newline and carriage return, plus DEL.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def clean_message(text: str) -> str:
    """Drop control characters and replace lone surrogates with U+FFFD."""
    text = _CONTROLS.sub("", text)
    return _SURROGATES.sub("\ufffd", text)
