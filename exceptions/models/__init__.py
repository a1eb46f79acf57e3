from .alerts import (
    Alert,
    AlertKind,
    AlertRule,
    Channel,
    ChannelKind,
    DigestSubscription,
    MaintenanceWindow,
    Notification,
    RuleKind,
    RuleState,
)
from .cases import ACTIVE_STATUSES, LIVE_STATUSES, CaseKind, CaseStatus, ExceptionCase, Note
from .replays import PENDING_REPLAYS, Replay, ReplayStatus
from .routing import OwnershipRule, TeamMember

__all__ = [
    "ACTIVE_STATUSES",
    "LIVE_STATUSES",
    "PENDING_REPLAYS",
    "Alert",
    "AlertKind",
    "AlertRule",
    "CaseKind",
    "CaseStatus",
    "Channel",
    "ChannelKind",
    "DigestSubscription",
    "ExceptionCase",
    "MaintenanceWindow",
    "Note",
    "Notification",
    "OwnershipRule",
    "Replay",
    "ReplayStatus",
    "RuleKind",
    "RuleState",
    "TeamMember",
]
