"""Tautulli's API v2 as a WatchHistory: every history row becomes a Play, paged in bulk."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prunerr.dsl.units import DAY
from prunerr.http import HttpClient, Upstream
from prunerr.sdk import Account, Health, Play, ServiceError, WatchHistory

PAGE_SIZE = 5000
# Tautulli filters `after` by the day a play *started*, in the server's time zone, and writes a
# row when the play stops: re-reading two days before `since` covers both.
LOOKBACK_S = 2 * DAY


def _int(value: object) -> int:
    """An id or a timestamp, which Tautulli sends as a number or a numeric string."""
    if type(value) is int:
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a number, got {value!r}")
    return int(value)


def _key(value: object) -> str | None:
    """A rating key; "" or null where there is none (a movie has no parent)."""
    return None if value in ("", None) else sys.intern(str(_int(value)))


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a name, got {value!r}")
    return value


class TautulliClient(WatchHistory):
    """One Tautulli instance. Plays are the history rows; `watched` is Tautulli's own verdict
    (`watched_status` 1: the play reached the watched threshold)."""

    def __init__(
        self, name: str, url: str, api_key: str, *, page_size: int = PAGE_SIZE, **http: Any
    ):
        super().__init__(name)
        self.page_size = page_size
        self.http = HttpClient(
            name,
            url,
            params={"apikey": api_key},
            upstream=Upstream("Tautulli", "API key", "Settings > Web Interface > API"),
            **http,
        )

    def _call(self, cmd: str, **params: object) -> Any:
        """Run a command and return its `data`; an error answer (HTTP 400 with a message)
        becomes a ServiceError naming the command."""
        body = self.http.get_json("/api/v2", params={"cmd": cmd, **params}, expect=(200, 400))
        response = body.get("response") if isinstance(body, dict) else None
        if not isinstance(response, dict) or "result" not in response:
            raise self.http.problem(
                cmd,
                "service",
                "the answer is JSON, but not Tautulli's (no response envelope)",
                "give the URL of Tautulli (port 8181 by default)",
            )
        if response["result"] != "success":
            message = str(response.get("message") or "error").split(". Possible commands")[0]
            if "apikey" in message.lower():  # "Invalid apikey", "Parameter apikey is required"
                raise self.http.problem(
                    cmd,
                    "key",
                    f"the API key was refused (Tautulli: {message})",
                    "check the API key configured for this service (Tautulli: Settings > Web "
                    "Interface > API)",
                )
            raise ServiceError(self.name, f"{cmd}: {message}")
        return response.get("data")

    def plays(self, since: float | None = None) -> Iterator[Play]:
        """History rows by start date; `viewed_at` is when the play stopped, and with `since`
        only plays stopped after it are given."""
        params: dict[str, object] = {
            "order_column": "date",
            "order_dir": "asc",
            "grouping": 0,
            "include_activity": 0,
        }
        if since is not None:
            day = dt.datetime.fromtimestamp(since - LOOKBACK_S, dt.UTC)
            params["after"] = day.strftime("%Y-%m-%d")
        for play in self._history(params):
            if since is None or play.viewed_at > since:
                yield play

    def _history(self, params: dict[str, object]) -> Iterator[Play]:
        """Every history row once. Tautulli pages by offset, so a row written or deleted during
        the listing shifts the pages: when `recordsFiltered` changes, list again (skipping the
        rows already given), and give up if it changes again. The next page is requested while
        this one is read, so Tautulli builds it in the meantime."""
        given: set[str] = set()

        def fetch(start: int) -> Any:
            return self._call("get_history", **params, start=start, length=self.page_size)

        with ThreadPoolExecutor(max_workers=1) as pool:
            for _ in range(2):
                total, start = None, 0
                pending = pool.submit(fetch, 0)
                while True:
                    rows, filtered = self._page(pending.result())
                    if total is None:
                        total = filtered
                    elif filtered != total:
                        break
                    following = start + len(rows)
                    if rows and following < total:
                        pending = pool.submit(fetch, following)
                    for row in rows:
                        play = self._play(row)
                        if play.source_id not in given:
                            given.add(play.source_id)
                            yield play
                    start = following
                    if start >= total:
                        return
                    if not rows:
                        raise ServiceError(self.name, f"get_history: no rows at {start} of {total}")
        raise ServiceError(self.name, "get_history: the history kept changing while listed")

    def _page(self, data: object) -> tuple[list, int]:
        try:
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise TypeError("no list of rows")
            return data["data"], _int(data["recordsFiltered"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(self.name, f"get_history: not a page of rows ({exc})") from None

    def _play(self, row: dict) -> Play:
        try:
            # users and keys recur across a long history: share one string each
            return Play(
                source_id=str(_int(row["id"])),
                user=sys.intern(_text(row["user"])),
                key=sys.intern(str(_int(row["rating_key"]))),
                viewed_at=float(_int(row["stopped"]) or _int(row["date"])),
                watched=float(row["watched_status"]) == 1,
                parent_key=_key(row.get("parent_rating_key")),
                grandparent_key=_key(row.get("grandparent_rating_key")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            where = row.get("id") if isinstance(row, dict) else None
            raise ServiceError(
                self.name, f"get_history: bad row {where!r} ({type(exc).__name__}: {exc})"
            ) from None

    def accounts(self) -> list[Account]:
        data = self._call("get_users")
        if not isinstance(data, list):
            raise ServiceError(self.name, "get_users: expected a list")
        try:
            return [
                Account(str(_int(u["user_id"])), str(u["username"]), u.get("email") or None)
                for u in data
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(self.name, f"get_users: bad user ({exc})") from None

    def health(self) -> Health:
        began = time.perf_counter()
        try:
            info = self._call("get_tautulli_info")
        except ServiceError as exc:
            return Health(False, str(exc))
        ms = (time.perf_counter() - began) * 1000
        version = info.get("tautulli_version") if isinstance(info, dict) else None
        return Health(True, "ok", ms, version if isinstance(version, str) else None)
