"""Notifications posted to a Discord channel webhook as embeds. The webhook URL holds its token,
so errors and logs say "discord webhook", never the URL."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from prunerr.sdk import Health, Notification, ServiceError
from prunerr_plugins.notify import EVENTS, EventNotifier, JsonPoster

from .embeds import messages


class DiscordNotifier(EventNotifier):
    """One Discord webhook. A long notification becomes several messages; an exhausted
    rate-limit bucket (`X-RateLimit-Remaining: 0`) is waited out between them, and a 429 is
    retried after its `retry_after`."""

    def __init__(
        self,
        name: str,
        webhook_url: str,
        *,
        events: Iterable[str] = EVENTS,
        username: str = "Prunerr",
        clock: Callable[[], float] = time.time,
        **http: Any,
    ):
        super().__init__(name, events)
        self.username = username
        self.clock = clock
        self.webhook = JsonPoster(name, webhook_url, "discord webhook", **http)

    def send(self, notification: Notification) -> None:
        stamp = dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat(timespec="seconds")
        response = None
        for payload in messages(notification, self.username, stamp):
            if response is not None:
                self._pace(response)
            response = self.webhook.request("POST", json=payload, params={"wait": "true"})

    def _pace(self, response: httpx.Response) -> None:
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return
        try:
            wait = float(response.headers.get("X-RateLimit-Reset-After", ""))
        except ValueError:
            return
        if wait > 0:
            self.webhook.sleep(min(wait, self.webhook.max_wait))

    def health(self) -> Health:
        """Discord answers a GET of the webhook URL with the webhook, which checks the token."""
        began = time.perf_counter()
        try:
            self.webhook.request("GET")
        except ServiceError as exc:
            return Health(False, str(exc))
        return Health(True, "ok", (time.perf_counter() - began) * 1000)
