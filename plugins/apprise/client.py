"""Notifications through the Apprise library (Telegram, ntfy, Gotify, Pushover, email, ...),
an optional dependency: `pip install 'prunerr[apprise]'`. Apprise URLs hold credentials, so
messages name a URL by its position, never by its text."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator
from types import ModuleType

from prunerr.config import PARSERS
from prunerr.sdk import Health, Notification, ServiceError
from prunerr_plugins.notify import EVENTS, EventNotifier

INSTALL = "pip install 'prunerr[apprise]'"
# a comma separates URLs only before a scheme: `mailto://...?to=a@x.org,b@y.org` is one URL
SEPARATOR = re.compile(r"\s+|,\s*(?=[A-Za-z][\w+.-]*://)")
TYPES = {
    "queued": "info",
    "deletion_imminent": "warning",
    "deleted": "success",
    "failed": "failure",
    "sync_error": "failure",
    "circuit_breaker": "failure",
    "rules_broken": "failure",
}


def load_apprise() -> ModuleType:
    """The apprise package, its debug logs (which show URLs) kept out of the logs."""
    try:
        import apprise
    except ImportError:
        raise ValueError(f"the apprise package is not installed; {INSTALL}") from None
    logger = logging.getLogger("apprise")
    if logger.level < logging.INFO:
        logger.setLevel(logging.INFO)
    return apprise


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """Apprise logs a URL it cannot parse in full, secrets included."""
    logger = logging.getLogger("apprise")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def parse_urls(value: object) -> tuple[str, ...]:
    """Apprise URLs from a YAML list or a string separated by whitespace or commas, each one
    checked by Apprise."""
    items = value if isinstance(value, list | tuple) else [value]
    urls = [u for item in items for u in SEPARATOR.split(str(PARSERS["text"](item)).strip()) if u]
    if not urls:
        raise ValueError("expected at least one Apprise URL")
    apprise = load_apprise()
    for number, url in enumerate(urls, 1):
        with _silenced():
            known = apprise.Apprise.instantiate(url) is not None
        if not known:
            raise ValueError(f"URL {number} of {len(urls)} is not one Apprise supports")
    return tuple(urls)


def text(notification: Notification) -> str:
    """The body followed by one `label: value` line per field."""
    lines = [f"{label}: {value}" for label, value in notification.fields]
    return "\n\n".join(part for part in (notification.body, "\n".join(lines)) if part)


class AppriseNotifier(EventNotifier):
    """Every URL of one instance gets each notification; ServiceError if any fails."""

    def __init__(self, name: str, urls: Iterable[str], *, events: Iterable[str] = EVENTS):
        super().__init__(name, events)
        apprise = load_apprise()
        self.apprise = apprise.Apprise()
        for url in urls:
            self.apprise.add(url)

    def send(self, notification: Notification) -> None:
        if not self.apprise.notify(
            body=text(notification) or notification.title,
            title=notification.title,
            notify_type=TYPES.get(notification.event, "info"),
        ):
            raise ServiceError(self.name, "not every URL was notified (its log says which)")

    def health(self) -> Health:
        """Apprise cannot check a URL without sending to it."""
        return Health(True, f"{len(self.apprise)} URLs, not checked")
