"""Run-time values: the unknown marker, the evaluation context and value conversions.

At run time every value is a plain Python object chosen for speed: numbers are int/float, sizes are
int bytes, durations float seconds, datetimes float POSIX seconds (UTC), enums their canonical
string, lists tuples, `null` is None and *unknown* is the `UNKNOWN` singleton.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from . import units
from .types import Kind, Type, fold


class _Unknown:
    """The data is not available. Never equal to anything, never true, never false."""

    __slots__ = ()
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unknown"

    def __bool__(self) -> bool:
        raise TypeError("unknown has no truth value")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()

folded = lru_cache(maxsize=1 << 16)(fold)


@dataclass(frozen=True)
class EvalContext:
    """What an evaluation depends on besides the item: the clock."""

    now: datetime

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            object.__setattr__(self, "now", self.now.replace(tzinfo=UTC))

    @property
    def now_ts(self) -> float:
        return self.now.timestamp()

    @property
    def today_ts(self) -> float:
        start = self.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp()

    @classmethod
    def current(cls) -> EvalContext:
        return cls(datetime.now(UTC))


def parse_datetime(value: str | date | datetime) -> float:
    """POSIX seconds of an ISO-8601 date or datetime; dates and naive times are UTC."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def format_datetime(ts: float) -> str:
    try:
        dt = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):  # outside years 1..9999: `added + 10000 years`
        return f"1970-01-01 {'-' if ts < 0 else '+'} {abs(ts):.0f} s"
    if dt.hour == dt.minute == dt.second == dt.microsecond == 0:
        return dt.date().isoformat()
    return dt.isoformat(timespec="seconds").replace("+00:00", "Z")


def format_value(value: object, type_: Type) -> str:
    """Show a run-time value the way a user would write it."""
    if value is UNKNOWN:
        return "unknown"
    if value is None:
        return "null"
    kind = type_.kind
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind is Kind.SIZE and isinstance(value, int | float):
        return units.format_size(value)
    if kind is Kind.DURATION and isinstance(value, int | float):
        return units.format_duration(value)
    if kind is Kind.DATETIME and isinstance(value, int | float) and math.isfinite(value):
        return format_datetime(value)
    if kind is Kind.LIST and isinstance(value, tuple | list):
        elem = type_.elem or type_
        return "[" + ", ".join(format_value(v, elem) for v in value) + "]"
    if kind is Kind.WATCHES and isinstance(value, dict):
        return "{" + ", ".join(f"{user}: {plays} plays" for user, (plays, _) in value.items()) + "}"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
