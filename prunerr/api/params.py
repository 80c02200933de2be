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


def body(req: falcon.Request) -> dict:
    """The JSON object a request carries ({} when it carries nothing)."""
    media = req.get_media(default_when_empty={})
    if not isinstance(media, dict):
        raise invalid("body", "expected a JSON object")
    return media


def number(data: dict, name: str, default: float, *, minimum: float = 0) -> float:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, f"expected a number, got {value!r}")
    if value < minimum:
        raise invalid(name, f"must be at least {minimum:g}")
    return value


def flag(data: dict, name: str, default: bool) -> bool:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(name, f"expected true or false, got {value!r}")
    return value


def option(data: dict, name: str, options, default: str | None) -> str:
    value = data.get(name, default)
    if value is None:
        raise invalid(name, "is required")
    if value not in options:
        raise invalid(name, f"expected one of {', '.join(options)}, got {value!r}")
    return value


def boolean(req: falcon.Request, name: str, default: bool = False) -> bool:
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false", "1", "0"):
        raise invalid(name, f"expected true or false, got {raw!r}")
    return raw.lower() in ("true", "1")
