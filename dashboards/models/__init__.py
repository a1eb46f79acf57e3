from .contracts import (
    BreakChange,
    BreakKind,
    ChangedContract,
    Contract,
    ContractBreak,
    ContractMember,
)
from .facts import CoarseRollup, Fact, MetricsVersion, PendingRollup, RiskClock, Rollup
from .policies import BusinessCalendar, FxRate, Holiday, SlaKind, SlaPolicy
from .risk import RiskSnapshot, RiskSnapshotTaken
from .saved_views import SavedView

__all__ = [
    "BreakChange",
    "BreakKind",
    "BusinessCalendar",
    "ChangedContract",
    "CoarseRollup",
    "Contract",
    "ContractBreak",
    "ContractMember",
    "Fact",
    "FxRate",
    "Holiday",
    "MetricsVersion",
    "PendingRollup",
    "RiskClock",
    "RiskSnapshot",
    "RiskSnapshotTaken",
    "Rollup",
    "SavedView",
    "SlaKind",
    "SlaPolicy",
]
