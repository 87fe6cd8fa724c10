"""The Redis keys of access notices and quotas, built here only.

Components are percent-escaped (``:``, braces, spaces...), so an id can neither collide
with another key nor open a Redis Cluster hash tag. Quota keys share the ``{quota}`` tag:
one script checks a user's and a channel's counters together, which Redis Cluster allows
only within one slot (the shared edit budgets do the same with ``{budget}``).
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["notice_key", "quota_key"]


def _part(component: str) -> str:
    return quote(component, safe="")


def notice_key(namespace: str, platform: str, user: str) -> str:
    """String (TTL one hour): this user was told why they may not use the bot."""
    return f"{namespace}:access-notice:{_part(platform)}:{_part(user)}"


def quota_key(namespace: str, kind: str, *ids: str) -> str:
    """Zset of one quota counter: ``kind`` is ``user-turns``, ``channel-turns``,
    ``user-replies``, ``user-granted`` (the turns taken, so a repeat counts nothing) or
    ``user-refused`` (the turns refused, so a repeat is refused again; with its hash of
    verdicts, ``user-verdicts``);
    ``ids`` the platform and the user or channel ids."""
    return f"{namespace}:{{quota}}:{kind}:" + ":".join(_part(i) for i in ids)
