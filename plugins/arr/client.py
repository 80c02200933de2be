"""The client plumbing of the *arr plugins: typed reads of upstream JSON, ratings, and an HTTP
client base whose actions return normally when their target is already gone."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import httpx

from prunerr.http import HttpClient, HttpError, Upstream, decode_json
from prunerr.sdk import Health, LibraryManager, ServiceError
from prunerr_plugins.arr import API


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: the ids it changed now, and those already gone upstream."""

    done: tuple[int, ...]
    gone: tuple[int, ...]


class Reader:
    """Typed reads from one upstream JSON object. Missing fields and wrong types raise a
    ServiceError naming the call and the object, never a KeyError or a silently wrong value."""

    def __init__(self, service: str, where: str, data: object):
        if not isinstance(data, dict):
            raise ServiceError(service, f"{where}: expected an object")
        self.service, self.where, self.data = service, where, data

    def _fail(self, key: str, expected: str) -> ServiceError:
        return ServiceError(self.service, f"{self.where}: '{key}' is missing or not {expected}")

    def _get(self, key: str, types: tuple[type, ...], expected: str, optional: bool):
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise self._fail(key, expected)
        return value

    def integer(self, key: str) -> int:
        return self._get(key, (int,), "an integer", False)

    def maybe_integer(self, key: str) -> int | None:
        return self._get(key, (int,), "an integer", True)

    def text(self, key: str) -> str:
        return self._get(key, (str,), "a string", False)

    def maybe_text(self, key: str) -> str | None:
        return self._get(key, (str,), "a string", True)

    def flag(self, key: str) -> bool:
        return self._get(key, (bool,), "a boolean", False)

    def maybe_number(self, key: str) -> float | None:
        value = self._get(key, (int, float), "a number", True)
        return None if value is None else float(value)

    def texts(self, key: str) -> tuple[str, ...]:
        values = self._get(key, (list,), "a list", True) or []
        if not all(isinstance(v, str) for v in values):
            raise self._fail(key, "a list of strings")
        return tuple(values)

    def integers(self, key: str) -> tuple[int, ...]:
        values = self._get(key, (list,), "a list", True) or []
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise self._fail(key, "a list of integers")
        return tuple(values)

    def child(self, key: str) -> Reader:
        return Reader(
            self.service, f"{self.where}.{key}", self._get(key, (dict,), "an object", False)
        )

    def maybe_child(self, key: str) -> Reader | None:
        value = self._get(key, (dict,), "an object", True)
        return None if value is None else Reader(self.service, f"{self.where}.{key}", value)

    def maybe_texts(self, key: str) -> tuple[str, ...] | None:
        """A list of strings; None when the object has none (not read, not empty)."""
        return None if self.data.get(key) is None else self.texts(key)

    def maybe_integers(self, key: str) -> tuple[int, ...] | None:
        """A list of integers; None when the object has none (not read, not empty)."""
        return None if self.data.get(key) is None else self.integers(key)

    def children(self, key: str, required: bool = False) -> list[Reader]:
        values = self._get(key, (list,), "a list", not required) or []
        return [Reader(self.service, f"{self.where}.{key}[{i}]", v) for i, v in enumerate(values)]


# the catalog ratings of an *arr `ratings` object: source key -> (our name, whether it is voted)
RATING_SOURCES = {"imdb": ("imdb", True), "tmdb": ("tmdb", True), "rottenTomatoes": ("rt", False)}


def ratings(given: Reader | None, flat_source: str | None) -> dict[str, float]:
    """The ratings an *arr gives, by source (`imdb`, `tmdb`, `rt`): Radarr 4+ names each
    source (`{"imdb": {"votes", "value", "type"}, ...}`); the flat `{votes, value}` of Radarr 3
    and Sonarr is one rating of `flat_source` (None: a source not stated, which fills nothing).
    A voted rating without votes is TMDb's and IMDb's "unrated" 0.0 and is left out (Rotten
    Tomatoes scores carry no votes, so their 0 is a score)."""
    if given is None:
        return {}
    if "value" in given.data or "votes" in given.data:
        sources = {flat_source: given} if flat_source else {}
    else:
        sources = {key: child for key in RATING_SOURCES if (child := given.maybe_child(key))}
    found = {}
    for key, rating in sources.items():
        name, voted = RATING_SOURCES[key]
        value = rating.maybe_number("value")
        if value is None or (voted and value == 0 and not rating.maybe_integer("votes")):
            continue
        found[name] = value
    return found


def records(service: str, where: str, body: object) -> list[Reader]:
    """A JSON array of objects, each wrapped in a Reader."""
    if not isinstance(body, list):
        raise ServiceError(service, f"{where}: expected a list")
    return [Reader(service, f"{where}: item {i}", item) for i, item in enumerate(body)]


class ArrClient(LibraryManager):
    """The HTTP plumbing of an *arr client. Listings are single bulk GETs (the *arr lists are not
    paged); actions return normally when their target is already gone (404)."""

    app_name: ClassVar[str] = ""

    def __init__(
        self,
        name: str,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.name = name
        self._api_key = api_key
        self.http = HttpClient(
            name,
            url,
            headers={"X-Api-Key": api_key},
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            sleep=sleep,
            transport=transport,
            upstream=Upstream(self.app_name, "API key", "Settings > General > Security"),
        )

    def close(self) -> None:
        self.http.close()

    def health(self) -> Health:
        """Probe /system/status and check that it is the right kind of service."""
        started = time.perf_counter()
        try:
            status = self.get(f"{API}/system/status")
            app, version = status.text("appName"), status.text("version")
        except ServiceError as exc:
            return Health(False, str(exc))
        ms = (time.perf_counter() - started) * 1000
        if app != self.app_name:
            error = self._wrong_app(f"GET {API}/system/status", app, version)
            return Health(False, str(error), ms, version)
        return Health(True, f"{app} {version}", ms, version)

    def _wrong_app(self, where: str, app: str, version: str | None) -> HttpError:
        found = f"{app} {version}" if version else app
        return self.http.problem(
            where,
            "service",
            f"this address is {found}, not {self.app_name}",
            f"give {self.app_name}'s URL for {self.name} (this one is {app}'s)",
        )

    def _get_json(self, path: str, params: Mapping[str, object]) -> object:
        """GET JSON; a 404 asks /system/status which app answered, to say so when it is the
        wrong one (a Sonarr URL given as Radarr's)."""
        try:
            return self.http.get_json(path, params=params)
        except HttpError as exc:
            if exc.status != 404 or path == f"{API}/system/status":
                raise
            try:
                status = Reader(self.name, "", self.http.get_json(f"{API}/system/status"))
                app, version = status.maybe_text("appName"), status.maybe_text("version")
            except ServiceError:
                raise exc from None
            if app is None or app == self.app_name:
                raise
            raise self._wrong_app(f"GET {path}", app, version) from None

    def get(self, path: str, **params) -> Reader:
        return Reader(self.name, f"GET {path}", self._get_json(path, params))

    def get_list(self, path: str, **params) -> list[Reader]:
        return records(self.name, f"GET {path}", self._get_json(path, params))

    def tag_labels(self) -> dict[int, str]:
        return {tag.integer("id"): tag.text("label") for tag in self.get_list(f"{API}/tag")}

    def labels(self, item: Reader, tags: Mapping[int, str]) -> tuple[str, ...] | None:
        """An item's tag labels; None when the item has no `tags` (unknown, not none). An id
        missing from /tag is an error, not a dropped tag (a dropped "keep" tag would lose a
        protection)."""
        ids = item.maybe_integers("tags")
        if ids is None:
            return None
        for tag_id in ids:
            if tag_id not in tags:
                raise ServiceError(self.name, f"{item.where}: tag {tag_id} is not in GET {API}/tag")
        return tuple(sorted(tags[i] for i in ids))

    def call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        gone_ok: bool = True,
        **kwargs,
    ) -> httpx.Response | None:
        """An action's request: the response, or None when its target is gone (404). Without
        `gone_ok` a 404 is an error (a bulk endpoint has no single target to be gone)."""
        response = self.http.request(method, path, expect=(*ok, 400, 404, 409), **kwargs)
        if response.status_code in ok:
            return response
        if response.status_code == 404 and gone_ok:
            return None
        raise ServiceError(
            self.name, f"{method} {path}: HTTP {response.status_code}{self._detail(response)}"
        )

    def body(self, response: httpx.Response) -> object:
        try:
            return decode_json(response)
        except ValueError:
            where = f"{response.request.method} {response.request.url.path}"
            raise ServiceError(self.name, f"{where}: malformed JSON") from None

    def unmonitor_resource(self, path: str, part: Callable[[dict], dict | None]) -> bool:
        """GET a resource, set `monitored` false on the part of it `part` picks (itself, a
        season), and PUT it back whole. False when the resource or the part is gone."""
        response = self.call("GET", path)
        resource = (
            None if response is None else Reader(self.name, f"GET {path}", self.body(response)).data
        )
        target = None if resource is None else part(resource)
        if target is None:
            return False
        if target.get("monitored") is False:
            return True
        target["monitored"] = False
        return self.call("PUT", path, ok=(200, 202), json=resource) is not None

    def _detail(self, response: httpx.Response) -> str:
        """The upstream error message (validation messages joined), without the API key."""
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            messages = [body.get("message")]
        elif isinstance(body, list):
            messages = [e.get("errorMessage") for e in body if isinstance(e, dict)]
        else:
            messages = []
        text = "; ".join(m for m in messages if isinstance(m, str))[:300]
        return f": {text.replace(self._api_key, '***')}" if text else ""
