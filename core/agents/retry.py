"""Retry an agent request, but only one that never reached the agent.

A request the agent may have received is never sent again: the agent may be running it
(tools, credits, a turn in the session's memory), however slow its first token. So only
failures :func:`~core.agents.transport.is_retryable` names (nothing was sent, or a gateway
refused it) get a bounded number of retries with a short exponential backoff, and never
once a chunk went out.

A rate limit (:class:`~core.errors.AgentRateLimitedError`, a 429 that is not an exhausted
quota) was refused before the model ran, so a backend whose API says so (OpenAI's: its own
client retries every 429) passes ``rate_limit_wait``: such a refusal is retried too, after
the wait the server named (or the backoff), unless that wait is longer than
``rate_limit_wait``: the user is not kept waiting minutes for a reply that then starts.
A 503 that names its wait (``Retry-After``, RFC 9110 §15.6.4) is sent again no sooner,
and not at all past :data:`REFUSAL_WAIT`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from typing import TypeVar

from core.agents.transport import is_retryable
from core.errors import AgentError, AgentRateLimitedError, AgentRefusedError

__all__ = ["retry_before_output"]

log = logging.getLogger(__name__)

T = TypeVar("T")

REFUSAL_WAIT = 20.0
"""Longest wait a refusing server (a 503's ``Retry-After``) may name that is worth a retry;
a longer one ends the reply with its notice rather than keep the user waiting."""


async def retry_before_output(
    attempt: Callable[[], AsyncGenerator[T, None]],
    *,
    retries: int,
    backoff: float = 0.25,
    rate_limit_wait: float = 0.0,
) -> AsyncGenerator[T, None]:
    """Yield from ``attempt()``; on a retryable error before its first item, start over."""
    for number in range(retries + 1):
        produced = False
        items = attempt()
        # Backoff doubles per attempt: a server shedding load gets a moment, but the user's
        # wait stays short (0.25 s, 0.5 s, 1 s with the defaults).
        wait = backoff * 2**number
        try:
            async for item in items:
                produced = True
                yield item
            return
        except AgentError as exc:
            if produced or number >= retries:
                raise
            if isinstance(exc, AgentRateLimitedError) and rate_limit_wait > 0:
                wait = wait if exc.retry_after is None else exc.retry_after
                if wait > rate_limit_wait:
                    raise
            elif not is_retryable(exc):
                raise
            elif isinstance(exc, AgentRefusedError) and exc.retry_after is not None:
                if exc.retry_after > REFUSAL_WAIT:
                    raise
                wait = max(wait, exc.retry_after)
            log.warning("agent attempt %d failed before any output, retrying: %s", number + 1, exc)
        finally:
            await items.aclose()
        await asyncio.sleep(wait)
