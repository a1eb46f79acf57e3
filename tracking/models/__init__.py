from .changes import ChangedTransaction, StatusChange
from .dead_letters import DeadLetter
from .flows import Flow, FlowAPIKey
from .journeys import Journey, Stage
from .spans import Span
from .transactions import Event, EventStatus, Transaction, TransactionState, TransactionStatus

__all__ = [
    "ChangedTransaction",
    "DeadLetter",
    "Event",
    "EventStatus",
    "Flow",
    "FlowAPIKey",
    "Journey",
    "Span",
    "Stage",
    "StatusChange",
    "Transaction",
    "TransactionState",
    "TransactionStatus",
]
