"""Query-string and body validation: every problem is a 400 naming the field (a body above
the configured size, a 413). Every JSON body is read and parsed here (`json_media`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal, TypeVar, get_args, get_origin

import falcon
import msgspec
from falcon.routing import BaseConverter

from prunerr import wire

from .errors import ApiError, invalid

B = TypeVar("B", bound=wire.Body)
DEFAULT_BODY_LIMIT = 4 * 2**20  # bytes, when no BodyLimit middleware set one


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


def integer(req: falcon.Request, name: str, default: int, *, minimum: int = 1, maximum: int) -> int:
    """A bounded integer query parameter (every one has a maximum: `page=1e300` is a 400)."""
    raw = text(req, name)
    if raw is None or raw == "":
        return default
    value = _integer(raw)
    if value is None:
        raise invalid(name, f"expected an integer, got {raw!r}")
    if not minimum <= value <= maximum:
        raise invalid(name, f"must be between {minimum} and {maximum}")
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


MAX_PAGE = 2**31 - 1  # keeps a page's SQL offset within 64 bits


class IdConverter(BaseConverter):
    """A route's `{name:id}`: an id of the database (ASCII digits, up to `wire.MAX_ID`), as an
    int; any other segment matches no route, so the path is unknown (404), not a bad id."""

    def convert(self, value: str) -> int | None:
        # ASCII only: str.isdigit() also takes "²", which int() refuses
        if not (value.isascii() and value.isdigit()) or int(value) > wire.MAX_ID:
            return None
        return int(value)


class BodyLimit:
    """Middleware: a request whose Content-Length is above the configured `max_request_body`
    is answered 413 before anything reads its body; `json_media` bounds what it reads of a
    body without a length (chunked) to the same limit."""

    def __init__(self, limit: Callable[[], int]):
        self.limit = limit

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = req.context.body_limit = self.limit()
        if (req.content_length or 0) > limit:
            raise too_large(limit)


def too_large(limit: int) -> ApiError:
    problem = f"larger than the limit of {limit} bytes (max_request_body)"
    return ApiError(413, f"body: {problem}", [{"field": "body", "message": problem}])


def _read(req: falcon.Request) -> bytes:
    """The body's bytes, never more than the limit (413 beyond it)."""
    limit = getattr(req.context, "body_limit", DEFAULT_BODY_LIMIT)
    length = req.content_length
    if length is not None:
        if length > limit:
            raise too_large(limit)
        return req.bounded_stream.read()
    # No length: a chunked body, readable to its end only where the server says it ends there
    # (PEP 3333's wsgi.input_terminated); elsewhere, as Falcon does, there is no body.
    if not req.env.get("wsgi.input_terminated"):
        return b""
    data = req.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data


def json_media(req: falcon.Request, default: object) -> object:
    """The JSON value a request carries (`default` when it carries nothing). Any other content
    type is refused: curl's `-d` sends a form unless told otherwise. The one place request
    bodies are read: bounded in size (413) and in nesting (400)."""
    kind = (req.content_type or "application/json").split(";")[0].strip().lower()
    if req.content_length and kind != "application/json" and not kind.endswith("+json"):
        raise invalid("body", f"expected JSON (Content-Type: application/json), got {kind}")
    data = _read(req)
    if not data:
        return default
    try:
        return wire.loads(data)
    except wire.TooDeep as exc:
        raise invalid("body", str(exc)) from None
    except ValueError as exc:  # malformed JSON, or not UTF-8
        raise invalid("body", f"invalid JSON: {exc}") from None


def body(req: falcon.Request) -> dict:
    """The JSON object a request carries ({} when it carries nothing)."""
    media = json_media(req, {})
    if not isinstance(media, dict):
        raise invalid("body", "expected a JSON object")
    return media


def decoded(req: falcon.Request, shape: type[B]) -> B:
    """The request's JSON object as `shape` (left out: every field's default; fields it does
    not declare: ignored); a 400 naming the first field that does not fit."""
    data = body(req)
    for field in msgspec.structs.fields(shape):
        nul_free(data.get(field.encode_name), field.encode_name)
    try:
        return msgspec.convert(_whole(data), shape)
    except msgspec.ValidationError as exc:
        raise _misfit(shape, str(exc)) from None


def _whole(value: object) -> object:
    """`value` with its integral numbers as ints: JSON Schema's integers include `2.0`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def _misfit(shape: type[wire.Body], error: str) -> ApiError:
    """The 400 of msgspec's `error` ("Expected `int` >= 0 - at `$.ids[0]`"): the top-level
    field, and the problem in plain words."""
    problem, _, where = error.partition(" - at `$")
    path = where.rstrip("`").lstrip(".")
    if missing := re.fullmatch(r"Object missing required field `(\w+)`", problem):
        return invalid(missing[1], "is required")
    name = re.match(r"\w*", path)[0] or "body"
    field = next((f for f in msgspec.structs.fields(shape) if f.encode_name == name), None)
    options = _literal_values(field.type) if field else ()
    if problem.startswith("Invalid enum value") and options:
        got = problem.removeprefix("Invalid enum value ")
        return invalid(name, f"expected one of {', '.join(options)}, got {got}")
    problem = problem.replace("`", "")
    problem = problem[:1].lower() + problem[1:]
    return invalid(name, problem if path == name else f"{problem} (at {path})")


def _literal_values(kind: object) -> tuple:
    """The values a Literal type (or a Literal or None) allows; () for any other type."""
    if get_origin(kind) is Literal:
        return get_args(kind)
    return tuple(v for arg in get_args(kind) for v in _literal_values(arg))


def boolean(req: falcon.Request, name: str, default: bool = False) -> bool:
    raw = text(req, name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("true", "false", "1", "0"):
        raise invalid(name, f"expected true or false, got {raw!r}")
    return raw.lower() in ("true", "1")
