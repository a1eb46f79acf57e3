"""CSV streamed line by line, safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone


class _Echo:
    """A file-like that hands back what csv.writer writes, one line at a time."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> object:
    """A cell as written; text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def response(
    name: str, header: Iterable[str], rows: Iterable[Iterable[object]]
) -> StreamingHttpResponse:
    """A download of ``rows`` as ``c2c-<name>-<YYYYMMDD-HHMM>.csv``, written as it is read:
    with rows from a server-side cursor, memory stays flat however many there are."""
    answer = StreamingHttpResponse(lines(header, rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    answer["Content-Disposition"] = f'attachment; filename="c2c-{name}-{stamp}.csv"'
    return answer


def refused(errors: dict[str, list[str]]) -> HttpResponseBadRequest:
    """Filters the page would flag: an export says why, rather than send every row or none."""
    message = "; ".join(f"{field}: {' '.join(map(str, errs))}" for field, errs in errors.items())
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
