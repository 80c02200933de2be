"""The base of every emulator: a Falcon app served over loopback (threaded wsgiref) that counts
requests, checks credentials the way the real service does, and injects faults on demand."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon
import msgspec

from .synthetic import SyntheticLibrary


@dataclass
class Faults:
    """What goes wrong, and how often. Rates are fractions of the matching requests."""

    latency_ms: float = 0.0
    error_rate: float = 0.0  # answered 500/502/503
    timeout_rate: float = 0.0  # held for `timeout_s`, then answered 504
    timeout_s: float = 5.0
    rate_limit_rate: float = 0.0  # answered 429 with Retry-After
    retry_after_s: int = 1
    truncate_rate: float = 0.0  # body cut short under the full Content-Length
    malformed_rate: float = 0.0  # 200 with a body that does not parse
    path_pattern: str | None = None  # regex on the path; None: every request
    seed: int = 0

    def applies(self, path: str) -> bool:
        return self.path_pattern is None or re.search(self.path_pattern, path) is not None


class _Middleware:
    def __init__(self, emulator: Emulator):
        self.emulator = emulator

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        emu = self.emulator
        req.context.fault = None
        if not emu.authenticate(req):
            emu.reject(req, resp)
            resp.complete = True
            return
        faults = emu.faults
        if not faults.applies(req.path):
            return
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        fault = emu.draw_fault()
        req.context.fault = fault
        if fault == "error":
            resp.status = emu.choice((500, 502, 503))
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = "injected server error"
            resp.complete = True
        elif fault == "timeout":
            time.sleep(faults.timeout_s)
            resp.status = 504
            resp.complete = True
        elif fault == "rate_limit":
            emu.rate_limited(req, resp)
            resp.complete = True

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        emu = self.emulator
        emu.count(req.method, req.uri_template or req.path)
        fault = getattr(req.context, "fault", None)
        if fault not in ("truncate", "malformed") or resp.status_code != 200:
            return
        if fault == "truncate":
            req.env[_TRUNCATE] = True  # done by _Truncating below the framework
        else:
            body = resp.render_body() or b""
            resp.data = body[: max(1, len(body) // 3)] + b"\x00<<garbage"


_TRUNCATE = "prunerr.emulation.truncate"


class _Truncating:
    """WSGI wrapper: announce the full Content-Length, send half the body, let the server drop
    the connection, the way a proxy or a crashing service cuts a response short."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        captured = []
        body = b"".join(
            self.app(environ, lambda status, headers, exc=None: captured.append((status, headers)))
        )
        status, headers = captured[0]
        if environ.get(_TRUNCATE) and len(body) > 1:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body[: len(body) // 2]]
        start_response(status, headers)
        return [body]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the emulator counts requests itself
        pass


class Emulator:
    """Subclasses set `service`, add routes in `routes(app)` and define the service's auth."""

    service = "emulator"

    def __init__(self, library: SyntheticLibrary, api_key: str, faults: Faults | None = None):
        self.library = library
        self.api_key = api_key
        self.faults = faults or Faults()
        self.requests: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._random = random.Random(self.faults.seed)
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = falcon.App(middleware=[_Middleware(self)])
        self.app.req_options.auto_parse_qs_csv = False
        self.app.req_options.strip_url_path_trailing_slash = True
        self.routes(self.app)

    # what subclasses define
    def routes(self, app: falcon.App) -> None:
        raise NotImplementedError

    def authenticate(self, req: falcon.Request) -> bool:
        raise NotImplementedError

    def reject(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The service's answer to a missing or wrong key."""
        resp.status = 401

    def rate_limited(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = 429
        resp.set_header("Retry-After", str(self.faults.retry_after_s))

    # bookkeeping
    def count(self, method: str, route: str) -> None:
        with self._lock:
            self.requests[(method, route)] += 1

    @property
    def request_total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def choice(self, options):
        with self._lock:
            return self._random.choice(options)

    def draw_fault(self) -> str | None:
        f = self.faults
        with self._lock:
            x = self._random.random()
        for name, rate in (
            ("error", f.error_rate),
            ("timeout", f.timeout_rate),
            ("rate_limit", f.rate_limit_rate),
            ("truncate", f.truncate_rate),
            ("malformed", f.malformed_rate),
        ):
            if x < rate:
                return name
            x -= rate
        return None

    # serving
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = make_server(
            host, port, _Truncating(self.app), server_class=_Server, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator-{self.service}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def json_body(resp: falcon.Response, payload: object, status: int = 200) -> None:
    """Send compact JSON, as the real services do."""
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = msgspec.json.encode(payload)
