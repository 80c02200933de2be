"""Sending notifications to every configured notifier. A notifier that fails is logged and
skipped: a notification never stops the work it reports on. In a dry run, notifications about
the queue and deletions say so: nothing they report was changed. A notification lists at most
`LISTED` fields, the last of them saying how many more there are, so a count in its title always
equals what it lists."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from prunerr.sdk import Notification, Notifier, ServiceError, ServiceList

log = logging.getLogger(__name__)
LISTED = 25  # fields of one notification at most (one Discord embed's worth)

# the events about queueing and deleting, which a dry run only pretends to do
DRY_RUN_EVENTS = frozenset({"queued", "deletion_imminent", "deleted", "failed", "circuit_breaker"})
DRY_RUN_NOTE = (
    "Dry run: nothing is deleted until dry run is turned off "
    "(`prunerr settings set dry_run false`)."
)


def listed(fields: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """`fields`, or when there are more than LISTED the first LISTED - 1 and a last field
    saying how many more there are: ("…", "and N more")."""
    if len(fields) <= LISTED:
        return tuple(fields)
    return (*fields[: LISTED - 1], ("…", f"and {len(fields) - LISTED + 1} more"))


class Notifications:
    def __init__(self, notifiers: Sequence[Notifier], dry_run: Callable[[], bool] = bool):
        self.notifiers = list(notifiers)
        self.dry_run = dry_run  # whether dry run is on now (`bool()` is False)

    @classmethod
    def of(cls, services: ServiceList, dry_run: Callable[[], bool] = bool) -> Notifications:
        return cls([s for s in services.with_role("notifier") if isinstance(s, Notifier)], dry_run)

    def send(
        self,
        event: str,
        title: str,
        body: str,
        fields: Sequence[tuple[str, str]] = (),
        *,
        dry_run: bool | None = None,
    ) -> None:
        """Send to every notifier; `dry_run` None: as the setting says now. Pass all the
        fields: a long list is shortened (`listed`)."""
        dry = event in DRY_RUN_EVENTS and (self.dry_run() if dry_run is None else dry_run)
        if dry:
            title = f"Dry run: {title}"
            body = f"{body}\n\n{DRY_RUN_NOTE}" if body else DRY_RUN_NOTE
        notification = Notification(event, title, body, listed(fields), dry_run=dry)
        for notifier in self.notifiers:
            try:
                notifier.notify(notification)
            except ServiceError as exc:
                log.warning("notification %r not sent: %s", event, exc)
