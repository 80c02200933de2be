"""Library sync against the emulators over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pony.orm import db_session

from prunerr.config import Config
from prunerr.database import open_store
from prunerr.dsl import EvalContext
from prunerr.emulation import Faults, generate
from prunerr.engine import availability, load_items, plan
from prunerr.plugins import PluginHost
from prunerr.rules import load_rules
from prunerr.sync import SyncService, choose_watch_service

REPO = Path(__file__).resolve().parent.parent
SERVICES = ("plex", "radarr", "sonarr", "tautulli", "seerr")


@contextmanager
def emulated(library, faults: dict[str, Faults] | None = None):
    """Every built-in emulator serving `library`; yields (env, emulators by service)."""
    specs = PluginHost.create().emulators().specs
    running, env = {}, {}
    try:
        for name in SERVICES:
            key = f"{name}-test-key".ljust(32, "x")
            emulator = specs[name].factory(library, key, (faults or {}).get(name, Faults()))
            url = emulator.start()
            running[name] = emulator
            env.update(specs[name].env(url, key))
        yield env, running
    finally:
        for emulator in running.values():
            emulator.stop()


class Harness:
    """A Prunerr configured from an environment, syncing into one store."""

    def __init__(self, store, env: dict[str, str], tmp_path: Path):
        host = PluginHost.create()
        self.config = Config.load(host.config_schema(), {**env, "PRUNERR_DATA_DIR": str(tmp_path)})
        self.services = host.services(self.config)
        self.store = store
        self.sync = SyncService(store, self.services, watch_source=None)

    def run(self):
        return self.sync.run()

    def items(self):
        watch = choose_watch_service(self.services, None)
        available = availability(self.store, self.services, watch.name if watch else None)
        return {i.id: i for i in load_items(self.store, available, watch.name if watch else None)}

    def row(self, where: str, params=()) -> dict:
        with db_session:
            cursor = self.store.db.get_connection().cursor()
            cursor.execute(self.store.dialect.sql(f"SELECT * FROM item WHERE {where}"), params)
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        assert len(rows) == 1, rows
        return rows[0]


def without_movie(library, index: int):
    """The library after a movie was removed (and its history and requests with it)."""
    smaller = copy.deepcopy(library)
    gone = smaller.movies.pop(index)
    smaller.plays = [p for p in smaller.plays if p.rating_key != gone.rating_key]
    smaller.requests = [
        r for r in smaller.requests if not (r.media_type == "movie" and r.tmdb_id == gone.tmdb_id)
    ]
    return smaller


@pytest.fixture(scope="module")
def library():
    return generate("XS", seed=7)


def test_a_full_sync_matches_the_ground_truth(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        report = harness.run()
    assert report.ok, report.as_dict()
    with db_session:
        counts = dict(
            store.execute(
                "SELECT type, COUNT(*) FROM item WHERE tombstoned_at IS NULL GROUP BY type"
            )
        )
    assert counts == {
        "movie": len(library.movies),
        "show": len(library.shows),
        "season": sum(len(s.seasons) for s in library.shows),
        "episode": library.episode_count,
    }
    items = harness.items()
    movie = next(m for m in library.movies if m.radarr_id is not None)
    row = harness.row("server_key=?", (str(movie.rating_key),))
    fields = items[row["id"]].fields
    assert (fields["title"], fields["size"], fields["resolution"]) == (
        movie.title,
        movie.file.size,
        movie.file.resolution,
    )
    assert fields["monitored"] is movie.monitored
    assert row["tmdb_id"] == movie.tmdb_id and row["arr_id"] == movie.radarr_id
    plays = [p for p in library.plays if p.rating_key == movie.rating_key and p.watched]
    assert fields["play_count"] == len(plays)
    assert fields["last_watched"] == (max(p.stopped for p in plays) if plays else None)
    unmanaged = next((m for m in library.movies if m.radarr_id is None), None)
    if unmanaged is not None:
        row = harness.row("server_key=?", (str(unmanaged.rating_key),))
        assert items[row["id"]].fields["monitored"] is None  # known: no *arr manages it


def test_episode_plays_roll_up_to_seasons_and_shows_by_keys(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    items = harness.items()
    show = max(
        library.shows,
        key=lambda s: sum(
            p.grandparent_rating_key == s.rating_key and p.watched for p in library.plays
        ),
    )
    watched = [
        p for p in library.plays if p.grandparent_rating_key == show.rating_key and p.watched
    ]
    fields = items[harness.row("server_key=?", (str(show.rating_key),))["id"]].fields
    users = {library.user(p.user_id).username for p in watched}
    assert fields["play_count"] == len(watched) > 0
    assert set(fields["watched_by"]) == users
    season = show.seasons[0]
    season_fields = items[harness.row("server_key=?", (str(season.rating_key),))["id"]].fields
    in_season = [p for p in watched if p.parent_rating_key == season.rating_key]
    assert season_fields["play_count"] == len(in_season)
    assert season_fields["size"] == sum(e.file.size for e in season.episodes)


def test_requests_come_from_seerr_by_external_ids(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    items = harness.items()
    request = next(r for r in library.requests if r.media_type == "movie" and r.status != 3)
    movie = next(m for m in library.movies if m.tmdb_id == request.tmdb_id)
    fields = items[harness.row("server_key=?", (str(movie.rating_key),))["id"]].fields
    assert fields["requested_by"] == library.user(request.user_id).username


def test_a_second_sync_is_incremental_and_changes_nothing(store, library, tmp_path):
    with emulated(library) as (env, emulators):
        harness = Harness(store, env, tmp_path)
        first = harness.run()
        with db_session:
            before = store.execute("SELECT COUNT(*) FROM play")
        for emulator in emulators.values():
            emulator.reset_counts()
        second = harness.run()
        second_requests = sum(e.request_total for e in emulators.values())
    assert first.ok and second.ok
    with db_session:
        assert store.execute("SELECT COUNT(*) FROM play") == before
    history = next(r for r in second.results if r.source.endswith(":watch_history"))
    assert history.records == 0
    assert second_requests < 40


def test_a_new_rating_key_keeps_the_row_and_its_protection(store, library, tmp_path):
    movie = library.movies[3]
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    row = harness.row("server_key=?", (str(movie.rating_key),))
    with db_session:
        store.execute(
            "UPDATE item SET protected=?, protection_reason='mine' WHERE id=?", (True, row["id"])
        )
    upgraded = copy.deepcopy(library)
    upgraded.movies[3] = dataclasses.replace(upgraded.movies[3], rating_key=987654321)
    with emulated(upgraded) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    again = harness.row("id=?", (row["id"],))
    assert (again["server_key"], again["protected"], again["tombstoned_at"]) == (
        "987654321",
        True,
        None,
    )
    with db_session:
        keys = store.execute("SELECT key FROM item_key WHERE item=? ORDER BY key", (row["id"],))
    assert sorted(k for (k,) in keys) == sorted([str(movie.rating_key), "987654321"])


def test_items_gone_from_a_complete_listing_become_tombstones_and_return_on_readd(
    store, library, tmp_path
):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    gone = library.movies[0]
    smaller = without_movie(library, 0)
    with emulated(smaller) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    row = harness.row("server_key=?", (str(gone.rating_key),))
    assert row["tombstoned_at"] is not None

    # the same listing again (a stale cache, say) does not revive it ...
    with emulated(library) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    assert harness.row("id=?", (row["id"],))["tombstoned_at"] is not None
    # ... a genuine re-add (added after the tombstone) does
    readded = copy.deepcopy(library)
    readded.movies[0] = dataclasses.replace(readded.movies[0], added=int(row["tombstoned_at"]) + 60)
    with emulated(readded) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    assert harness.row("id=?", (row["id"],))["tombstoned_at"] is None


def test_a_failed_listing_removes_nothing_and_marks_the_source_failed(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    smaller = without_movie(library, 0)
    with emulated(smaller, {"plex": Faults(error_rate=1.0)}) as (env, _):
        harness = Harness(store, env, tmp_path)
        report = harness.run()
    assert not report.ok
    failed = [r.source for r in report.results if not r.ok]
    assert failed == ["plex:media_server"]
    with db_session:
        assert store.execute("SELECT COUNT(*) FROM item WHERE tombstoned_at IS NOT NULL") == [(0,)]
    assert all("title" not in i.fields for i in harness.items().values())


def _matches(harness, rules, now) -> dict[str, set[int]]:
    ctx = EvalContext(now)
    items = list(harness.items().values())
    matched = {}
    for rule_plan in plan(rules, items, ctx):
        evaluate = rule_plan.rule.program.bind(ctx)
        matched[rule_plan.rule.id] = {
            i.id
            for i in items
            if rule_plan.rule.in_scope(i.fields) is True and evaluate(i.fields) is True
        }
    return matched


@pytest.mark.parametrize("failing", SERVICES)
def test_a_failing_source_never_makes_a_rule_match_more(tmp_path, failing):
    """The safety property: with any one source down, every rule matches a subset of what it
    matches with complete data."""
    library = generate("XS", seed=11)
    rules = load_rules([REPO / "rules.d"]).rules
    now = datetime.fromtimestamp(library.now, UTC)
    complete_store = open_store(None, tmp_path / "complete")
    degraded_store = open_store(None, tmp_path / "degraded")
    try:
        with emulated(library) as (env, _):
            complete = Harness(complete_store, env, tmp_path)
            assert complete.run().ok
        with emulated(library, {failing: Faults(error_rate=1.0)}) as (env, _):
            degraded = Harness(degraded_store, env, tmp_path)
            assert not degraded.run().ok
        full, partial = _matches(complete, rules, now), _matches(degraded, rules, now)
        assert any(full.values()), "the example rules should match something in the library"
        for rule_id, ids in partial.items():
            assert ids <= full[rule_id], (rule_id, failing)
    finally:
        complete_store.disconnect()
        degraded_store.disconnect()


def test_between_full_listings_only_changed_items_are_read_again(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok  # the day's full listing
    movie = library.movies[5]
    renamed = copy.deepcopy(library)
    renamed.movies[5] = dataclasses.replace(renamed.movies[5], title="A New Cut")
    with emulated(renamed) as (env, emulators):
        plex = emulators["plex"]
        plex.touch(movie.rating_key, movie.added + 3600)
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
        metadata = sum(
            n
            for (method, route), n in plex.requests.items()
            if route.startswith("/library/metadata")
        )
    assert metadata == 1
    assert harness.row("server_key=?", (str(movie.rating_key),))["title"] == "A New Cut"
    # an item changed without a new updatedAt is caught by the next full listing
    with emulated(renamed) as (env, _):
        harness = Harness(store, env, tmp_path)
        harness.sync.full = True
        assert harness.run().ok


def test_new_plays_are_added_to_the_watch_summary(store, library, tmp_path):
    with emulated(library) as (env, emulators):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
        movie = library.movies[7]
        row = harness.row("server_key=?", (str(movie.rating_key),))
        before = harness.items()[row["id"]].fields
        last = max(p.id for p in library.plays)
        late = library.now + 7200
        emulators["tautulli"].record_play(
            dataclasses.replace(
                library.plays[0],
                id=last + 1,
                user_id=library.users[1].id,
                rating_key=movie.rating_key,
                parent_rating_key=None,
                grandparent_rating_key=None,
                started=late - 600,
                stopped=late,
                percent_complete=100,
            )
        )
        assert harness.run().ok
    after = harness.items()[row["id"]].fields
    assert after["play_count"] == before["play_count"] + 1
    assert after["last_watched"] == late
    assert library.users[1].username in after["watched_by"]
    with db_session:
        summary = store.execute(
            "SELECT SUM(plays) FROM watch_summary WHERE key=?", (str(movie.rating_key),)
        )
        plays = store.execute(
            "SELECT COUNT(*) FROM play WHERE key=? AND watched", (str(movie.rating_key),)
        )
    assert summary == plays


def test_several_instances_of_a_service_are_synced_as_separate_sources(store, library, tmp_path):
    with emulated(library) as (env, _):
        specs = PluginHost.create().emulators().specs
        with specs["radarr"].factory(library, "k" * 32, Faults()) as second:
            (tmp_path / "prunerr.yaml").write_text(
                f"radarr:\n  - {{name: radarr-4k, url: '{second.url}', api_key: '{'k' * 32}'}}\n"
            )
            report = Harness(store, env, tmp_path).run()
    assert report.ok
    sources = {r.source for r in report.results}
    assert {"radarr:library_manager", "radarr-4k:library_manager"} <= sources


def test_a_medium_library_syncs_in_well_under_a_thousand_requests(tmp_path):
    library = generate("M", seed=2)
    store = open_store(None, tmp_path)
    try:
        with emulated(library) as (env, emulators):
            report = Harness(store, env, tmp_path).run()
            requests = {name: e.request_total for name, e in emulators.items()}
    finally:
        store.disconnect()
    assert report.ok
    assert sum(requests.values()) < 250, requests


def test_flaky_services_never_make_a_rule_match_more(tmp_path):
    """Every service failing, timing out or answering garbage now and then: the sync either
    recovers (retries) or records a failure, and rules never match more than with clean data."""
    library = generate("XS", seed=5)
    rules = load_rules([REPO / "rules.d"]).rules
    now = datetime.fromtimestamp(library.now, UTC)
    flaky = {
        name: Faults(
            error_rate=0.2, rate_limit_rate=0.1, truncate_rate=0.1, malformed_rate=0.1, seed=i
        )
        for i, name in enumerate(SERVICES)
    }
    clean_store = open_store(None, tmp_path / "clean")
    flaky_store = open_store(None, tmp_path / "flaky")
    try:
        with emulated(library) as (env, _):
            clean = Harness(clean_store, env, tmp_path)
            assert clean.run().ok
        with emulated(library, flaky) as (env, _):
            degraded = Harness(flaky_store, env, tmp_path)
            for service in degraded.services.services:
                for http in vars(service).values():
                    if hasattr(http, "backoff"):
                        http.backoff = 0.01
            degraded.run()
        full, partial = _matches(clean, rules, now), _matches(degraded, rules, now)
        for rule_id, ids in partial.items():
            assert ids <= full[rule_id], rule_id
    finally:
        clean_store.disconnect()
        flaky_store.disconnect()
