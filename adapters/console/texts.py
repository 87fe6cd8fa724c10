"""What the console surface says itself, in one place."""

from __future__ import annotations

__all__ = ["NOT_SAVED"]

NOT_SAVED = "it could not be saved in {folder} ({error})"
"""Why an agent's file was not attached (core.texts.ARTIFACT_FAILED's ``reason``): the
folder it is saved in could not be written. The person at the terminal is the operator, so
the folder and the system's words are theirs to read."""
