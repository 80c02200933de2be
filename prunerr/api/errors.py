"""Answers in the original Prunerr's envelope (`prunerr.compat.envelope`), errors included.
Nothing a client sends produces a 500; unexpected errors are logged and answered without
internals (or secrets).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import falcon

from prunerr.compat import envelope
from prunerr.rules.rulebook import ProtectionBroken

log = logging.getLogger(__name__)


class ApiError(falcon.HTTPError):
    """An error answered in the envelope; `details` carries structured validation problems."""

    def __init__(self, status: int, message: str, details: list | None = None):
        super().__init__(falcon.code_to_http_status(status))
        self.message = message
        self.details = details


def ok(
    resp: falcon.Response,
    data: object,
    *,
    status: int = 200,
    message: str | None = None,
    **beside: object,
) -> None:
    """Answer `data` (a `wire` shape, or plain values) in the success envelope, with `message`
    and anything `beside` it."""
    resp.status = falcon.code_to_http_status(status)
    resp.media = envelope.success(data, message, **beside)


def ok_listing(
    resp: falcon.Response, items: Iterable[object], beside: Callable[[], dict[str, object]]
) -> None:
    """`ok` of the items, with `beside()` next to them, the items encoded as the answer is sent,
    a part at a time: a listing of any length (the whole queue) costs the API a part's memory.
    `beside` is called once the items are sent (so it may count them)."""
    resp.content_type = falcon.MEDIA_JSON
    resp.stream = envelope.listing(iter(items), beside)


def invalid(field: str, problem: str) -> ApiError:
    """400 naming the failing field."""
    return ApiError(400, f"{field}: {problem}", [{"field": field, "message": problem}])


def _answer(resp: falcon.Response, status: int, message: str, details=None) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.media = envelope.failure(message, details)


def _http_error(req, resp, error: falcon.HTTPError, params) -> None:
    if isinstance(error, ApiError):
        _answer(resp, error.status_code, error.message, error.details)
        return
    message = error.description or error.title or "Error"
    if error.status_code == 404:
        message = "Endpoint not found"
    elif error.status_code == 405:
        message = f"Method {req.method} not allowed on {req.path}"
    _answer(resp, error.status_code, message)
    for name, value in (error.headers or {}).items():
        resp.set_header(name, value)


def _unexpected(req, resp, error: Exception, params) -> None:
    log.exception("unexpected error on %s %s", req.method, req.path)
    _answer(resp, 500, "Internal error; see the server log")


def _protection_broken(req, resp, error: ProtectionBroken, params) -> None:
    _answer(resp, 409, str(error), [{"rule": b.id, "message": b.message} for b in error.rules])


def install(app: falcon.App) -> None:
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(ProtectionBroken, _protection_broken)
