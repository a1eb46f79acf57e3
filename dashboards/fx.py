"""Amounts in the reporting currency, with daily FX rates (admin-editable, CSV-importable).

A rate is the number of reporting-currency units for one unit of the currency on a date.
An amount is converted at the rate of its day, or the latest earlier one; with none
earlier, the earliest later one. A currency with no rate at all cannot be converted: its
amounts are left out of money figures and counted as ``unpriced``.
"""

import csv
import io
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from audit import log as audit

CENT = Decimal("0.01")


class Rates:
    def __init__(self, rows: list[tuple[str, date, Decimal]], reporting: str) -> None:
        self.reporting = reporting
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for currency, day, rate in sorted(rows):
            self._days.setdefault(currency, []).append(day)
            self._rates.setdefault(currency, []).append(rate)

    @classmethod
    def load(cls) -> "Rates":
        from .models import FxRate

        rows = FxRate.objects.values_list("currency", "date", "rate")
        return cls(list(rows), settings.REPORTING_CURRENCY)

    def rate(self, currency: str, day: date) -> Decimal | None:
        if not currency or currency == self.reporting:
            return Decimal(1)
        days = self._days.get(currency)
        if not days:
            return None
        index = bisect_right(days, day) - 1
        return self._rates[currency][max(index, 0)]

    def convert(self, amount: Decimal | None, currency: str, day: date) -> Decimal | None:
        if amount is None:
            return None
        rate = self.rate(currency, day)
        return None if rate is None else (amount * rate).quantize(CENT)

    def exchange(self, amount: Decimal, source: str, target: str, day: date) -> Decimal | None:
        """``amount`` of ``source`` in ``target``, through the reporting currency."""
        if source == target:
            return amount
        there, back = self.rate(source, day), self.rate(target, day)
        if there is None or back is None or not back:
            return None
        return (amount * there / back).quantize(CENT)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class BadRates(ValueError):
    pass


def import_csv(text: str, who: audit.Who, source: str = "") -> ImportResult:
    """Load ``date,currency,rate`` rows (with that header); all or nothing. The import is one
    audit entry with its counts (``source``: the file it came from), in the same transaction."""
    from .models import FxRate

    parsed = _parse(text)
    result = ImportResult()
    with transaction.atomic():
        # The stored rates of the file's currencies and days, read once (a superset: the
        # file's pairs are looked up in it).
        stored = {
            (rate.currency, rate.date): rate
            for rate in FxRate.objects.select_for_update().filter(
                currency__in={c for c, _ in parsed}, date__in={d for _, d in parsed}
            )
        }
        new, changed = [], []
        for (currency, day), rate in parsed.items():
            current = stored.get((currency, day))
            if current is None:
                new.append(FxRate(currency=currency, date=day, rate=rate))
            elif current.rate != rate:
                current.rate = rate
                changed.append(current)
        FxRate.objects.bulk_create(new)
        FxRate.objects.bulk_update(changed, ["rate"])
        result.created, result.updated = len(new), len(changed)
        result.unchanged = len(parsed) - len(new) - len(changed)
        days = sorted(day for _, day in parsed)
        audit.record(
            who, "import", None, object_type="fx_rates", object_id=source[-64:],
            after={
                "added": result.created, "updated": result.updated,
                "unchanged": result.unchanged,
                "currencies": sorted({currency for currency, _ in parsed}),
                "from": days[0] if days else None, "to": days[-1] if days else None,
            },
        )  # fmt: skip
    return result


def _parse(text: str) -> dict[tuple[str, date], Decimal]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or {"date", "currency", "rate"} - set(reader.fieldnames):
        raise BadRates("the CSV needs a header with the columns date, currency, rate")
    parsed: dict[tuple[str, date], Decimal] = {}
    for line, row in enumerate(reader, start=2):
        try:
            day = date.fromisoformat((row["date"] or "").strip())
        except ValueError as exc:
            raise BadRates(f"line {line}: date {row['date']!r} is not YYYY-MM-DD") from exc
        currency = (row["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise BadRates(f"line {line}: currency {row['currency']!r} is not a 3-letter code")
        try:
            rate = Decimal((row["rate"] or "").strip())
        except InvalidOperation as exc:
            raise BadRates(f"line {line}: rate {row['rate']!r} is not a number") from exc
        if not rate.is_finite() or rate <= 0:
            raise BadRates(f"line {line}: rate must be a positive number")
        parsed[(currency, day)] = rate
    return parsed
