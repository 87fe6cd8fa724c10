"""Fixtures shared by the surfaces' tests."""

from tests.adapters.artifact_files import file_server

__all__ = ["file_server"]
