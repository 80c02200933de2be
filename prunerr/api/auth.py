"""API authentication: the API key, generated on first start and stored in the database,
overridable by PRUNERR_API_KEY, sent as `X-Api-Key`, `?apikey=` or `Authorization: Bearer`.

Authenticators are a list so a same-origin web UI can later add a server-issued session cookie;
request headers a script can forge (`Origin`, `Sec-Fetch-*`) are never trusted.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

import falcon
from pony.orm import db_session

from prunerr.store import settings as saved_settings
from prunerr.store.database import Store

from .errors import ApiError

# paths anyone may call; /api/health then answers only the overall status
PUBLIC = frozenset(
    ("GET", f"/api/{path}")
    for path in ("health", *(f"health/{p}" for p in ("version", "ping", "live", "ready")))
) | {("GET", "/api/openapi.json")}


class ApiKeys:
    """The current key: PRUNERR_API_KEY when set, else the one stored in the database."""

    SETTING = "api_key"

    def __init__(self, store: Store, configured: str | None):
        self.store = store
        self.configured = configured

    @property
    def from_environment(self) -> bool:
        return bool(self.configured)

    def current(self) -> str:
        if self.configured:
            return self.configured
        with db_session:
            stored = saved_settings.saved(self.store, (self.SETTING,))
            if self.SETTING in stored:
                return str(stored[self.SETTING])
            key = secrets.token_hex(16)
            saved_settings.save(self.store, {self.SETTING: key})
            return key

    def regenerate(self) -> str:
        """A new stored key; the old one stops working at once."""
        if self.configured:
            raise ApiError(409, "The API key is set by PRUNERR_API_KEY; change it there")
        key = secrets.token_hex(16)
        with db_session:
            saved_settings.save(self.store, {self.SETTING: key})
        return key

    def matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.current().encode())


def presented_key(req: falcon.Request) -> str | None:
    header = req.get_header("X-Api-Key")
    if header:
        return header
    authorization = req.get_header("Authorization") or ""
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return req.get_param("apikey")


def api_key_authenticator(keys: ApiKeys) -> Callable[[falcon.Request], bool]:
    def authenticate(req: falcon.Request) -> bool:
        key = presented_key(req)
        return key is not None and keys.matches(key)

    return authenticate


class AuthMiddleware:
    def __init__(self, authenticators: list[Callable[[falcon.Request], bool]]):
        self.authenticators = authenticators

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.authenticated = any(auth(req) for auth in self.authenticators)
        if not req.path.startswith("/api/") or req.context.authenticated:
            return
        if (req.method, req.path) in PUBLIC:
            return
        raise ApiError(401, "Invalid or missing API key (send it as X-Api-Key)")
