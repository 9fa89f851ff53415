"""How the storage keeps time: whole seconds since the epoch (BIGINT), read back as UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def to_ts(moment: datetime) -> int:
    return int(moment.timestamp())


def from_ts(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def from_opt_ts(value: int | None) -> datetime | None:
    return None if value is None else from_ts(value)
