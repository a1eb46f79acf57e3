"""Second chance for dead letters, once the journey or stage they named exists."""

from dataclasses import asdict, dataclass

from django.db.models import F, QuerySet
from django.utils import timezone

from audit import log as audit

from . import journeys, ledger
from .models import DeadLetter
from .projection import IncomingEvent


@dataclass
class ReprocessReport:
    recorded: int = 0
    still_waiting: int = 0
    failed: int = 0

    def summary(self) -> str:
        return (
            f"{self.recorded} recorded, {self.still_waiting} still cannot be placed, "
            f"{self.failed} refused"
        )


def reprocess(
    letters: QuerySet, batch_size: int = 500, who: audit.Who | None = None
) -> ReprocessReport:
    """Give waiting ``letters`` to the ledger again; ``who`` asked for it (the audit log gets
    one entry with the counts, written even when a batch fails part way)."""
    journeys.invalidate()  # the point is usually a journey just added
    report = ReprocessReport()
    pending = list(
        letters.filter(resolved_at__isnull=True).order_by("id").values_list("id", flat=True)
    )
    try:
        for start in range(0, len(pending), batch_size):
            ids = pending[start : start + batch_size]
            ledger.run_atomic(lambda ids=ids: _reprocess_batch(ids, report))
    finally:
        if who is not None and pending:
            audit.record(
                who, "reprocess", None, object_type="dead_letters",
                after={"letters": len(pending), "ids": f"{pending[0]}..{pending[-1]}",
                       **asdict(report)},
            )  # fmt: skip
    return report


def _reprocess_batch(ids: list[int], report: ReprocessReport) -> None:
    letters = list(
        DeadLetter.objects.select_for_update().filter(id__in=ids, resolved_at__isnull=True)
    )
    if not letters:
        return
    events = [IncomingEvent.from_payload(letter.payload) for letter in letters]
    result = ledger.record(events, write_dead_letters=False)
    now = timezone.now()
    done, waiting = [], {}
    for letter, outcome in zip(letters, result.outcomes, strict=True):
        if outcome.kind in (ledger.RECORDED, ledger.DUPLICATE):
            done.append(letter.id)
            report.recorded += 1
        elif outcome.kind == ledger.DEAD_LETTER:
            waiting.setdefault(outcome.detail, []).append(letter.id)
            report.still_waiting += 1
        else:
            waiting.setdefault(outcome.detail, []).append(letter.id)
            report.failed += 1
    DeadLetter.objects.filter(id__in=done).update(
        resolved_at=now, last_attempt_at=now, attempts=F("attempts") + 1
    )
    for reason, letter_ids in waiting.items():
        DeadLetter.objects.filter(id__in=letter_ids).update(
            reason=reason, last_attempt_at=now, attempts=F("attempts") + 1
        )
