"""Which transactions a figure counts, and their total: what a number on the overview opens.

Each figure links to the transactions explorer with a filter that selects exactly the
transactions it counts, and the list shows a total worked out as the figure was:

- revenue at risk (by reason and age, or due within a day): ``risk.assess`` over the listed
  transactions, as of the snapshot the figure came from;
- SLA breaches and latencies of a policy over a period: the per-transaction facts the rollups
  sum (``sla_breached:<policy>``, ``latency:<policy>:<bin>``), in the same buckets;
- any other list: its count, and its money in the reporting currency at today's rates.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast, Substr

from tracking.models import TransactionStatus

from . import risk
from .fx import Rates
from .models import Fact, RiskClock, SlaPolicy
from .models.risk import RiskAge, RiskReason
from .queries import percentile

LIMITS = dict((age, limit) for limit, age in risk.AGES)
OLDER = {RiskAge.D1_3: RiskAge.UNDER_1D, RiskAge.D3_7: RiskAge.D1_3, RiskAge.OVER_7D: RiskAge.D3_7}


@dataclass
class Total:
    count: int
    money: Decimal | None
    currency: str = field(default_factory=lambda: settings.REPORTING_CURRENCY)
    unpriced: int = 0  # rows whose currency has no rate: counted, their money left out
    p50_seconds: float | None = None
    p95_seconds: float | None = None
    what: str = "transactions"


def aged(field_name: str, age: str, moment: datetime) -> Q:
    """``field_name`` fell in this age bucket at ``moment`` (as ``risk.age_of`` buckets)."""
    q = Q()
    if age in LIMITS:
        q &= Q(**{f"{field_name}__gt": moment - LIMITS[age]})
    if age in OLDER:
        q &= Q(**{f"{field_name}__lte": moment - LIMITS[OLDER[age]]})
    return q


def at_risk(reason: str, moment: datetime, age: str = "") -> Q:
    """Transactions at risk for ``reason`` ("any": every reason but ``soon``) at ``moment``,
    by the rules of ``risk.assess``, and of this age if given."""
    since = {RiskReason.FAILED: "stage_event_at", RiskReason.STUCK: "next_deadline_at"}
    if reason in since:
        q = Q(state__status=reason)
        return q & aged(since[reason], age, moment) if age else q
    if reason == RiskReason.SOON:
        return _soon(moment) if age in ("", RiskAge.UNDER_1D) else Q(pk__in=[])
    leaking = Q(close_deadline__lte=moment)
    overdue = Q(deadline__lte=moment) & ~leaking
    if age:
        leaking &= aged("close_deadline", age, moment)
        overdue &= aged("deadline", age, moment)
    clocks = RiskClock.objects.filter(transaction_id=OuterRef("pk"))
    wanted = {RiskReason.LEAKAGE: leaking, RiskReason.OVERDUE: overdue}.get(reason)
    moving = Q(
        Exists(clocks.filter(wanted if wanted is not None else leaking | overdue)),
        state__status=TransactionStatus.IN_PROGRESS,
    )
    if reason != "any":
        return moving
    return moving | at_risk(RiskReason.FAILED, moment, age) | at_risk(RiskReason.STUCK, moment, age)


def _soon(moment: datetime) -> Q:
    """Moving, not at risk yet, and an SLA or stage deadline falls within the next day."""
    clocks = RiskClock.objects.filter(transaction_id=OuterRef("pk"))
    late = Q(close_deadline__lte=moment) | Q(deadline__lte=moment)
    due = Q(close_deadline__lte=moment + risk.SOON) | Q(deadline__lte=moment + risk.SOON)
    stage_due = Q(
        state__next_deadline_at__gt=moment, state__next_deadline_at__lte=moment + risk.SOON
    )
    return (
        Q(state__status=TransactionStatus.IN_PROGRESS)
        & ~Exists(clocks.filter(late))
        & (Exists(clocks.filter(due)) | stage_due)
    )


def risk_total(rows: QuerySet, reason: str, age: str, moment: datetime) -> Total:
    """The listed transactions' money at risk, by ``risk.assess`` at ``moment``."""
    count, money = 0, Decimal(0)
    for (*_, cell_reason, cell_age), (n, amount) in risk.assess(moment, among=rows).items():
        if reason == "any" and cell_reason == RiskReason.SOON:
            continue
        if (reason != "any" and cell_reason != reason) or (age and cell_age != age):
            continue
        count += n
        money += amount
    return Total(count, money.quantize(Decimal("0.01")))


def policy_of(slug: str) -> SlaPolicy | None:
    return SlaPolicy.objects.filter(slug=slug).first()


def fact_q(measure: str, start: datetime | None, end: datetime | None, prefix=False) -> Q:
    """Transactions with a fact of this measure (or measure prefix) in [start, end)."""
    facts = Fact.objects.filter(transaction_id=OuterRef("pk"), **_measure(measure, prefix))
    return Q(Exists(facts.filter(period_q(start, end))))


def _measure(measure: str, prefix: bool) -> dict:
    return {"measure__startswith": measure} if prefix else {"measure": measure}


def period_q(start: datetime | None, end: datetime | None) -> Q:
    q = Q()
    if start is not None:
        q &= Q(bucket__gte=start)
    if end is not None:
        q &= Q(bucket__lt=end)
    return q


def breached_total(rows: QuerySet, policy: SlaPolicy, start, end) -> Total:
    """SLA breaches of ``policy`` decided in the period, as the SLA tile counts them."""
    found = Fact.objects.filter(
        period_q(start, end), transaction__in=rows.order_by().values("pk"),
        measure=f"sla_breached:{policy.id}",
    ).aggregate(n=Sum("count"), money=Sum("amount"))  # fmt: skip
    return Total(int(found["n"] or 0), (found["money"] or Decimal(0)).quantize(Decimal("0.01")))


def latency_prefix(policy: SlaPolicy) -> str:
    return f"latency:{policy.id}:"


def latency_bin(policy: SlaPolicy):
    """A transaction's latency bin for ``policy`` (its fact's measure suffix), to sort by."""
    prefix = latency_prefix(policy)
    return Cast(Substr("measure", len(prefix) + 1), output_field=IntegerField())


def measured_total(rows: QuerySet, policy: SlaPolicy, start, end, now: datetime) -> Total:
    """Latencies of ``policy`` measured in the period: their count, p50 and p95 from the
    same bins as the tile, and the listed transactions' money."""
    facts = Fact.objects.filter(
        period_q(start, end), transaction__in=rows.order_by().values("pk"),
        measure__startswith=latency_prefix(policy),
    )  # fmt: skip
    bins: dict[int, int] = defaultdict(int)
    for measure, n in facts.values("measure").annotate(n=Sum("count")).values_list("measure", "n"):
        bins[int(measure.rsplit(":", 1)[1])] += n
    total = plain_total(rows.filter(fact_q(latency_prefix(policy), start, end, True)), now)
    total.p50_seconds, total.p95_seconds = percentile(bins, 0.5), percentile(bins, 0.95)
    total.count = sum(bins.values())
    return total


def plain_total(rows: QuerySet, now: datetime) -> Total:
    """Count, and money in the reporting currency at today's rates (summed per currency)."""
    rates = Rates.load()
    count, money, unpriced = 0, Decimal(0), 0
    sums = rows.order_by().values("currency").annotate(n=Count("id"), money=Sum("amount"))
    for row in sums.values_list("currency", "n", "money"):
        currency, n, amount = row
        count += n
        converted = rates.convert(amount, currency, now.date())
        if amount is not None and converted is None:
            unpriced += n
        money += converted or 0
    return Total(count, money.quantize(Decimal("0.01")), unpriced=unpriced)


def bucket_end(start: datetime, seconds: int, end: datetime) -> datetime:
    """The end of a chart point's bucket, no later than the window's end."""
    return min(start + timedelta(seconds=seconds), end)
