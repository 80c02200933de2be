"""Notifications POSTed as signed JSON to any URL (Home Assistant, n8n, a script of one's own).

The body is the envelope `{event, title, body, fields, timestamp, version}`. The receiver checks
`X-Prunerr-Signature: sha256=<hex>`, the HMAC-SHA256 keyed by the shared secret of
`<X-Prunerr-Timestamp>.<raw body>`, and rejects old timestamps (replays)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from prunerr import __version__
from prunerr.sdk import Health, Notification
from prunerr_plugins.notify import EVENTS, EventNotifier, JsonPoster

VERSION = 1  # of the envelope


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256, keyed by `secret`, of `<timestamp>.<body>`."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def envelope(notification: Notification, now: int) -> dict[str, Any]:
    """The JSON body; a label given twice keeps both values, one per line. `dryRun: true` marks
    what a dry run sends (nothing was changed), so automations can tell."""
    fields: dict[str, str] = {}
    for label, value in notification.fields:
        fields[label] = f"{fields[label]}\n{value}" if label in fields else value
    body = {
        "event": notification.event,
        "title": notification.title,
        "body": notification.body,
        "fields": fields,
        "timestamp": dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z"),
        "version": VERSION,
    }
    return {**body, "dryRun": True} if notification.dry_run else body


class WebhookNotifier(EventNotifier):
    """One webhook URL; retries 5xx, 429 and timeouts a bounded number of times."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        *,
        events: Iterable[str] = EVENTS,
        clock: Callable[[], float] = time.time,
        **http: Any,
    ):
        super().__init__(name, events)
        self.secret = secret
        self.clock = clock
        self.target = JsonPoster(name, url, "webhook", **http)

    def send(self, notification: Notification) -> None:
        now = int(self.clock())
        body = json.dumps(envelope(notification, now), ensure_ascii=False).encode()
        self.target.request(
            "POST",
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"Prunerr-Webhook/{__version__}",
                "X-Prunerr-Event": notification.event,
                "X-Prunerr-Timestamp": str(now),
                "X-Prunerr-Signature": signature(self.secret, str(now), body),
            },
        )

    def health(self) -> Health:
        """A webhook has no status endpoint, and a test delivery would trigger automations."""
        return Health(True, "not checked: deliveries report their own failures")
