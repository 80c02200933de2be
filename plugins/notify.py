"""What the notifier plugins (webhook, discord, apprise) share: the event names and the `events`
setting that filters them, settings parsed by a function of their own, and JSON delivery to a URL
that may hold a secret. Their emulators share `inbox`."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from prunerr.config import PARSERS, Setting
from prunerr.http import TRANSIENT  # importing prunerr.http also keeps httpx from logging URLs
from prunerr.sdk import EVENTS, Notification, Notifier, ServiceError

log = logging.getLogger(__name__)


def parse_events(value: object) -> tuple[str, ...]:
    """Event names from a YAML list or a string separated by commas or whitespace, each
    checked. None at all is an error: an instance that sends nothing is better removed."""
    items = value if isinstance(value, list | tuple) else [value]
    events = [e for item in items for e in re.split(r"[\s,]+", str(PARSERS["text"](item))) if e]
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        found = f"unknown event {unknown[0]!r}" if unknown else "no events"
        raise ValueError(f"{found}; valid events: {', '.join(EVENTS)}")
    return tuple(dict.fromkeys(events))


def parse_plain_url(value: object) -> str:
    """An http(s) URL without credentials (`user:password@`): those would travel in every
    request and show wherever the URL is shown; put a secret in the path or use the signature."""
    url = str(PARSERS["url"](value))
    if httpx.URL(url).userinfo:
        raise ValueError("credentials in the URL (user:password@) are not allowed")
    return url


@dataclass(frozen=True)
class ParsedSetting(Setting):
    """A setting parsed by its own function, for values the core kinds do not cover (lists)."""

    parser: Callable[[object], object] = PARSERS["text"]

    def parse(self, value: object) -> object:
        return self.parser(value)


def events_setting(env: str) -> Setting:
    return ParsedSetting(
        "events",
        "Events to send, separated by commas or spaces (default: all).",
        env=env,
        default=EVENTS,
        parser=parse_events,
    )


class EventNotifier(Notifier):
    """A notifier that sends only the events it was configured for."""

    def __init__(self, name: str, events: Iterable[str] = EVENTS):
        super().__init__(name)
        self.events = frozenset(events)

    def notify(self, notification: Notification) -> None:
        if notification.event in self.events:
            self.send(notification)

    def send(self, notification: Notification) -> None:
        raise NotImplementedError


class JsonPoster:
    """POSTs JSON to one URL that may carry a secret (a webhook token in its path): retries
    timeouts, transport errors, 5xx and 429 (waiting `retry_after` from a JSON body, else the
    `Retry-After` header) a bounded number of times. Errors and logs name `label`, never the URL;
    redirects are not followed."""

    def __init__(
        self,
        service: str,
        url: str,
        label: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.service, self.url, self.label = service, url, label
        self.retries, self.backoff, self.max_wait = retries, backoff, max_wait
        self.sleep = sleep
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def request(self, method: str, **kwargs: Any) -> httpx.Response:
        """A successful (2xx) response, or ServiceError."""
        for attempt in range(self.retries + 1):
            try:
                response = self._client.request(method, self.url, **kwargs)
            except httpx.TransportError as exc:  # timeouts included
                failure, wait = type(exc).__name__, None
            else:
                if response.is_success:
                    return response
                failure, wait = f"HTTP {response.status_code}", retry_after(response)
                if response.status_code not in TRANSIENT:
                    raise ServiceError(self.service, f"{self.label}: {failure}")
            if attempt == self.retries:
                raise ServiceError(self.service, f"{self.label}: {failure}")
            if wait is not None and wait > self.max_wait:
                raise ServiceError(self.service, f"{self.label}: {failure}, retry in {wait:.0f}s")
            delay = self.backoff * 2**attempt if wait is None else wait
            log.info("%s: %s: %s, retrying in %.2fs", self.service, self.label, failure, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._client.close()


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before retrying: Discord's precise `retry_after`, else `Retry-After`."""
    try:
        seconds = response.json().get("retry_after")
    except (ValueError, AttributeError):
        seconds = None
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return max(0.0, float(seconds))
    header = response.headers.get("Retry-After", "")
    return float(header) if header.replace(".", "", 1).isdigit() else None
