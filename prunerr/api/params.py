"""Query-string and body validation: every problem is a 400 naming the field."""

from __future__ import annotations

import math

import falcon

from .errors import invalid


def text(req: falcon.Request, name: str) -> str | None:
    """A query parameter's value (None when absent); given more than once is a 400."""
    values = req.get_param_as_list(name)
    if values is None:
        return None
    if len(values) > 1:
        raise invalid(name, "given more than once")
    return nul_free(values[0], name)


def nul_free(value, name: str):
    """`value` (JSON), refused with a 400 naming `name` if a string in it holds a NUL character,
    which PostgreSQL text cannot hold."""
    if isinstance(value, str) and "\x00" in value:
        raise invalid(name, "must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            nul_free(key, name)
            nul_free(item, name)
    elif isinstance(value, list):
        for item in value:
            nul_free(item, name)
    return value


def integer(
    req: falcon.Request, name: str, default: int, *, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = text(req, name)
    if raw is None or raw == "":
        return default
    value = _integer(raw)
    if value is None:
        raise invalid(name, f"expected an integer, got {raw!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise invalid(
            name, f"must be between {minimum}{upper}" if upper else f"must be at least {minimum}"
        )
    return value


def _integer(raw: str) -> int | None:
    """`raw` as an integer, `120.0` too: JSON Schema's integers include it."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def choice(req: falcon.Request, name: str, options, default: str | None = None) -> str | None:
    raw = text(req, name)
    if raw is None or raw == "":
        return default
    if raw not in options:
        raise invalid(name, f"expected one of {', '.join(options)}, got {raw!r}")
    return raw


MAX_ID = 2**63 - 1  # the databases' keys are 64-bit
MAX_PAGE = 2**31 - 1  # keeps a page's SQL offset within 64 bits


def path_id(value: str, name: str = "id") -> int:
    # ASCII only: str.isdigit() also takes "²", which int() refuses
    if not (value.isascii() and value.isdigit()):
        raise invalid(name, f"expected a numeric id, got {value!r}")
    number = int(value)
    if number > MAX_ID:
        raise invalid(name, f"must be at most {MAX_ID}")
    return number


def json_media(req: falcon.Request, default: object) -> object:
    """The JSON value a request carries (`default` when it carries nothing). Any other content
    type is refused: curl's `-d` sends a form unless told otherwise."""
    kind = (req.content_type or "application/json").split(";")[0].strip().lower()
    if req.content_length and kind != "application/json" and not kind.endswith("+json"):
        raise invalid("body", f"expected JSON (Content-Type: application/json), got {kind}")
    return req.get_media(default_when_empty=default)


def body(req: falcon.Request) -> dict:
    """The JSON object a request carries ({} when it carries nothing)."""
    media = json_media(req, {})
    if not isinstance(media, dict):
        raise invalid("body", "expected a JSON object")
    return media


def number(
    data: dict, name: str, default: float, *, minimum: float = 0, maximum: float = math.inf
) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, f"expected a number, got {value!r}")
    if not minimum <= value <= maximum:  # NaN too
        upper = f" to {maximum:g}" if math.isfinite(maximum) else " up"
        raise invalid(name, f"expected a number from {minimum:g}{upper}")
    return value


def flag(data: dict, name: str, default: bool) -> bool:
    value = data.get(name, default)
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
    raw = text(req, name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false", "1", "0"):
        raise invalid(name, f"expected true or false, got {raw!r}")
    return raw.lower() in ("true", "1")
