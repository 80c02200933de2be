"""A Tautulli v2.17 emulator: the `/api/v2` commands a cleanup tool calls, answered from a
SyntheticLibrary the way Tautulli answers them (the `response` envelope, HTTP 400 for every
non-500 error, DataTables paging of the history, epoch timestamps, "" for absent keys)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import falcon

from prunerr.dsl.units import DAY
from prunerr.emulation import Emulator, Faults, SyntheticLibrary, json_body

if TYPE_CHECKING:
    from prunerr.emulation.synthetic import Play, User

WATCHED_PERCENT = 85  # Tautulli's default movie and TV "watched" thresholds
MOVIES, SHOWS, MOVIES_4K = 1, 2, 3  # section ids, as the Plex emulator numbers its libraries
PLAYERS = (  # platform, product, player
    ("Roku", "Plex for Roku", "Living Room"),
    ("Chrome", "Plex Web", "Chrome"),
    ("Android", "Plex for Android (TV)", "SHIELD Android TV"),
    ("iOS", "Plex for iOS", "iPhone"),
    ("Windows", "Plex HTPC", "Den-PC"),
)
DECISIONS = ("direct play", "direct play", "copy", "transcode")


def _date(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def _midnight(day: str) -> int:
    """The start of a "YYYY-MM-DD" day; the emulated server's local time is UTC."""
    return int(dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp())


def human_duration(seconds: int) -> str:
    """Tautulli's "42 days 5 hrs 18 mins"."""
    parts = []
    for unit, size in (("day", DAY), ("hr", 3600), ("min", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count > 1 else ''}")
    return " ".join(parts) or "0 mins"


def watched_status(percent: int) -> float:
    """1 at the watched threshold, then quarters of it, as Tautulli grades a history row."""
    quarter = WATCHED_PERCENT / 4
    for status, floor in (
        (1, 4 * quarter),
        (0.75, 3 * quarter),
        (0.5, 2 * quarter),
        (0.25, quarter),
    ):
        if percent >= floor:
            return status
    return 0


class CommandError(Exception):
    """A command's own error answer (result "error", HTTP 400)."""


class TautulliEmulator(Emulator):
    service = "tautulli"
    version = "v2.17.2"

    def __init__(self, library: SyntheticLibrary, api_key: str, faults: Faults | None = None):
        super().__init__(library, api_key, faults)
        self._users = {u.id: u for u in library.users}
        self._user_fields = {
            u.id: {
                "user_id": u.id,
                "user": u.username,
                "friendly_name": _friendly(u),
                "user_thumb": f"https://plex.tv/users/{u.id:016x}/avatar",
                "user_is_archived": 0,
                "ip_address": _ip(u.id),
            }
            for u in library.users
        }
        self._meta = self._metadata(library)
        self._sections = {
            m.rating_key: MOVIES_4K if m.file.resolution == "2160p" else MOVIES
            for m in library.movies
        }
        self._plays: list[Play] = sorted(library.plays, key=lambda p: (p.started, p.id))
        self._index()
        self._commands: dict[str, Callable[[dict[str, str]], Any]] = {
            "arnold": lambda params: "Get to the chopper!",
            "status": lambda params: {"result": "success", "message": "Ok"},
            "get_server_info": self._server_info,
            "get_tautulli_info": self._tautulli_info,
            "get_users": self._get_users,
            "get_history": self._get_history,
            "delete_history": self._delete_history,
        }
        # get_history's order columns other than the date, which is the plays' own order
        self._order: dict[str, Callable[[Play], Any]] = {
            "stopped": lambda p: p.stopped,
            "duration": lambda p: p.stopped - p.started,
            "paused_counter": lambda p: 0,
            "friendly_name": lambda p: _friendly(self._users[p.user_id]),
            "full_title": lambda p: self._meta[p.rating_key]["full_title"],
            "platform": lambda p: PLAYERS[p.id % len(PLAYERS)][0],
            "player": lambda p: PLAYERS[p.id % len(PLAYERS)][2],
            "ip_address": lambda p: _ip(p.user_id),
        }

    @staticmethod
    def _metadata(library: SyntheticLibrary) -> dict[int, dict]:
        """The fields of a history row Tautulli took from the played item, by rating key."""
        meta = {}
        for m in library.movies:
            meta[m.rating_key] = _item(
                m.rating_key,
                m.added,
                "movie",
                title=m.title,
                full_title=m.title,
                year=m.year,
                originally_available_at=f"{m.year}-06-01",
            )
        for show in library.shows:
            for season in show.seasons:
                season_title = f"Season {season.number}" if season.number else "Specials"
                for e in season.episodes:
                    aired = _date(e.air_date)
                    meta[e.rating_key] = _item(
                        e.rating_key,
                        e.added,
                        "episode",
                        title=e.title,
                        full_title=f"{show.title} - {e.title}",
                        parent_title=season_title,
                        grandparent_title=show.title,
                        year=int(aired[:4]),
                        media_index=e.number,
                        parent_media_index=season.number,
                        originally_available_at=aired,
                    )
        return meta

    # state changes a test can cause, as a session stopping on the real server would
    def record_play(self, play: Play) -> None:
        """Add a history row (keeping the library untouched), as Tautulli writes one when a
        session stops; its place in the date order may be anywhere."""
        with self._lock:
            i = bisect.bisect_right(self._started, play.started)
            self._plays.insert(i, play)
            self._index()

    def _index(self) -> None:
        """Start times for the date filters, and running play durations for the totals."""
        self._started = [p.started for p in self._plays]
        self._elapsed = [0, *accumulate(p.stopped - p.started for p in self._plays)]

    # HTTP
    def routes(self, app: falcon.App) -> None:
        app.add_route("/api/v2", _Api(self))
        app.add_route("/api", _Legacy())

    def authenticate(self, req: falcon.Request) -> bool:
        return req.path != "/api/v2" or _params(req).get("apikey") == self.api_key

    def reject(self, req: falcon.Request, resp: falcon.Response) -> None:
        missing = "apikey" not in _params(req)
        _respond(resp, "Parameter apikey is required" if missing else "Invalid apikey")

    def handle(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = dict(_params(req))
        cmd = params.pop("cmd", None)
        params.pop("apikey", None)
        possible = ", ".join(sorted(self._commands))
        if cmd is None:
            return _respond(resp, f"Parameter cmd is required. Possible commands are: {possible}")
        if cmd not in self._commands:
            return _respond(resp, f"Unknown command: {cmd}. Possible commands are: {possible}")
        try:
            data = self._commands[cmd](params)
        except CommandError as exc:
            return _respond(resp, str(exc))
        except (ValueError, KeyError):
            return _respond(resp, "Check the logs for errors", status=500)
        message = None
        if isinstance(data, dict) and "result" in data:
            data = dict(data)
            message = data.pop("message", None)
            if data.pop("result") != "success":
                return _respond(resp, message)
        _respond(resp, message, data, result="success", status=200)

    # commands
    def _server_info(self, params: dict[str, str]) -> dict:
        return {
            "pms_identifier": f"{self.library.seed:040x}",
            "pms_ip": "10.0.0.2",
            "pms_is_remote": 0,
            "pms_name": "Synthetic Plex",
            "pms_platform": "Linux",
            "pms_plexpass": 1,
            "pms_port": 32400,
            "pms_ssl": 0,
            "pms_url": "http://10.0.0.2:32400",
            "pms_url_manual": 0,
            "pms_version": "1.41.3.9314-a0bfb8370",
        }

    def _tautulli_info(self, params: dict[str, str]) -> dict:
        return {
            "tautulli_install_type": "docker",
            "tautulli_version": self.version,
            "tautulli_branch": "master",
            "tautulli_commit": f"{self.library.seed:040x}",
            "tautulli_platform": "Linux",
            "tautulli_platform_release": "6.8.0",
            "tautulli_platform_version": "#1 SMP",
            "tautulli_platform_linux_distro": "Debian GNU/Linux 12",
            "tautulli_platform_device_name": "tautulli",
            "tautulli_python_version": "3.11.2",
        }

    def _get_users(self, params: dict[str, str]) -> list[dict]:
        return [
            {
                "row_id": i,
                "user_id": u.id,
                "username": u.username,
                "friendly_name": _friendly(u),
                "thumb": f"https://plex.tv/users/{u.id:016x}/avatar",
                "email": u.email,
                "server_token": f"{u.id:020x}",
                "is_active": 1,
                "is_admin": int(u.id == 1),
                "is_home_user": 0,
                "is_allow_sync": 1,
                "is_restricted": 0,
                "do_notify": 1,
                "keep_history": 1,
                "allow_guest": 0,
                "shared_libraries": [str(n) for n in (MOVIES, SHOWS, MOVIES_4K)],
                "filter_all": "",
                "filter_movies": "",
                "filter_tv": "",
                "filter_music": "",
                "filter_photos": "",
            }
            for i, u in enumerate(self.library.users, 1)
        ]

    def _delete_history(self, params: dict[str, str]) -> dict:
        ids = {int(x) for x in params.get("row_ids", "").split(",") if x.strip()}
        if not ids:
            raise CommandError("No row ids received.")
        with self._lock:
            self._plays = [p for p in self._plays if p.id not in ids]
            self._index()
        return {"result": "success", "message": "Deleted history."}

    def _get_history(self, params: dict[str, str]) -> dict:
        start, length = int(params.get("start", 0)), int(params.get("length", 25))
        with self._lock:
            lo, hi = self._window(params)
            plays, total = self._plays[lo:hi], len(self._plays)
            elapsed = self._elapsed[hi] - self._elapsed[lo]
        filtered = self._filter(plays, params)
        if filtered is not plays:
            plays, elapsed = filtered, sum(p.stopped - p.started for p in filtered)
        key = self._order.get(params.get("order_column", "date"))
        if key is not None:
            plays = sorted(plays, key=lambda p: (key(p), p.id))
        if params.get("order_dir", "desc") != "asc":
            plays = plays[::-1]
        page = [self._row(p) for p in plays[start : start + length]]
        return {
            "draw": 1,
            "recordsTotal": total,
            "recordsFiltered": len(plays),
            "total_duration": human_duration(elapsed),
            "filter_duration": human_duration(sum(r["play_duration"] for r in page)),
            "data": page,
        }

    def _window(self, params: dict[str, str]) -> tuple[int, int]:
        """The range of plays started within the `after` / `before` / `start_date` days."""
        lo, hi = 0, len(self._plays)
        for day in (params.get("after"), params.get("start_date")):
            if day:
                lo = max(lo, bisect.bisect_left(self._started, _midnight(day)))
        for day in (params.get("before"), params.get("start_date")):
            if day:
                hi = min(hi, bisect.bisect_left(self._started, _midnight(day) + DAY))
        return lo, max(lo, hi)

    def _filter(self, plays: list[Play], params: dict[str, str]) -> list[Play]:
        tests: list[Callable[[Play], bool]] = []
        for key in ("user_id", "rating_key", "parent_rating_key", "grandparent_rating_key"):
            if params.get(key):
                wanted = int(params[key])
                tests.append(lambda p, key=key, wanted=wanted: getattr(p, key) == wanted)
        if params.get("user"):
            tests.append(lambda p: self._users[p.user_id].username == params["user"])
        if params.get("media_type"):
            tests.append(lambda p: self._meta[p.rating_key]["media_type"] == params["media_type"])
        if params.get("section_id"):
            section = int(params["section_id"])
            tests.append(lambda p: self._sections.get(p.rating_key, SHOWS) == section)
        if not tests:
            return plays
        return [p for p in plays if all(test(p) for test in tests)]

    def _row(self, play: Play) -> dict:
        platform, product, player = PLAYERS[play.id % len(PLAYERS)]
        duration = play.stopped - play.started
        return {
            "reference_id": play.id,
            "row_id": play.id,
            "id": play.id,
            "date": play.started,
            "started": play.started,
            "stopped": play.stopped,
            "duration": duration,
            "play_duration": duration,
            "paused_counter": 0,
            **self._user_fields[play.user_id],
            "library_is_archived": 0,
            "platform": platform,
            "product": product,
            "player": player,
            "live": 0,
            "machine_id": f"{play.user_id:08x}{play.id % 7:016x}",
            "location": "lan",
            "secure": 1,
            "relayed": 0,
            "rating_key": play.rating_key,
            "parent_rating_key": play.parent_rating_key or "",
            "grandparent_rating_key": play.grandparent_rating_key or "",
            **self._meta[play.rating_key],
            "transcode_decision": DECISIONS[play.id % len(DECISIONS)],
            "percent_complete": play.percent_complete,
            "watched_status": watched_status(play.percent_complete),
            "group_count": 1,
            "group_ids": str(play.id),
            "state": None,
            "session_key": None,
        }


def _item(rating_key: int, added: int, media_type: str, **fields: object) -> dict:
    """The fields of a history row that describe the played item; a movie has no parent."""
    return {
        "media_type": media_type,
        "parent_title": "",
        "grandparent_title": "",
        "original_title": "",
        "media_index": "",
        "parent_media_index": "",
        **fields,
        "thumb": f"/library/metadata/{rating_key}/thumb/{added}",
        "guid": f"plex://{media_type}/5d77{rating_key:020x}",
    }


def _friendly(user: User) -> str:
    return "Owner" if user.id == 1 else user.username.title()


def _ip(user_id: int) -> str:
    return f"192.168.1.{10 + user_id % 240}"


def _params(req: falcon.Request) -> dict[str, str]:
    """Query and form parameters (Tautulli reads both), last value wins."""
    if not hasattr(req.context, "params"):
        params = dict(req.params)
        if req.method == "POST" and (req.content_type or "").startswith(falcon.MEDIA_URLENCODED):
            params.update(req.get_media(default_when_empty={}))
        req.context.params = {k: v if isinstance(v, str) else v[-1] for k, v in params.items()}
    return req.context.params


def _respond(
    resp: falcon.Response,
    message: str | None,
    data: object = None,
    *,
    result: str = "error",
    status: int = 400,
) -> None:
    body = {"result": result, "message": message, "data": {} if data is None else data}
    json_body(resp, {"response": body}, status)


class _Api:
    def __init__(self, emulator: TautulliEmulator):
        self.emulator = emulator

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.emulator.handle(req, resp)

    on_post = on_get


class _Legacy:
    """`/api` without the version answers 200 with an error, as Tautulli does."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _respond(resp, "Please use the /api/v2 endpoint.", status=200)

    on_post = on_get
