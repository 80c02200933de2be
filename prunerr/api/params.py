"""Query-string and body validation: every problem is a 400 naming the field."""

from __future__ import annotations

import falcon

from .errors import invalid


def integer(
    req: falcon.Request, name: str, default: int, *, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"expected an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise invalid(
            name, f"must be between {minimum}{upper}" if upper else f"must be at least {minimum}"
        )
    return value


def choice(req: falcon.Request, name: str, options, default: str | None = None) -> str | None:
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    if raw not in options:
        raise invalid(name, f"expected one of {', '.join(options)}, got {raw!r}")
    return raw


def path_id(value: str, name: str = "id") -> int:
    if not value.isdigit():
        raise invalid(name, f"expected a numeric id, got {value!r}")
    return int(value)
