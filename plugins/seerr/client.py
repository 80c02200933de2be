"""Seerr's `/api/v1` (also Overseerr's and Jellyseerr's) as a RequestTracker: who requested
what, and the reset that makes a deleted title requestable again."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

from prunerr.http import HttpClient, Upstream
from prunerr.sdk import ExternalIds, Health, MediaRequest, RequestTracker, ServiceError

PAGE_SIZE = 1000
# MediaRequestStatus: 4 FAILED (approved, then the *arr refused it) and Seerr's 5 COMPLETED are
# approved requests as far as a requester is concerned.
STATUSES = {1: "pending", 2: "approved", 3: "declined", 4: "approved", 5: "approved"}
MEDIA = {"movie": "movie", "tv": "show"}


def _timestamp(value: object) -> float:
    if not isinstance(value, str):
        raise TypeError(f"expected a date, got {value!r}")
    when = dt.datetime.fromisoformat(value)
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _requester(user: dict) -> str:
    """The requester's Plex username, else the name Seerr shows for them."""
    for key in ("plexUsername", "displayName", "username"):
        if isinstance(user.get(key), str) and user[key]:
            return user[key]
    raise ValueError("the requester has no name")


class SeerrClient(RequestTracker):
    """One Seerr instance. `requested_by` is the requester's Plex username, so it matches the
    accounts of Plex and Tautulli; users without one fall back to their display name."""

    def __init__(
        self, name: str, url: str, api_key: str, *, page_size: int = PAGE_SIZE, **http: Any
    ):
        super().__init__(name)
        self.page_size = page_size
        self.http = HttpClient(
            name,
            url,
            headers={"X-Api-Key": api_key},
            upstream=Upstream("Seerr", "API key", "Settings > General > API Key"),
            **http,
        )

    def requests(self) -> Iterator[MediaRequest]:
        for row in self._listing("/api/v1/request", {"filter": "all", "sortDirection": "asc"}):
            yield self._request(row)

    def _listing(self, path: str, params: dict[str, object]) -> Iterator[dict]:
        """Every result once. Seerr pages by offset, so a request made or deleted during the
        listing shifts the pages: when `pageInfo.results` changes, list again (skipping the
        results already given), and give up if it changes again."""
        given: set[int] = set()
        for _ in range(2):
            total, skip = None, 0
            while True:
                body = self.http.get_json(
                    path, params={**params, "take": self.page_size, "skip": skip}
                )
                rows, results = self._page(path, body)
                if total is None:
                    total = results
                elif results != total:
                    break
                for row in rows:
                    if row["id"] not in given:
                        given.add(row["id"])
                        yield row
                skip += len(rows)
                if skip >= total:
                    return
                if not rows:
                    raise ServiceError(self.name, f"GET {path}: no results at {skip} of {total}")
        raise ServiceError(self.name, f"GET {path}: the listing kept changing while it was read")

    def _page(self, path: str, body: object) -> tuple[list[dict], int]:
        body = body if isinstance(body, dict) else {}
        rows, info = body.get("results"), body.get("pageInfo")
        results = info.get("results") if isinstance(info, dict) else None
        if (
            not isinstance(rows, list)
            or not isinstance(results, int)
            or not all(isinstance(row, dict) and isinstance(row.get("id"), int) for row in rows)
        ):
            raise ServiceError(self.name, f"GET {path}: not a page of results with ids")
        return rows, results

    def _request(self, row: dict) -> MediaRequest:
        try:
            media, user = row["media"], row["requestedBy"]
            imdb = media.get("imdbId")
            return MediaRequest(
                request_id=row["id"],
                media_id=media["id"],
                media=MEDIA[media["mediaType"]],
                ids=ExternalIds(
                    tmdb=_optional_int(media["tmdbId"]),
                    tvdb=_optional_int(media.get("tvdbId")),
                    imdb=imdb if isinstance(imdb, str) and imdb else None,
                ),
                requested_by=_requester(user),
                requested_at=_timestamp(row["createdAt"]),
                status=STATUSES[row["status"]],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ServiceError(
                self.name,
                f"GET /api/v1/request: bad request {row.get('id')} ({type(exc).__name__}: {exc})",
            ) from None

    def reset(self, media_id: int) -> bool:
        """Forget a title's media and its requests, so it can be requested again; False when
        Seerr has no such media (already reset)."""
        response = self.http.request("DELETE", f"/api/v1/media/{media_id}", expect=(204, 404))
        return response.status_code == 204

    def health(self) -> Health:
        """`/status` answers without a key, so the key is checked with `/auth/me`."""
        began = time.perf_counter()
        try:
            status = self.http.get_json("/api/v1/status")
            ms = (time.perf_counter() - began) * 1000
            version = status.get("version") if isinstance(status, dict) else None
            if not isinstance(version, str):
                raise self.http.problem(
                    "GET /api/v1/status",
                    "service",
                    "the answer is JSON, but not Seerr's (no version)",
                    "give the URL of Seerr (Overseerr, Jellyseerr), port 5055 by default",
                )
            self.http.get_json("/api/v1/auth/me")
        except ServiceError as exc:
            return Health(False, str(exc))
        return Health(True, "ok", ms, version if isinstance(version, str) else None)
