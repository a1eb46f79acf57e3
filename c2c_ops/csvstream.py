"""CSV streamed line by line, safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime


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
