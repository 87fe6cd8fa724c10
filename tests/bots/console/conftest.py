"""The console's tests run ``threadcast`` as a user does: see :mod:`.helpers`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.servers.lyzr_server import LyzrServer


@pytest.fixture
async def lyzr() -> AsyncIterator[LyzrServer]:
    async with LyzrServer() as server:
        yield server
