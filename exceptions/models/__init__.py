from .audit import AuditEntry
from .cases import ACTIVE_STATUSES, LIVE_STATUSES, CaseKind, CaseStatus, ExceptionCase, Note
from .replays import PENDING_REPLAYS, Replay, ReplayStatus
from .routing import OwnershipRule, TeamMember

__all__ = [
    "ACTIVE_STATUSES",
    "LIVE_STATUSES",
    "PENDING_REPLAYS",
    "AuditEntry",
    "CaseKind",
    "CaseStatus",
    "ExceptionCase",
    "Note",
    "OwnershipRule",
    "Replay",
    "ReplayStatus",
    "TeamMember",
]
