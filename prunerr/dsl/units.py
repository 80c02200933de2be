"""Units of the language's quantities: sizes in bytes, durations in seconds.

KB/MB/GB/TB/PB are powers of 1000 and KiB/MiB/GiB/TiB/PiB powers of 1024; a month is 30 days and a
year 365 days. The lexer, item loading and value formatting all read these tables.
"""

from __future__ import annotations

import math
import re

SIZE_UNITS: dict[str, int] = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
}

# Seconds in each unit (ints, so whole-day timestamps computed with them stay ints).
MINUTE = 60
HOUR = 3600
DAY = 86_400
WEEK = 7 * DAY
MONTH = 30 * DAY
YEAR = 365 * DAY

DURATION_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), HOUR),
    **dict.fromkeys(("d", "day", "days"), DAY),
    **dict.fromkeys(("w", "week", "weeks"), WEEK),
    **dict.fromkeys(("mo", "month", "months"), MONTH),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), YEAR),
}

_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")


def split_quantity(text: str) -> tuple[float, str] | None:
    """Split `'20 GB'` into `(20.0, 'gb')`; None when the text is not a number and a unit."""
    m = _QUANTITY.match(text)
    if not m:
        return None
    return float(m.group(1)), m.group(2).lower()


def parse_size(text: str) -> int | None:
    """Bytes in a size such as `1.5 TiB`, or None when it is not a size (or too large)."""
    parts = split_quantity(text)
    if parts is None or parts[1] not in SIZE_UNITS:
        return None
    value = parts[0] * SIZE_UNITS[parts[1]]
    return round(value) if math.isfinite(value) else None


def parse_duration(text: str) -> float | None:
    """Seconds in a duration such as `6 months`, or None when it is not a duration (or too
    large)."""
    parts = split_quantity(text)
    if parts is None or parts[1] not in DURATION_UNITS:
        return None
    value = parts[0] * DURATION_UNITS[parts[1]]
    return value if math.isfinite(value) else None


def _trim(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_size(num_bytes: float) -> str:
    """Human-readable size in decimal units (`25 GB`), the way sizes are usually quoted."""
    for unit in ("PB", "TB", "GB", "MB", "KB"):
        factor = SIZE_UNITS[unit.lower()]
        if abs(num_bytes) >= factor:
            return f"{_trim(num_bytes / factor)} {unit}"
    return f"{_trim(num_bytes)} B"


def format_duration(seconds: float) -> str:
    """Human-readable duration in the largest whole-ish unit (`180 days`, `95 min`)."""
    for unit, factor in (("days", DAY), ("h", HOUR), ("min", MINUTE)):
        if abs(seconds) >= factor:
            return f"{_trim(seconds / factor)} {unit}"
    return f"{_trim(seconds)} s"
