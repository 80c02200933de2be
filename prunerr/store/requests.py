"""Media requests (Seerr), as each request tracker last listed them."""

from __future__ import annotations

from collections.abc import Iterable

from pony.orm import select

from prunerr.sdk import MediaRequest
from prunerr.store.database import Store


def replace(store: Store, source: str, requests: Iterable[MediaRequest]) -> None:
    """Replace a tracker's requests with these, inside the caller's db_session."""
    store.execute("DELETE FROM media_request WHERE source=?", (source,))
    store.executemany(
        "INSERT INTO media_request (source, request_id, media_id, media_type, tmdb_id, "
        "tvdb_id, imdb_id, requested_by, requested_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                source,
                r.request_id,
                r.media_id,
                r.media,
                r.ids.tmdb,
                r.ids.tvdb,
                r.ids.imdb,
                r.requested_by,
                r.requested_at,
                r.status,
            )
            for r in requests
        ],
    )


def requested(store: Store, media: str, tmdb_id: int | None, tvdb_id: int | None) -> set[tuple]:
    """The (tracker, media id) pairs whose requests name this title: a movie or show (`media`)
    with this TMDB or TVDB id."""
    MediaRequest = store.entities["MediaRequest"]
    return set(
        select(
            (r.source, r.media_id)
            for r in MediaRequest
            if r.media_type == media
            and (
                (r.tmdb_id is not None and r.tmdb_id == tmdb_id)
                or (r.tvdb_id is not None and r.tvdb_id == tvdb_id)
            )
        )
    )
