from .facts import Fact, RiskClock, Rollup
from .policies import BusinessCalendar, FxRate, Holiday, SlaKind, SlaPolicy
from .risk import RiskSnapshot

__all__ = [
    "BusinessCalendar",
    "Fact",
    "FxRate",
    "Holiday",
    "RiskClock",
    "RiskSnapshot",
    "Rollup",
    "SlaKind",
    "SlaPolicy",
]
