"""The HTTP client every plugin uses: timeouts, bounded retries of transient failures (5xx,
timeouts, 429 with Retry-After), and errors that name the service and the call but never a
credential (the URL's query string, which may carry an API key, is left out)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar

import httpx

from prunerr.config import mask_query
from prunerr.sdk import ServiceError

log = logging.getLogger(__name__)
# httpx logs every URL at INFO, query string included, and some services (Tautulli) take their
# key as a query parameter: keep it out of the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)

TRANSIENT = frozenset({429, 500, 502, 503, 504})

_calls: ContextVar[list[str] | None] = ContextVar("prunerr_http_calls", default=None)


@contextlib.contextmanager
def recorded_calls() -> Iterator[list[str]]:
    """Collect every request made in this context (thread) as `service METHOD path?params ->
    status`: what deletion history keeps as the upstream calls made. Only per-call parameters
    are shown, never a client's credentials."""
    calls: list[str] = []
    token = _calls.set(calls)
    try:
        yield calls
    finally:
        _calls.reset(token)


class HttpClient:
    """A client bound to one service instance's base URL and credentials."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.service = service
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=dict(headers or {}),
            params=dict(params or {}),
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs
    ) -> httpx.Response:
        """Send a request, retrying transient failures; raise ServiceError otherwise."""
        where = f"{method} {path}"
        calls = _calls.get()
        shown = f"{self.service} {where}"
        if kwargs.get("params"):
            shown += mask_query("?" + "&".join(f"{k}={v}" for k, v in kwargs["params"].items()))
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.request(method, path, **kwargs)
                response.read()
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if calls is not None:
                    calls.append(f"{shown} -> {type(exc).__name__}")
                if last:
                    raise ServiceError(self.service, f"{where}: {type(exc).__name__}") from None
                self._pause(attempt, None, f"{where}: {type(exc).__name__}")
                continue
            if calls is not None:
                calls.append(f"{shown} -> {response.status_code}")
            if response.status_code in expect:
                return response
            if response.status_code in TRANSIENT and not last:
                self._pause(
                    attempt,
                    response.headers.get("Retry-After"),
                    f"{where}: HTTP {response.status_code}",
                )
                continue
            raise ServiceError(self.service, f"{where}: HTTP {response.status_code}")
        raise AssertionError("unreachable")

    def _pause(self, attempt: int, retry_after: str | None, why: str) -> None:
        delay = self.backoff * 2**attempt
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep the backoff
                delay = max(delay, min(float(retry_after), self.max_retry_after))
        log.info("%s: %s, retrying in %.1fs", self.service, why, delay)
        self._sleep(delay)

    def get_json(self, path: str, **kwargs) -> object:
        """GET and parse JSON; an unparseable body is a ServiceError, retried like a 5xx."""
        for attempt in range(self.retries + 1):
            response = self.request("GET", path, **kwargs)
            try:
                return response.json()
            except ValueError:
                if attempt == self.retries:
                    raise ServiceError(self.service, f"GET {path}: malformed JSON") from None
                self._pause(attempt, None, f"GET {path}: malformed JSON")
        raise AssertionError("unreachable")
