"""Saved settings: the `setting` table, one JSON value per key. It holds the settings changed
through the API (`prunerr.config.settings` checks them) and the generated API key."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from prunerr.store.database import Store


def saved(store: Store, keys: Collection[str]) -> dict[str, object]:
    """The saved values of these keys, inside the caller's db_session."""
    Setting = store.entities["Setting"]
    wanted = tuple(keys)
    return {s.key: json.loads(s.value) for s in Setting.select(lambda s: s.key in wanted)}


def save(store: Store, values: Mapping[str, object]) -> None:
    """Save these values, replacing the ones saved before (inside the caller's db_session)."""
    Setting = store.entities["Setting"]
    for key, value in values.items():
        row = Setting.get(key=key)
        if row is None:
            Setting(key=key, value=json.dumps(value))
        else:
            row.value = json.dumps(value)
