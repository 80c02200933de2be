"""The HTTP client every plugin uses: timeouts, bounded retries of transient failures (5xx,
timeouts, 429 with Retry-After), and errors in words. `describe_failure` is the one place where a
failed call (an exception or an unexpected answer) becomes a message naming the service, its
address (credentials masked), the cause and the likely fix; every client's errors go through it.
The URL's query string, which may carry an API key, is never shown."""

from __future__ import annotations

import contextlib
import errno
import html
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import httpx
import msgspec

from prunerr.config import mask_query, mask_url
from prunerr.sdk import ServiceError

log = logging.getLogger(__name__)
# httpx logs every URL at INFO, query string included, and some services (Tautulli) take their
# key as a query parameter: keep it out of the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)

TRANSIENT = frozenset({429, 500, 502, 503, 504})

_calls: ContextVar[list[str] | None] = ContextVar("prunerr_http_calls", default=None)
_problems: ContextVar[list[Problem] | None] = ContextVar("prunerr_http_problems", default=None)


@contextlib.contextmanager
def _collecting(into: ContextVar[list | None]) -> Iterator[list]:
    """A new list that `into` holds while this context (thread) lasts."""
    collected: list = []
    token = into.set(collected)
    try:
        yield collected
    finally:
        into.reset(token)


def recorded_calls() -> contextlib.AbstractContextManager[list[str]]:
    """Collect every request made in this context (thread) as `service METHOD path?params ->
    status`: what deletion history keeps as the upstream calls made. Only per-call parameters
    are shown, never a client's credentials."""
    return _collecting(_calls)


def recorded_problems() -> contextlib.AbstractContextManager[list[Problem]]:
    """Collect the Problem of every HttpError raised in this context (thread): what `prunerr
    doctor` reads behind a failed `health()`, to say which check failed and its fix."""
    return _collecting(_problems)


@dataclass(frozen=True)
class Upstream:
    """What messages say of the product behind a client: its name, what its credential is
    called and where a user finds it."""

    app: str  # Radarr
    key: str = "API key"
    key_where: str | None = None  # Settings > General > Security


@dataclass(frozen=True)
class Problem:
    """A failed call in words. `check` is the stage that failed: `reachable` (nothing answers),
    `tls`, `key` (the credential was refused), `service` (something answers, but not this
    service's API at this address) or `answer` (the service answered, but with an error)."""

    service: str
    url: str  # the base URL, masked
    check: str
    cause: str
    fix: str
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.cause}. Fix: {self.fix}"


class HttpError(ServiceError):
    """A ServiceError carrying its Problem: `service: CALL at URL: cause. Fix: fix`."""

    def __init__(self, problem: Problem, where: str):
        super().__init__(problem.service, f"{where} at {problem.url}: {problem}")
        self.problem = problem
        self.status = problem.status
        problems = _problems.get()
        if problems is not None:
            problems.append(problem)


_API_SUFFIX = re.compile(r"(/api(/v\d+)?)/*$", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_LOGIN = re.compile(r"log ?in|sign ?in|authenticat|authelia|authentik|oauth|sso", re.IGNORECASE)
_TLS_OVER_HTTP = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _find(exc: BaseException, kind: type[BaseException]):
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _host_port(url: httpx.URL) -> str:
    port = url.port or {"http": 80, "https": 443}.get(url.scheme, 0)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}"


def _page_title(response: httpx.Response) -> str | None:
    """An HTML answer's title (shortened), "" for an HTML page without one, None if not HTML."""
    text = response.text[:20_000]
    kind = response.headers.get("Content-Type", "")
    if "html" not in kind and text.lstrip()[:1] != "<":
        return None
    match = _TITLE.search(text)
    title = " ".join(html.unescape(match.group(1)).split())[:80] if match else ""
    return title


def describe_failure(
    failure: BaseException | httpx.Response,
    *,
    service: str,
    base_url: str | httpx.URL,
    upstream: Upstream | None = None,
    not_json: bool = False,
    timeout: float | None = None,
) -> Problem:
    """The one mapping of a failed call (a transport exception, or a response that was not
    expected, or, with `not_json`, a body that does not parse) to a Problem in words."""
    upstream = upstream or Upstream(service)
    app = upstream.app
    url = httpx.URL(str(base_url))
    shown = mask_url(str(base_url).rstrip("/"))
    where = _host_port(url)

    def problem(check: str, cause: str, fix: str, status: int | None = None) -> Problem:
        return Problem(service, shown, check, cause, fix, status)

    if isinstance(failure, httpx.Response):
        return _describe_response(failure, problem, url, app, upstream, not_json)

    exc = failure
    if (verify := _find(exc, ssl.SSLCertVerificationError)) is not None:
        reason = verify.verify_message or verify.reason or "not trusted"
        if "self-signed" in reason or "self signed" in reason:
            return problem(
                "tls",
                f"the TLS certificate of {where} is self-signed ({reason}), so it is not trusted",
                "use a certificate from a trusted authority, or add this one's CA to the trust "
                "store (SSL_CERT_FILE=/path/ca.pem); on a private network, http:// also works",
            )
        if "hostname" in reason.lower() or "not valid for" in str(verify):
            return problem(
                "tls",
                f"the TLS certificate of {where} is not valid for the host name {url.host!r}",
                "use the host name the certificate names in the URL, or fix the certificate",
            )
        if "expired" in reason:
            return problem("tls", f"the TLS certificate of {where} has expired", "renew it")
        return problem(
            "tls",
            f"the TLS certificate of {where} is not trusted ({reason})",
            "add its CA to the trust store (SSL_CERT_FILE=/path/ca.pem), or serve a certificate "
            "from a trusted authority",
        )
    if (tls := _find(exc, ssl.SSLError)) is not None:
        reason = str(tls.reason or tls)
        if any(code in reason.upper() for code in _TLS_OVER_HTTP):
            return problem(
                "tls",
                f"https:// was used, but {where} answers plain HTTP (no TLS there)",
                f"use http:// in the URL, or the port where {app} serves https",
            )
        return problem(
            "tls",
            f"the TLS handshake with {where} failed ({reason})",
            "check that the port serves https, or use http://",
        )
    if _find(exc, ConnectionRefusedError) is not None:
        local = url.host in ("localhost", "127.0.0.1", "::1")
        docker = (
            "; in Docker, localhost is Prunerr's own container: use the service's name"
            if local
            else ""
        )
        return problem(
            "reachable",
            f"connection refused: nothing is listening on {where}",
            f"check the port in the URL and that {app} is running{docker}",
        )
    if (dns := _find(exc, socket.gaierror)) is not None:
        if dns.errno == socket.EAI_AGAIN:
            cause = f"the host name {url.host!r} could not be looked up (DNS did not answer)"
        else:
            cause = f"the host name {url.host!r} does not resolve (unknown to DNS)"
        return problem(
            "reachable",
            cause,
            "check the host name in the URL; in Docker, use the service's container name on a "
            "network Prunerr shares, or an IP address",
        )
    seconds = f" within {timeout:g}s" if timeout else ""
    if isinstance(exc, httpx.ConnectTimeout):
        return problem(
            "reachable",
            f"no answer from {where} to the connection{seconds}",
            "check the host and port in the URL; a firewall may be dropping the connection",
        )
    if isinstance(exc, httpx.TimeoutException):
        return problem(
            "reachable",
            f"{where} accepted the connection but sent no answer{seconds}: the request timed out",
            f"check that {app} responds in a browser; it may be overloaded, stuck or still "
            "starting (or the port belongs to something else)",
        )
    unreachable = _find(exc, OSError)
    if unreachable is not None and unreachable.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return problem(
            "reachable",
            f"no route to {where} (network or host unreachable)",
            "check the host in the URL and that Prunerr's network can reach it",
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError) or _find(
        exc, ConnectionResetError
    ):
        hint = (
            f"if the port serves https, use https://; otherwise check {app}'s logs"
            if url.scheme == "http"
            else f"check {app}'s logs and any proxy in front of it"
        )
        return problem(
            "reachable", f"{where} closed the connection without a complete answer", hint
        )
    return problem(
        "reachable",
        f"the connection to {where} failed ({type(exc).__name__})",
        f"check the URL and that {app} is running",
    )


def _describe_response(response, problem, url, app, upstream, not_json) -> Problem:
    status = response.status_code
    title = _page_title(response) if not_json or status >= 300 else None
    if not_json and status < 300:
        if title is None:
            return problem(
                "answer",
                "malformed JSON: the answer was cut short or is not JSON",
                f"retry; if it persists, check {app} and any proxy between Prunerr and it",
                status,
            )
        if _LOGIN.search(title) or 'type="password"' in response.text[:20_000].lower():
            return problem(
                "service",
                f"a login page{_titled(title)} answered instead of {app}'s API",
                f"a reverse proxy's login (Authelia, Authentik, basic auth...) is in front: point "
                f"the URL at {app} directly (its own host and port), or let its API path through",
                status,
            )
        return problem(
            "service",
            f"an HTML page{_titled(title)} answered instead of {app}'s JSON API",
            f"the URL points to another service or web page: give {app}'s base URL",
            status,
        )
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        target = httpx.URL(str(url)).join(location) if location else None
        shown = mask_url(str(target).split("?")[0]) if target else "elsewhere"
        if target is not None and target.scheme == "https" and url.scheme == "http":
            fix = "use https:// in the URL"
        elif _LOGIN.search(location):
            fix = (
                f"a login page (reverse proxy authentication) is in front: point the URL at "
                f"{app} directly, or let its API path through"
            )
        else:
            fix = f"use the address it redirects to as the URL, if that is {app}"
        return problem("service", f"redirected (HTTP {status}) to {shown}", fix, status)
    if status in (401, 403):
        where = f" ({app}: {upstream.key_where})" if upstream.key_where else ""
        refused = "refused" if status == 401 else "not allowed to do this"
        return problem(
            "key",
            f"the {upstream.key} was {refused} (HTTP {status})",
            f"check the {upstream.key} configured for this service{where}",
            status,
        )
    if status == 404:
        suffix = _API_SUFFIX.search(url.path)
        if suffix:
            base = str(url.copy_with(path=url.path[: suffix.start()] or "/")).rstrip("/")
            return problem(
                "service",
                f"not found (HTTP 404): the URL ends in {suffix.group(1)}, which Prunerr adds "
                "itself",
                f"remove {suffix.group(1)} from the URL: {mask_url(base)}",
                status,
            )
        other = f", and an HTML page{_titled(title)} answered" if title is not None else ""
        return problem(
            "service",
            f"not found (HTTP 404){other}: this address does not serve {app}'s API",
            f"check the URL: its base path (a URL base set in {app}'s settings belongs in it, "
            f"e.g. http://host:port/{app.lower()}), and that it is {app}'s, not another service's",
            status,
        )
    if status == 429:
        return problem(
            "answer",
            "rate limited (HTTP 429): too many requests",
            "wait and retry; fewer runs or a longer schedule help",
            status,
        )
    if status in (502, 504):
        return problem(
            "reachable",
            f"a proxy in front of {app} got no answer from it (HTTP {status})",
            f"check that {app} is running and that the proxy points to its port",
            status,
        )
    if status == 503:
        return problem(
            "answer",
            f"{app} is unavailable (HTTP 503): starting, updating or overloaded",
            f"retry later; check {app}'s logs if it lasts",
            status,
        )
    if status >= 500:
        return problem(
            "answer",
            f"{app} failed with an internal error (HTTP {status})",
            f"check {app}'s logs (System > Logs); the next run retries",
            status,
        )
    return problem(
        "answer",
        f"{app} refused the request (HTTP {status})",
        f"check {app}'s logs; the request may not suit this {app} version",
        status,
    )


def _titled(title: str | None) -> str:
    return f" titled {title!r}" if title else ""


def decode_json(response: httpx.Response) -> object:
    """A response's JSON body (ValueError when it is not JSON). msgspec reads the UTF-8 that
    every upstream sends several times faster than `json` (a full sync decodes hundreds of MB);
    any other encoding (a BOM, UTF-16) falls back to `response.json()`."""
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return response.json()


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
        upstream: Upstream | None = None,
    ):
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.upstream = upstream or Upstream(service)
        self._timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            params=dict(params or {}),
            timeout=timeout,
            transport=transport,
        )

    @property
    def timeout(self) -> float:
        """Seconds a request may take; setting it applies to the next request."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = self._client.timeout = seconds

    def close(self) -> None:
        self._client.close()

    @property
    def shown_url(self) -> str:
        """The base URL as messages show it (credentials masked)."""
        return mask_url(self.base_url)

    def failure(
        self, where: str, failure: BaseException | httpx.Response, *, not_json: bool = False
    ) -> HttpError:
        """The HttpError for a failed call, in words (`describe_failure`)."""
        problem = describe_failure(
            failure,
            service=self.service,
            base_url=self.base_url,
            upstream=self.upstream,
            not_json=not_json,
            timeout=self.timeout,
        )
        return HttpError(problem, where)

    def problem(self, where: str, check: str, cause: str, fix: str) -> HttpError:
        """An HttpError for what a client found wrong in an answer (the wrong service, a key
        the answer refuses), worded like the others."""
        return HttpError(Problem(self.service, self.shown_url, check, cause, fix), where)

    def request(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs
    ) -> httpx.Response:
        """Send a request, retrying transient failures; raise HttpError otherwise."""
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
                    raise self.failure(where, exc) from None
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
            raise self.failure(where, response)
        raise AssertionError("unreachable")

    def _pause(self, attempt: int, retry_after: str | None, why: str) -> None:
        delay = self.backoff * 2**attempt
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep the backoff
                delay = max(delay, min(float(retry_after), self.max_retry_after))
        log.info("%s: %s, retrying in %.1fs", self.service, why, delay)
        self._sleep(delay)

    def get_json(self, path: str, **kwargs) -> object:
        """GET and parse JSON. An unparseable body is retried like a 5xx (a cut-short answer),
        except an HTML page (a login page, another service), which no retry changes."""
        for attempt in range(self.retries + 1):
            response = self.request("GET", path, **kwargs)
            try:
                return decode_json(response)
            except ValueError:
                if attempt == self.retries or _page_title(response) is not None:
                    raise self.failure(f"GET {path}", response, not_json=True) from None
                self._pause(attempt, None, f"GET {path}: malformed JSON")
        raise AssertionError("unreachable")
