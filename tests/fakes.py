"""In-memory services of the five plugin roles, for tests of the core without HTTP: each holds
its data in lists, records what it was asked to do, and fails a call on request (`failing`
names the methods that raise ServiceError, as a plugin does when it cannot answer in full)."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from prunerr.sdk import (
    Account,
    Health,
    Library,
    LibraryManager,
    ManagedItem,
    MediaRequest,
    MediaServer,
    Notification,
    Notifier,
    Play,
    RequestTracker,
    ServerItem,
    ServiceError,
    Target,
    WatchHistory,
)


class _Fake:
    def __init__(self, name: str):
        self.name = name
        self.failing: set[str] = set()
        self.calls: list[tuple] = []

    def _call(self, method: str, *args) -> None:
        if method in self.failing:
            raise ServiceError(self.name, f"{method} failed")
        self.calls.append((method, *args))

    def health(self) -> Health:
        return Health(not self.failing, "failing" if self.failing else "ok")


class FakeMediaServer(_Fake, MediaServer):
    def __init__(
        self,
        name: str = "server",
        libraries: list[Library] | None = None,
        items: list[ServerItem] = (),
        accounts: list[Account] = (),
    ):
        super().__init__(name)
        self.shelves = libraries or [Library("1", "Movies", "movie"), Library("2", "TV", "show")]
        self.listed = list(items)
        self.users = list(accounts)

    def libraries(self) -> list[Library]:
        self._call("libraries")
        return list(self.shelves)

    def keys(self, library: Library) -> dict[str, float | None]:
        self._call("keys", library.key)
        return {i.key: i.updated for i in self.listed if i.library_key == library.key}

    def items(self, library: Library, keys: Collection[str] | None = None) -> Iterator[ServerItem]:
        self._call("items", library.key)
        for item in list(self.listed):
            if item.library_key == library.key and (keys is None or item.key in keys):
                yield item

    def accounts(self) -> list[Account]:
        self._call("accounts")
        return list(self.users)

    def delete(self, key: str) -> bool:
        self._call("delete", key)
        kept = [i for i in self.listed if key not in (i.key, i.parent_key, i.grandparent_key)]
        gone, self.listed = len(kept) < len(self.listed), kept
        return gone


class FakeLibraryManager(_Fake, LibraryManager):
    """A Radarr (`media="movie"`) or a Sonarr (`media="show"`)."""

    def __init__(self, name: str, media: str, items: list[ManagedItem] = ()):
        super().__init__(name)
        self.media = media
        self.managed = list(items)

    def items(self) -> list[ManagedItem]:
        self._call("items")
        return list(self.managed)

    def _find(self, target: Target) -> ManagedItem | None:
        return next((i for i in self.managed if i.arr_id == target.arr_id), None)

    def unmonitor_target(self, target: Target) -> bool:
        self._call("unmonitor_target", target)
        item = self._find(target)
        if item is None:
            return False
        item.monitored = False
        return True

    def delete_target_files(self, target: Target) -> bool:
        self._call("delete_target_files", target)
        item = self._find(target)
        if item is None or not item.size:
            return False
        item.size = 0
        return True

    def remove_target(self, target: Target, import_exclusion: bool) -> bool:
        self._call("remove_target", target, import_exclusion)
        item = self._find(target)
        if item is None:
            return False
        self.managed.remove(item)
        return True


class FakeWatchHistory(_Fake, WatchHistory):
    def __init__(self, name: str = "history", plays: list[Play] = (), accounts=()):
        super().__init__(name)
        self.history = list(plays)
        self.users = list(accounts)

    def plays(self, since: float | None = None) -> Iterator[Play]:
        self._call("plays", since)
        return iter([p for p in self.history if since is None or p.viewed_at > since])

    def accounts(self) -> list[Account]:
        self._call("accounts")
        return list(self.users)


class FakeRequestTracker(_Fake, RequestTracker):
    def __init__(self, name: str = "requests", requests: list[MediaRequest] = ()):
        super().__init__(name)
        self.tracked = list(requests)

    def requests(self) -> Iterator[MediaRequest]:
        self._call("requests")
        return iter(list(self.tracked))

    def reset(self, media_id: int) -> bool:
        self._call("reset", media_id)
        kept = [r for r in self.tracked if r.media_id != media_id]
        gone, self.tracked = len(kept) < len(self.tracked), kept
        return gone


class FakeNotifier(_Fake, Notifier):
    def __init__(self, name: str = "notifier"):
        super().__init__(name)
        self.sent: list[Notification] = []

    def notify(self, notification: Notification) -> None:
        self._call("notify", notification.event)
        self.sent.append(notification)
