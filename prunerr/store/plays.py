"""Watch history: every play a watch-history source gave (`play`), and per user the completed
plays of each movie, episode, season and show (`watch_summary`), kept in step with it."""

from __future__ import annotations

from collections.abc import Iterable

from prunerr.sdk import Play
from prunerr.store.database import Store
from prunerr.store.schema import summarize_plays


def add(store: Store, source: str, plays: Iterable[Play]) -> int:
    """Store the plays not stored yet (one re-read is recognised by its source id) and fold
    them into the summary, inside the caller's db_session; the number of new plays."""
    (before,) = store.read("SELECT COALESCE(MAX(id), 0) FROM play")[0]
    store.executemany(
        "INSERT INTO play (source, source_id, username, key, parent_key, grandparent_key,"
        " viewed_at, watched) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (source, source_id) DO NOTHING",
        (  # a generator: a million plays are not copied into parameter tuples at once
            (
                source,
                p.source_id,
                p.user,
                p.key,
                p.parent_key,
                p.grandparent_key,
                p.viewed_at,
                p.watched,
            )
            for p in plays
        ),
    )
    for statement in summarize_plays("source = ? AND id > ?"):
        store.execute(statement, (source, before))
    (fresh,) = store.read("SELECT COUNT(*) FROM play WHERE source=? AND id > ?", (source, before))[
        0
    ]
    return fresh
