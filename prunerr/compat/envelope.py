"""The original Prunerr's response envelope, which its clients parse before anything else:
success `{"success": true, "data": ..., "message"?: ...}`, with what an endpoint answers beside
its data next to `data` (the queue's `summary`, a listing's `total`); failure
`{"success": false, "error": "...", "details"?: [...]}`; and the JSON Schemas of both, for the
OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice

from prunerr.wire import encode


def success(data: object, message: str | None = None, **beside: object) -> dict[str, object]:
    """The envelope of `data` (a `wire` shape, or plain values), with `message` and anything
    `beside` it."""
    return {"success": True, "data": data, **({"message": message} if message else {}), **beside}


def failure(message: str, details: list | None = None) -> dict[str, object]:
    return {"success": False, "error": message, **({"details": details} if details else {})}


def listing(
    items: Iterator[object], beside: Callable[[], dict[str, object]], part: int = 500
) -> Iterator[bytes]:
    """The encoded envelope of the items as `data` and `beside()` next to it, `part` items at a
    time; `beside` is called once the items are encoded (so it may count them)."""
    yield b'{"success":true,"data":['
    first = True
    while chunk := list(islice(items, part)):
        yield (b"" if first else b",") + encode(chunk)[1:-1]
        first = False
    rest = encode(beside())
    yield b"]" + (b"," + rest[1:] if rest != b"{}" else b"}")


def success_schema(data: dict, beside: dict | None = None) -> dict:
    """The envelope of `data`, with the properties `beside` it (all of them always given)."""
    return {
        "type": "object",
        "required": ["success", "data", *(beside or {})],
        "properties": {
            "success": {"const": True},
            "data": data,
            "message": {"type": "string"},
            **(beside or {}),
        },
        "additionalProperties": False,
    }


FAILURE_SCHEMA = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"const": False},
        "error": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": False,
}
