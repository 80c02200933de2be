"""The public API for plugins: what services of each role return, and the roles themselves.

A plugin turns configuration into `Service` objects (hook `prunerr_create_services`); each service
plays one or more roles. Clients return plain records; the sync service merges them. A client that
cannot give a complete answer raises `ServiceError`: a partial listing is never returned as if it
were complete, because the sync reads a complete listing as "everything else is gone".
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import ClassVar


class ServiceError(Exception):
    """An upstream service failed or answered something unusable. The message names the service
    and the call, never a credential."""

    def __init__(self, service: str, message: str):
        super().__init__(f"{service}: {message}")
        self.service = service


@dataclass(frozen=True, slots=True)
class ExternalIds:
    tmdb: int | None = None
    tvdb: int | None = None
    imdb: str | None = None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One file (a Part) of an item. None is "not read": the server did not say."""

    path: str | None
    size: int | None
    resolution: str | None = None  # 480p 576p 720p 1080p 2160p
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    hdr: str | None = None  # none hdr10 hdr10+ dolby_vision hlg
    bitrate_kbps: int | None = None
    runtime_s: int | None = None


@dataclass(frozen=True)
class Library:
    key: str
    title: str
    type: str  # movie | show


@dataclass(slots=True)
class ServerItem:
    """A movie, show, season or episode as the media server lists it.

    `ids` are the external ids of the title: a movie's or a show's own, and for a season or an
    episode its show's when the server names them (else none; the sync links them through their
    show). `files` lists the main file first. `unread` names the catalog fields this answer did
    not supply: they are unknown, not null. Ratings are by their source (`rating_rt` is the
    critics' score, 0-100), None when the server gave none from that source."""

    key: str
    type: str
    title: str
    library_key: str
    added: float
    ids: ExternalIds = ExternalIds()
    year: int | None = None
    parent_key: str | None = None  # a season's show, an episode's season
    grandparent_key: str | None = None  # an episode's show
    index: int | None = None  # season or episode number
    files: tuple[MediaFile, ...] = ()
    genres: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    studio: str | None = None
    content_rating: str | None = None
    original_language: str | None = None
    rating_imdb: float | None = None
    rating_tmdb: float | None = None
    rating_rt: float | None = None
    rating_rt_audience: float | None = None
    updated: float | None = None  # when the server last changed the item; None: not said
    unread: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ManagedSeason:
    number: int
    monitored: bool
    size: int
    episode_file_count: int


@dataclass(frozen=True, slots=True)
class ManagedEpisode:
    arr_id: int
    season: int
    number: int
    monitored: bool
    file_id: int | None
    size: int


@dataclass(slots=True)
class ManagedItem:
    """A Radarr movie or a Sonarr series. None is "not read" for `tags`, `genres` and
    `series_status`; a rating is None when the manager gave none from that source. `episodes`,
    when given, carry each episode's own monitored flag (otherwise an episode's is unknown)."""

    instance: str
    arr_id: int
    media: str  # movie | show
    title: str
    ids: ExternalIds
    monitored: bool
    size: int
    year: int | None = None
    path: str | None = None
    tags: tuple[str, ...] | None = ()
    genres: tuple[str, ...] | None = ()
    studio: str | None = None  # studio or network
    rating_imdb: float | None = None
    rating_tmdb: float | None = None
    rating_rt: float | None = None
    series_status: str | None = None
    collection: str | None = None
    seasons: tuple[ManagedSeason, ...] = ()
    episodes: tuple[ManagedEpisode, ...] = ()


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Play:
    """One history row. `watched` is the service's own completion verdict; `user` is the
    media-server username (what rules compare with `watched_by_user("...")`)."""

    source_id: str
    user: str
    key: str  # the movie or episode played
    viewed_at: float
    watched: bool
    parent_key: str | None = None
    grandparent_key: str | None = None


@dataclass(frozen=True, slots=True)
class MediaRequest:
    request_id: int
    media_id: int
    media: str  # movie | show
    ids: ExternalIds
    requested_by: str
    requested_at: float
    status: str  # pending | approved | declined


@dataclass(frozen=True)
class Health:
    ok: bool
    message: str
    response_ms: float | None = None
    version: str | None = None


@dataclass
class Service:
    """One configured instance of a plugin's service (`radarr-4k`, say)."""

    name: str
    roles: ClassVar[frozenset[str]] = frozenset()

    def health(self) -> Health:
        raise NotImplementedError


class MediaServer(Service):
    roles = frozenset({"media_server"})

    def libraries(self) -> list[Library]:
        raise NotImplementedError

    def keys(self, library: Library) -> dict[str, float | None]:
        """Every item key of the library with the time the server last changed the item (None
        when the server does not say): a light but complete listing (ServiceError otherwise),
        used to sync only what changed."""
        raise NotImplementedError

    def items(self, library: Library, keys: Collection[str] | None = None) -> Iterator[ServerItem]:
        """Every item of the library (movies, or shows with their seasons and episodes), or
        only those with the given keys (keys the server no longer has are left out). Records
        fetched by key are complete: they carry what a listing may leave out (a file's streams:
        `hdr`, `original_language`), and the sync fetches by key the items whose such fields a
        listing left unread. A server whose listings carry everything needs nothing more.
        Raises ServiceError if the listing cannot be completed."""
        raise NotImplementedError

    def accounts(self) -> list[Account]:
        raise NotImplementedError

    def delete(self, key: str) -> bool:
        """Delete an item and its files on the server (the fallback for items no *arr
        manages). False when the server no longer has it."""
        raise NotImplementedError


@dataclass(frozen=True)
class Target:
    """What a deletion acts on in a library manager: a movie or series by its id there, or one
    season or episode of a series."""

    type: str  # movie | show | season | episode
    arr_id: int  # the movie's or the series' id
    season: int | None = None
    episode: int | None = None


class LibraryManager(Service):
    """A Radarr or Sonarr. Actions are idempotent: each reads the target's current state before
    changing it, so repeating one after a crash changes nothing twice. They return False when
    the target (or its files) was already gone, and raise ServiceError when they fail."""

    roles = frozenset({"library_manager"})
    media: ClassVar[str] = "movie"

    def items(self) -> list[ManagedItem]:
        raise NotImplementedError

    def unmonitor_target(self, target: Target) -> bool:
        raise NotImplementedError

    def delete_target_files(self, target: Target) -> bool:
        raise NotImplementedError

    def remove_target(self, target: Target, import_exclusion: bool) -> bool:
        """Remove a movie or series with its files (not a season or episode)."""
        raise NotImplementedError


class WatchHistory(Service):
    roles = frozenset({"watch_history"})

    def plays(self, since: float | None = None) -> Iterator[Play]:
        """History rows, oldest first; only those viewed after `since` when given."""
        raise NotImplementedError

    def accounts(self) -> list[Account]:
        raise NotImplementedError


class RequestTracker(Service):
    roles = frozenset({"requests"})

    def requests(self) -> Iterator[MediaRequest]:
        raise NotImplementedError

    def reset(self, media_id: int) -> bool:
        """Forget a title so it can be requested again; False when it was already gone."""
        raise NotImplementedError


EVENTS = (
    "queued",
    "deletion_imminent",
    "deleted",
    "failed",
    "sync_error",
    "circuit_breaker",
    "rules_broken",
)


@dataclass(frozen=True)
class Notification:
    """One message for people: what happened (`event`, one of EVENTS), a title, a body and
    labelled details. `dry_run`: sent in a dry run, nothing was changed (the title and body
    say so too)."""

    event: str
    title: str
    body: str
    fields: tuple[tuple[str, str], ...] = ()
    dry_run: bool = False


class Notifier(Service):
    roles = frozenset({"notifier"})

    def notify(self, notification: Notification) -> None:
        """Deliver it, respecting the channel's limits; ServiceError when it cannot."""
        raise NotImplementedError


@dataclass
class ServiceList:
    """What `prunerr_create_services` hooks add their configured services to."""

    services: list[Service] = field(default_factory=list)

    def add(self, service: Service) -> None:
        if any(s.name == service.name for s in self.services):
            raise ValueError(f"two services are named {service.name!r}")
        self.services.append(service)

    def with_role(self, role: str) -> list[Service]:
        return [s for s in self.services if role in s.roles]

    def watch_history(self, configured: str | None = None) -> WatchHistory | None:
        """The one watch-history source: the service named `configured` (None when there is
        no such service), else a dedicated history service (Tautulli) over a media server's
        own history."""
        candidates = self.with_role("watch_history")
        if configured:
            return next((s for s in candidates if s.name == configured), None)
        dedicated = [s for s in candidates if "media_server" not in s.roles]
        return (dedicated or candidates or [None])[0]
