from .dead_letters import DeadLetter
from .flows import Flow, FlowAPIKey
from .journeys import Journey, Stage
from .spans import Span
from .transactions import Event, EventStatus, Transaction, TransactionStatus

__all__ = [
    "DeadLetter",
    "Event",
    "EventStatus",
    "Flow",
    "FlowAPIKey",
    "Journey",
    "Span",
    "Stage",
    "Transaction",
    "TransactionStatus",
]
