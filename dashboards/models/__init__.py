from .facts import CoarseRollup, Fact, MetricsVersion, RiskClock, Rollup
from .policies import BusinessCalendar, FxRate, Holiday, SlaKind, SlaPolicy
from .risk import RiskSnapshot, RiskSnapshotTaken
from .views import SavedView

__all__ = [
    "BusinessCalendar",
    "CoarseRollup",
    "Fact",
    "FxRate",
    "Holiday",
    "MetricsVersion",
    "RiskClock",
    "RiskSnapshot",
    "RiskSnapshotTaken",
    "Rollup",
    "SavedView",
    "SlaKind",
    "SlaPolicy",
]
