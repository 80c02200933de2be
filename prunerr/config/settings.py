"""Settings changed through the API, kept in the database: a source of the configuration below
the environment and prunerr.yaml (see prunerr.config), for the settings that may change while
Prunerr runs. Every process applies them before each job and each scheduling tick."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prunerr.config import Config
from prunerr.store import settings as saved_settings
from prunerr.store.database import Store

log = logging.getLogger(__name__)

EDITABLE = (
    "tz",
    "dry_run",
    "default_grace_days",
    "default_deletion_action",
    "max_deletions_per_run",
    "max_gb_per_run",
    "max_attempts",
    "circuit_breaker",
    "release_unmatched",
    "sync_schedule",
    "evaluation_schedule",
    "processing_schedule",
    "reminder_days",
)


# the JSON type of each kind of setting (the environment's strings are parsed; the API's are not)
JSON_TYPES = {
    "bool": bool,
    "count": int,
    "days": int,
    "bytes": int,
    "share": int | float,
    "cron": str | None,  # null: off
    "zone": str,
    "action": str,
    "text": str,
}
JSON_NAMES = {
    "bool": "true or false",
    "count": "a whole number",
    "days": "a whole number of days",
    "bytes": "a whole number of bytes",
    "share": "a number above 0 and at most 1",
    "cron": 'a cron expression (a string), or null or "off" to turn it off',
    "zone": "a time zone name (a string)",
    "action": "a deletion action (a string)",
    "text": "a string",
}


class Refused(ValueError):
    """A change that cannot be made: `conflict` when another source decides the setting."""

    def __init__(self, key: str, message: str, conflict: bool = False):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.conflict = conflict


def stored(store: Store) -> dict[str, object]:
    """The saved values (inside the caller's db_session)."""
    return saved_settings.saved(store, EDITABLE)


def save(store: Store, config: Config, changes: Mapping[str, object]) -> None:
    """Check every change, then save them all (inside the caller's db_session)."""
    for key, value in changes.items():
        if key not in config.schema.settings:
            raise Refused(key, "no such setting")
        if key not in EDITABLE:
            raise Refused(key, "cannot be changed while Prunerr runs", conflict=True)
        kind = config.schema.settings[key].kind
        if isinstance(value, bool) != (kind == "bool") or not isinstance(value, JSON_TYPES[kind]):
            raise Refused(key, f"expected {JSON_NAMES[kind]}, got {value!r}")
        source = config.sources.get(key, "default")
        if source not in ("default", "database"):
            raise Refused(key, f"is set by {source}, which wins over saved settings", True)
        try:
            if value is not None:  # only schedules take null: off
                config.schema.settings[key].parse(value)
        except ValueError as exc:
            raise Refused(key, str(exc)) from None
    saved_settings.save(store, changes)


def apply(config: Config, saved: Mapping[str, object]) -> None:
    """Put the saved values into the configuration (in place: every component reads that
    object), where neither the environment nor prunerr.yaml decides."""
    for key in EDITABLE:
        if config.sources.get(key, "default") not in ("default", "database"):
            continue
        setting = config.schema.settings[key]
        raw, source = (saved[key], "database") if key in saved else (setting.default, "default")
        try:
            config.values[key] = None if raw is None else setting.parse(raw)
        except ValueError as exc:  # saved by an older version with other rules, say
            log.warning("ignoring the saved setting %s: %s", key, exc)
            continue
        config.sources[key] = source
