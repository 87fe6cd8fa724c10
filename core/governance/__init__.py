"""Who may use the bot and how much: access rules and their private notices, quotas,
Stop and reset permissions, bundled for the responder as :class:`Governance`."""

from __future__ import annotations

from core.governance.access import Admission, DenyReason, admit
from core.governance.controls import Controls, StopResult
from core.governance.notices import AccessNotices, PrivateNotices
from core.governance.policy import Governance
from core.governance.quotas import QuotaBook, QuotaGrant, QuotaRefusal

__all__ = [
    "AccessNotices",
    "Admission",
    "Controls",
    "DenyReason",
    "Governance",
    "PrivateNotices",
    "QuotaBook",
    "QuotaGrant",
    "QuotaRefusal",
    "StopResult",
    "admit",
]
