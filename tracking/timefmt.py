"""Canonical UTC timestamps: one text form, so that stored times compare as strings."""

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def from_unix_nanos(nanos: int) -> datetime:
    return EPOCH + timedelta(microseconds=nanos // 1000)
