"""An emulator of one Discord channel webhook, `POST /api/webhooks/{id}/{token}`: Discord's
embed limits (400 "Invalid Form Body" with per-field errors), its answers to an unknown webhook
(404) or a wrong token (401), and a per-webhook rate limit with Discord's headers and 429 body.
The API key is the webhook's token; the messages it accepts are kept in `received`."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import time
from collections.abc import Callable
from typing import Any

import falcon

from prunerr.emulation import Faults, SyntheticLibrary, json_body
from prunerr_plugins.inbox import Inbox, json_object

from . import WEBHOOK_ID, webhook_url
from . import embeds as limits

CHANNEL_ID = "1181234567890120000"
CONTENT = 2000
PATH = re.compile(r"/api/webhooks/(?P<id>[^/]+)/(?P<token>[^/]+)")


EMBED_TEXTS = (
    (("title",), limits.TITLE),
    (("description",), limits.DESCRIPTION),
    (("footer", "text"), limits.FOOTER),
    (("author", "name"), limits.AUTHOR),
)


def _at(value: object, path: tuple[str, ...]) -> object:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class _Errors(dict):
    """Discord's nested error shape: `{"embeds": {"0": {"title": {"_errors": [...]}}}}`."""

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def length(self, path: tuple[str | int, ...], value: object, limit: int) -> None:
        """A string (trimmed, as Discord counts it) or a list longer than `limit`."""
        if isinstance(value, str):
            value = value.strip()
        if isinstance(value, str | list) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def validate(payload: dict[str, Any]) -> dict[str, Any]:
    """Discord's checks of an Execute Webhook body, as its `errors` object (empty when valid)."""
    errors = _Errors()
    errors.length(("content",), payload.get("content"), CONTENT)
    username = payload.get("username")
    if username is not None:
        if not isinstance(username, str) or not 1 <= len(username.strip()) <= limits.USERNAME:
            message = f"Must be between 1 and {limits.USERNAME} in length."
            errors.add(("username",), "BASE_TYPE_BAD_LENGTH", message)
        elif "discord" in username.lower():
            message = 'Username cannot contain "discord"'
            errors.add(("username",), "USERNAME_INVALID_CONTAINS", message)
    embeds = payload.get("embeds") or []
    if not isinstance(embeds, list):
        errors.add(("embeds",), "LIST_TYPE_CONVERT", "Must be an array.")
        return errors
    errors.length(("embeds",), embeds, limits.EMBEDS)
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            errors.add(("embeds", i), "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
            continue
        for path, limit in EMBED_TEXTS:
            errors.length(("embeds", i, *path), _at(embed, path), limit)
        fields = embed.get("fields") or []
        errors.length(("embeds", i, "fields"), fields, limits.FIELDS)
        for j, field in enumerate(fields):
            for key, limit in (("name", limits.FIELD_NAME), ("value", limits.FIELD_VALUE)):
                value, path = _at(field, (key,)), ("embeds", i, "fields", j, key)
                if not isinstance(value, str) or not value.strip():
                    errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
                else:
                    errors.length(path, value, limit)
    if not errors and sum(limits.size(e) for e in embeds) > limits.TOTAL:
        message = f"Embed size exceeds maximum size of {limits.TOTAL}"
        errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", message)
    return errors


def render(message: dict[str, Any]) -> str:
    """A message as a few readable lines of text, for the demo."""
    head = f"discord | {message['author']['username']}"
    lines = [f"{head}: {message['content']}" if message["content"] else head]
    for embed in message["embeds"]:
        if "title" in embed:
            lines.append(f"  ## {embed['title']}")
        lines += [f"  {line}" for line in embed.get("description", "").splitlines()]
        lines += [f"  - {f['name']}: {f['value']}" for f in embed.get("fields", ())]
        if "footer" in embed:
            lines.append(f"  ({embed['footer']['text']})")
    return "\n".join(lines)


class DiscordEmulator(Inbox):
    service = "discord"

    def __init__(
        self,
        library: SyntheticLibrary,
        api_key: str,
        faults: Faults | None = None,
        *,
        printer: Callable[[str], None] | None = None,
        rate_limit: tuple[int, float] | None = (5, 2.0),
        clock: Callable[[], float] = time.time,
    ):
        """`rate_limit` is (requests, per seconds) for the webhook, None for no limit;
        `clock` lets a test move time forward instead of waiting."""
        self.rate_limit = rate_limit
        self.clock = clock
        self._reset_at, self._remaining = 0.0, 0
        self._ids = itertools.count(1_181_300_000_000_000_000)
        super().__init__(library, api_key, faults, printer=printer)

    @property
    def webhook_url(self) -> str:
        return webhook_url(self.url, self.api_key)

    def routes(self, app: falcon.App) -> None:
        app.add_route("/api/webhooks/{webhook_id}/{token}", _Webhook(self))

    def authenticate(self, req: falcon.Request) -> bool:
        match = PATH.fullmatch(req.path)
        return bool(match and (match["id"], match["token"]) == (WEBHOOK_ID, self.api_key))

    def reject(self, req: falcon.Request, resp: falcon.Response) -> None:
        match = PATH.fullmatch(req.path)
        if match and match["id"] == WEBHOOK_ID:
            json_body(resp, {"message": "Invalid Webhook Token", "code": 50027}, 401)
        else:
            json_body(resp, {"message": "Unknown Webhook", "code": 10015}, 404)

    def rate_limited(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._too_many(resp, float(self.faults.retry_after_s))

    def take(self, resp: falcon.Response) -> bool:
        """Count a request against the webhook's bucket, with Discord's headers; False (and a
        429) when the bucket is empty."""
        if self.rate_limit is None:
            return True
        limit, per = self.rate_limit
        with self._lock:
            now = self.clock()
            if now >= self._reset_at:
                self._reset_at, self._remaining = now + per, limit
            allowed = self._remaining > 0
            self._remaining = max(0, self._remaining - 1)
            remaining, reset_after, reset_at = self._remaining, self._reset_at - now, self._reset_at
        resp.set_headers(
            {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": f"{reset_at:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": f"webhook-{WEBHOOK_ID}",
            }
        )
        if not allowed:
            self._too_many(resp, round(reset_after, 3))
        return allowed

    @staticmethod
    def _too_many(resp: falcon.Response, retry_after: float) -> None:
        resp.set_header("Retry-After", str(math.ceil(retry_after)))
        resp.set_header("X-RateLimit-Scope", "shared")
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        json_body(resp, {**body, "global": False}, 429)

    def message(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The Message object Discord creates for an accepted payload."""
        return {
            "id": str(next(self._ids)),
            "type": 0,
            "channel_id": CHANNEL_ID,
            "webhook_id": WEBHOOK_ID,
            "author": {
                "id": WEBHOOK_ID,
                "username": payload.get("username") or "Captain Hook",
                "bot": True,
            },
            "content": payload.get("content", ""),
            "embeds": [{"type": "rich", **embed} for embed in payload.get("embeds", [])],
            "timestamp": dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat(),
        }

    def render(self, message: dict[str, Any]) -> str:
        return render(message)


class _Webhook:
    def __init__(self, emulator: DiscordEmulator):
        self.emulator = emulator

    def on_get(self, req: falcon.Request, resp: falcon.Response, webhook_id: str, token: str):
        json_body(
            resp,
            {
                "id": WEBHOOK_ID,
                "type": 1,
                "name": "Prunerr",
                "channel_id": CHANNEL_ID,
                "token": token,
                "application_id": None,
            },
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response, webhook_id: str, token: str):
        emu = self.emulator
        if not emu.take(resp):
            return
        payload = json_object(req.bounded_stream.read())
        if payload is None:
            json_body(
                resp, {"message": "The request body contains invalid JSON.", "code": 50109}, 400
            )
            return
        errors = validate(payload)
        if errors:
            json_body(resp, {"code": 50035, "message": "Invalid Form Body", "errors": errors}, 400)
            return
        if not payload.get("content", "").strip() and not payload.get("embeds"):
            json_body(resp, {"message": "Cannot send an empty message", "code": 50006}, 400)
            return
        message = emu.message(payload)
        emu.keep(message)
        if req.get_param_as_bool("wait", default=False):
            json_body(resp, message)
        else:
            resp.status = 204
