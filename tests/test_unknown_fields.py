"""The invariant behind every field: what a source did not read is unknown, never null, 0 or
empty. For every field of the catalog and every source that supplies it, an upstream answer that
lacks what the field is made from (an attribute, an element, a child list, an id link) leaves the
field unknown for the item, and a rule on it unknown. A field without a case here fails.

One set of emulators serves a small library; each case changes one answer, syncs into a fresh
SQLite database, and the emulators' state is put back afterwards."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pony.orm import db_session

from prunerr.config import Config
from prunerr.dsl import CORE, UNKNOWN, EvalContext, compile_condition
from prunerr.emulation import Faults, SyntheticLibrary, generate
from prunerr.emulation.synthetic import Play, Request
from prunerr.plugins import PluginHost
from prunerr.sdk import ServiceList
from prunerr.store.database import open_store
from prunerr.store.items import availability, load_items
from prunerr.sync import SyncService
from prunerr_plugins.plex import emulator as plex_emulator

pytestmark = pytest.mark.slow


SERVICES = ("plex", "radarr", "sonarr", "tautulli", "seerr")
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class World:
    """The library, its running emulators, the environment pointing at them, and the items
    each case is about (by role: `movie`, `show`, ...)."""

    library: SyntheticLibrary
    emulators: dict
    services: ServiceList
    targets: dict[str, object]
    complete: dict[int, dict] | None = None  # every item's fields, with nothing taken away

    def key(self, role: str) -> int:
        return self.targets[role].rating_key

    def plex_node(self, role: str) -> dict:
        return self.emulators["plex"].node(self.key(role))

    def sync(self, path: Path) -> dict[int, dict]:
        """Sync everything into a new database; every item's fields by its ratingKey."""
        store = open_store(None, path)
        try:
            SyncService(store, self.services).run()
            watch = self.services.watch_history()
            available = availability(store, self.services, watch.name)
            with db_session:
                keys = dict(store.read("SELECT id, server_key FROM item"))
            items = load_items(store, available, watch.name)
            return {int(keys[item.id]): item.fields for item in items}
        finally:
            store.disconnect()


def _prepare(library: SyntheticLibrary) -> dict[str, object]:
    """Pick the items the cases are about and make their data complete (ratings, a request,
    a watched play), so every field is known before a case takes something away."""
    plain = [
        m
        for m in library.movies
        if m.agent == "plex" and m.listed_file and m.parts == 1 and m.stamped and m.radarr_id
    ]
    movie, unrequested = plain[0], plain[1]
    movie.rating_imdb, movie.rating_tmdb, movie.rating_rt = 6.1, 6.4, 71
    movie.plex_ratings, movie.rating_rt_audience = "rottentomatoes", 80
    show = next(s for s in library.shows if s.agent == "plex" and s.sonarr_id is not None)
    season = next(s for s in show.seasons if s.number > 0)
    episode = season.episodes[0]
    library.requests = [
        r
        for r in library.requests
        if (r.media_type, r.tmdb_id) not in {("movie", unrequested.tmdb_id)}
    ]
    media_id = max((r.media_id for r in library.requests), default=0)
    request_id = max((r.id for r in library.requests), default=0)
    user = library.users[1].id
    for offset, (kind, title) in enumerate((("movie", movie), ("tv", show)), 1):
        if not any(r.media_type == kind and r.tmdb_id == title.tmdb_id for r in library.requests):
            tvdb = None if kind == "movie" else title.tvdb_id
            library.requests.append(
                Request(
                    request_id + offset,
                    media_id + offset,
                    kind,
                    title.tmdb_id,
                    tvdb,
                    user,
                    title.added,
                    2,
                )
            )
    play_id = max((p.id for p in library.plays), default=0)
    for offset, (key, parent, grandparent) in enumerate(
        ((movie.rating_key, None, None), (episode.rating_key, season.rating_key, show.rating_key)),
        1,
    ):
        started = library.now - 86400 * offset
        library.plays.append(
            Play(play_id + offset, user, key, parent, grandparent, started, started + 3600, 100)
        )
    return {
        "movie": movie,
        "unrequested": unrequested,
        "show": show,
        "season": season,
        "episode": episode,
    }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    library = generate(counts=(12, 3, 24, 80, 3), seed=5)
    targets = _prepare(library)
    specs = PluginHost.create().emulators().specs
    running, env = {}, {}
    try:
        for name in SERVICES:
            key = f"{name}-test-key".ljust(32, "x")
            running[name] = specs[name].factory(library, key, Faults())
            env.update(specs[name].env(running[name].start(), key))
        host = PluginHost.create()
        config = Config.load(host.config_schema(), {**env, "PRUNERR_DATA_DIR": "/nonexistent"})
        yield World(library, running, host.services(config), targets)
    finally:
        for emulator in running.values():
            emulator.stop()


@contextmanager
def put_back(world: World) -> Iterator[None]:
    """Undo whatever a case changed in the emulators."""
    plex, radarr, sonarr = (world.emulators[n] for n in ("plex", "radarr", "sonarr"))
    seerr, tautulli = world.emulators["seerr"], world.emulators["tautulli"]
    movies, series = copy.deepcopy(radarr.movies), copy.deepcopy(sonarr.series)
    requests = copy.deepcopy((seerr.media, seerr.media_requests))
    sections = dict(plex_emulator.SECTIONS)
    try:
        yield
    finally:
        plex._nodes.clear()
        radarr.movies, sonarr.series = movies, series
        radarr.changed(*list(radarr._encoded))
        sonarr.changed(*list(sonarr._encoded))
        seerr.media, seerr.media_requests = requests
        tautulli.__dict__.pop("_row", None)
        plex_emulator.SECTIONS.clear()
        plex_emulator.SECTIONS.update(sections)


# --- what a case takes away --------------------------------------------------------------------

Change = Callable[[World, str], None]


def plex_drop(*path: str) -> Change:
    """Drop an attribute or element of the item's Plex metadata, through Media[0] and Part[0]
    when the path names them."""

    def change(world: World, role: str) -> None:
        node = world.plex_node(role)
        for step in path[:-1]:
            node = node[step][0]
        node.pop(path[-1])

    return change


def plex_media_duration(world: World, role: str) -> None:
    media = world.plex_node(role)["Media"][0]
    media.pop("duration")
    media["Part"][0].pop("duration")


def plex_tag_without_text(element: str) -> Change:
    def change(world: World, role: str) -> None:
        world.plex_node(role)[element] = [{"id": 1, "filter": "x=1"}]

    return change


def plex_untitled_sections(world: World, role: str) -> None:
    for key, (_, kind) in list(plex_emulator.SECTIONS.items()):
        plex_emulator.SECTIONS[key] = (None, kind)


def plex_season_of(change: Change) -> Change:
    """`change` applied to the target's season (or the season itself)."""
    return lambda world, role: change(world, "season")


def plex_episode_of(change: Change) -> Change:
    return lambda world, role: change(world, "episode")


def plex_show_of(change: Change) -> Change:
    return lambda world, role: change(world, "show")


def radarr_drop(name: str) -> Change:
    def change(world: World, role: str) -> None:
        radarr_id = world.targets[role].radarr_id
        world.emulators["radarr"].movies[radarr_id].pop(name)
        world.emulators["radarr"].changed(radarr_id)

    return change


def radarr_forget(world: World, role: str) -> None:
    """The movie is not managed: Radarr does not list it."""
    radarr_id = world.targets[role].radarr_id
    world.emulators["radarr"].movies.pop(radarr_id)
    world.emulators["radarr"].changed(radarr_id)


def sonarr_drop(name: str) -> Change:
    def change(world: World, role: str) -> None:
        sonarr_id = world.targets["show"].sonarr_id
        world.emulators["sonarr"].series[sonarr_id].pop(name)
        world.emulators["sonarr"].changed(sonarr_id)

    return change


def tautulli_row_without(name: str) -> Change:
    def change(world: World, role: str) -> None:
        emulator, key = world.emulators["tautulli"], world.key(role)
        row = type(emulator)._row

        def broken(play):
            answer = row(emulator, play)
            if key in (play.rating_key, play.parent_rating_key, play.grandparent_rating_key):
                answer.pop(name)
            return answer

        emulator._row = broken

    return change


def seerr_request_without(name: str) -> Change:
    def change(world: World, role: str) -> None:
        title = world.targets["show" if role in ("season", "episode") else role]
        for request in world.emulators["seerr"].media_requests.values():
            if request["media"]["tmdbId"] == title.tmdb_id:
                request.pop(name)

    return change


def seerr_request_naming_no_id(world: World, role: str) -> None:
    """Another title's request whose media names no id this item has."""
    request = next(iter(world.emulators["seerr"].media_requests.values()))
    request["media"] = {**request["media"], "tmdbId": None, "tvdbId": None, "imdbId": None}


def strip_plex_ratings(world: World, role: str) -> None:
    node = world.plex_node(role)
    for key in ("rating", "ratingImage", "audienceRating", "audienceRatingImage"):
        node.pop(key, None)


def plex_rating_of(image: str, value: float, audience: bool = True) -> Change:
    def change(world: World, role: str) -> None:
        strip_plex_ratings(world, role)
        key = "audienceRating" if audience else "rating"
        world.plex_node(role).update({key: value, f"{key}Image": image})

    return change


def both(*changes: Change) -> Change:
    def change(world: World, role: str) -> None:
        for each in changes:
            each(world, role)

    return change


@dataclass(frozen=True)
class Case:
    source: str
    role: str  # the item: movie, unrequested, show, season, episode
    lacks: str
    change: Change
    setup: Change | None = None  # applied with and without the change

    def __str__(self) -> str:
        return f"{self.source}-{self.role}-{self.lacks}"


NO_IDS = plex_drop("Guid")  # a new agent's item listed without its Guid elements


def plex_imdb_only(world: World, role: str) -> None:
    """Listed with its IMDb id alone, which Radarr does not have for it."""
    node = world.plex_node(role)
    node["Guid"] = [g for g in node["Guid"] if g["id"].startswith("imdb://")]


def radarr_without_imdb(world: World, role: str) -> None:
    radarr_id = world.targets[role].radarr_id
    world.emulators["radarr"].movies[radarr_id]["imdbId"] = ""
    world.emulators["radarr"].changed(radarr_id)


MEDIA_ATTRIBUTES = {
    "resolution": "videoResolution",
    "resolution_height": "height",
    "video_codec": "videoCodec",
    "audio_codec": "audioCodec",
    "bitrate": "bitrate",
}

CASES: dict[str, list[Case]] = {
    "title": [Case("plex", "movie", "title", plex_drop("title"))],
    "year": [Case("plex", "movie", "year", plex_drop("year"))],
    "library": [Case("plex", "movie", "section-title", plex_untitled_sections)],
    "added": [Case("plex", "movie", "addedAt", plex_drop("addedAt"))],
    "size": [
        Case("plex", "movie", "Media", plex_drop("Media")),
        Case("plex", "movie", "Part-size", plex_drop("Media", "Part", "size")),
        Case("plex", "episode", "Part-size", plex_drop("Media", "Part", "size")),
        Case(
            "plex",
            "season",
            "episode-Part-size",
            plex_episode_of(plex_drop("Media", "Part", "size")),
        ),
        Case(
            "plex", "show", "episode-Part-size", plex_episode_of(plex_drop("Media", "Part", "size"))
        ),
    ],
    **{
        field: [
            Case("plex", "movie", attribute, plex_drop("Media", attribute)),
            Case("plex", "movie", "Media", plex_drop("Media")),
            Case("plex", "episode", attribute, plex_drop("Media", attribute)),
        ]
        for field, attribute in MEDIA_ATTRIBUTES.items()
    },
    "runtime": [
        Case("plex", "movie", "duration", plex_media_duration),
        Case("plex", "episode", "duration", plex_media_duration),
    ],
    "hdr": [
        Case("plex", "movie", "Stream", plex_drop("Media", "Part", "Stream")),
        Case("plex", "movie", "Media", plex_drop("Media")),
    ],
    "original_language": [
        Case("plex", "movie", "Stream", plex_drop("Media", "Part", "Stream")),
        Case("plex", "episode", "Stream", plex_drop("Media", "Part", "Stream")),
    ],
    "genres": [Case("plex", "movie", "Genre-tag", plex_tag_without_text("Genre"))],
    "labels": [Case("plex", "movie", "Label-tag", plex_tag_without_text("Label"))],
    "collections": [Case("plex", "movie", "Collection-tag", plex_tag_without_text("Collection"))],
    "studio": [
        Case("plex", "movie", "studio", plex_drop("studio")),
        Case("plex", "show", "studio", plex_drop("studio")),
    ],
    "content_rating": [Case("plex", "movie", "contentRating", plex_drop("contentRating"))],
    "play_count": [Case("tautulli", "movie", "rating_key", tautulli_row_without("rating_key"))],
    "last_watched": [Case("tautulli", "movie", "rating_key", tautulli_row_without("rating_key"))],
    "watched_by": [Case("tautulli", "episode", "user", tautulli_row_without("user"))],
    "watches": [Case("tautulli", "movie", "rating_key", tautulli_row_without("rating_key"))],
    "tags": [
        Case("radarr", "movie", "tags", radarr_drop("tags")),
        Case("plex", "movie", "Guid", NO_IDS),
        Case("sonarr", "show", "tags", sonarr_drop("tags")),
        Case("sonarr", "episode", "tags", sonarr_drop("tags")),
    ],
    "monitored": [
        Case("radarr", "movie", "monitored", radarr_drop("monitored")),
        Case("plex", "movie", "Guid", NO_IDS),
        Case("plex", "movie", "Guid-tmdb", plex_imdb_only, radarr_without_imdb),
        Case("plex", "show", "Guid", NO_IDS),
        Case("plex", "season", "show-Guid", plex_show_of(NO_IDS)),
        Case("sonarr", "show", "monitored", sonarr_drop("monitored")),
    ],
    "series_status": [
        Case("sonarr", "show", "status", sonarr_drop("status")),
        Case("sonarr", "season", "status", sonarr_drop("status")),
        Case("plex", "show", "Guid", NO_IDS),
    ],
    "rating.imdb": [
        Case("radarr", "movie", "ratings.imdb", radarr_drop("ratings")),
        Case(
            "plex",
            "movie",
            "audienceRating",
            plex_drop("audienceRating"),
            both(radarr_forget, plex_rating_of("imdb://image.rating", 7.1)),
        ),
        Case("plex", "movie", "Guid", NO_IDS),
    ],
    "rating.tmdb": [
        Case("radarr", "movie", "ratings.tmdb", radarr_drop("ratings")),
        Case(
            "plex",
            "movie",
            "audienceRating",
            plex_drop("audienceRating"),
            both(radarr_forget, plex_rating_of("themoviedb://image.rating", 6.9)),
        ),
    ],
    "rating.rt": [
        Case(
            "radarr", "movie", "ratings.rottenTomatoes", radarr_drop("ratings"), strip_plex_ratings
        ),
        Case(
            "plex",
            "movie",
            "rating",
            plex_drop("rating"),
            both(radarr_forget, plex_rating_of("rottentomatoes://image.rating.ripe", 8.1, False)),
        ),
    ],
    "season_count": [Case("plex", "show", "season-index", plex_season_of(plex_drop("index")))],
    "episode_count": [
        Case("plex", "show", "episode-ratingKey", plex_episode_of(plex_drop("ratingKey"))),
        Case("plex", "season", "episode-ratingKey", plex_episode_of(plex_drop("ratingKey"))),
    ],
    "season_number": [
        Case("plex", "season", "index", plex_drop("index")),
        Case("plex", "episode", "season-index", plex_season_of(plex_drop("index"))),
    ],
    "show_title": [
        Case("plex", "season", "show-title", plex_show_of(plex_drop("title"))),
        Case("plex", "episode", "show-title", plex_show_of(plex_drop("title"))),
    ],
    "requested_by": [
        Case("seerr", "movie", "requestedBy", seerr_request_without("requestedBy")),
        Case("plex", "movie", "Guid", NO_IDS),
        Case("plex", "episode", "show-Guid", plex_show_of(NO_IDS)),
        Case("seerr", "unrequested", "media-ids", seerr_request_naming_no_id),
    ],
    "requested_at": [
        Case("seerr", "movie", "createdAt", seerr_request_without("createdAt")),
        Case("plex", "show", "Guid", NO_IDS),
    ],
}
# fields no source reads: the row's own identity, and what a user set
EXEMPT = {
    "type": "the item's identity, known for every stored item",
    "protected": "set by people through Prunerr, never read from a source",
}
MEDIA_OF_ROLE = {"unrequested": "movie"}


def _cases() -> list:
    return [
        pytest.param(name, case, id=f"{name}:{case}")
        for name in sorted(CASES)
        for case in CASES[name]
    ]


@pytest.mark.parametrize("name", sorted(CORE.fields))
def test_every_catalog_field_has_a_case_for_each_source_or_a_reason_for_none(name):
    assert name in CASES or name in EXEMPT, f"no case makes `{name}` unread"
    media = CORE.fields[name].media
    for case in CASES.get(name, ()):
        assert MEDIA_OF_ROLE.get(case.role, case.role) in media, (name, str(case))


@pytest.mark.parametrize(("name", "case"), _cases())
def test_a_field_made_from_what_the_answer_lacks_is_unknown(world, tmp_path, name, case):
    key, media = world.key(case.role), MEDIA_OF_ROLE.get(case.role, case.role)
    rule = compile_condition(f"{name} is null", media=media).program
    with put_back(world):
        if case.setup:
            case.setup(world, case.role)
            complete = world.sync(tmp_path / "complete")[key]
        else:
            if world.complete is None:
                world.complete = world.sync(tmp_path / "complete")
            complete = world.complete[key]
        assert name in complete, f"`{name}` is not known with complete data"
        case.change(world, case.role)
        fields = world.sync(tmp_path / "lacking").get(key, {})
    assert name not in fields, f"`{name}` is {fields.get(name)!r}, not unknown"
    assert rule.evaluate(fields, EvalContext(NOW)) is UNKNOWN


def test_the_world_of_the_cases_is_a_real_one(world):
    """The targets are ordinary items of the library: linked, requested, watched."""
    movie = world.targets["movie"]
    assert dataclasses.asdict(movie)["agent"] == "plex" and movie.radarr_id is not None
    assert any(p.rating_key == movie.rating_key for p in world.library.plays)
