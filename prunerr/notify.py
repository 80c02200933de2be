"""Sending notifications to every configured notifier. A notifier that fails is logged and
skipped: a notification never stops the work it reports on."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from prunerr.sdk import Notification, Notifier, ServiceError, ServiceList

log = logging.getLogger(__name__)


class Notifications:
    def __init__(self, notifiers: Sequence[Notifier]):
        self.notifiers = list(notifiers)

    @classmethod
    def of(cls, services: ServiceList) -> Notifications:
        return cls([s for s in services.with_role("notifier") if isinstance(s, Notifier)])

    def send(
        self, event: str, title: str, body: str, fields: tuple[tuple[str, str], ...] = ()
    ) -> None:
        notification = Notification(event, title, body, fields)
        for notifier in self.notifiers:
            try:
                notifier.notify(notification)
            except ServiceError as exc:
                log.warning("notification %r not sent: %s", event, exc)
