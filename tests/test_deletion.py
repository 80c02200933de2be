"""The queue, rule evaluation and deletion against the emulators over real HTTP, on SQLite and
PostgreSQL: state machine, protections, re-evaluation, faults, crash recovery, safety rails."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pony.orm import db_session

from prunerr.app import Prunerr
from prunerr.emulation import Faults
from prunerr.plugins import PluginHost
from prunerr.queue import Candidate, Queue, QueueOptions
from prunerr.store.activity import USER, Actor
from tests.support import LIBRARY, copy_synced, emulated, write_rule

pytestmark = pytest.mark.slow


@contextmanager
def world(store, tmp_path, extra_env=None, **settings):
    """A Prunerr synced from the emulators, with an empty rules directory of its own."""
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    host = PluginHost.create()
    with emulated(LIBRARY) as (env, emulators):
        config = host.load_config(
            {
                **env,
                **(extra_env or {}),
                "PRUNERR_DATA_DIR": str(tmp_path),
                "PRUNERR_RULES_DIR": str(rules_dir),
                **{f"PRUNERR_{k.upper()}": str(v) for k, v in settings.items()},
            }
        )
        services = host.services(config)
        for service in services.services:
            if hasattr(service, "http"):
                service.http.retries = 0
        copy_synced(LIBRARY, store)
        yield Prunerr(host, config, store=store, services=services), emulators


def movies(app, count: int, *, linked: bool = True) -> list[tuple[int, int, str, int]]:
    """(item id, radarr id, title, size) of movies with files."""
    link = "IS NOT NULL" if linked else "IS NULL"
    with db_session:
        return app.store.read(
            f"SELECT id, arr_id, title, size FROM item WHERE type='movie' AND arr_id {link} "
            "AND size > 0 AND tombstoned_at IS NULL ORDER BY id LIMIT ?",
            (count,),
        )


def requested_movie(app) -> list[tuple[int, int, str, int]]:
    """(item id, radarr id, title, size) of one managed movie someone requested in Seerr."""
    with db_session:
        return app.store.read(
            "SELECT i.id, i.arr_id, i.title, i.size FROM item i JOIN media_request r "
            "ON r.tmdb_id = i.tmdb_id AND r.media_type='movie' WHERE i.type='movie' "
            "AND i.arr_id IS NOT NULL AND i.size > 0 LIMIT 1"
        )


def queue_by_hand(app, rows, action="unmonitor_and_delete", grace=0.0, **options):
    with db_session:
        return Queue(app.store).enqueue(
            [Candidate(r[0], r[2], r[3]) for r in rows],
            QueueOptions(action, grace, **options),
            USER,
        )


def entry_states(app) -> dict[int, str]:
    with db_session:
        return dict(app.store.read("SELECT item, state FROM queue_entry"))


def test_unmonitor_and_delete_removes_the_file_records_the_calls_and_tombstones(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        rows = movies(app, 2)
        queue_by_hand(app, rows)
        report = app.processor.process()
        assert len(report.deleted) == 2 and not report.failed
        radarr = emu["radarr"]
        for _, arr_id, _, _ in rows:
            movie = radarr.movies[arr_id]
            assert movie["monitored"] is False and movie["hasFile"] is False
        with db_session:
            history = app.store.read("SELECT item, title, size, freed, action, calls FROM deletion")
            tombstoned = app.store.read(
                "SELECT COUNT(*) FROM item WHERE tombstoned_at IS NOT NULL"
            )[0][0]
            years = dict(app.store.read("SELECT id, year FROM item WHERE type='movie'"))
        assert {(h[0], h[1], h[2], h[3]) for h in history} == {
            (r[0], f"{r[2]} ({years[r[0]]})", r[3], r[3]) for r in rows
        }
        calls = json.loads(history[0][5])
        assert any("PUT /api/v3/movie/" in c for c in calls)
        assert any("DELETE /api/v3/moviefile/" in c for c in calls)
        assert all("apikey" not in c.lower() for c in calls)
        assert tombstoned == 2
        assert set(entry_states(app).values()) == {"deleted"}


def test_requeueing_keeps_the_original_deadline(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        rows = movies(app, 1)
        first = queue_by_hand(app, rows, grace=7)
        second = queue_by_hand(app, rows, grace=30)
        assert first.queued and second.already == [rows[0][0]] and not second.queued
        with db_session:
            (entry,) = Queue(app.store).entries()
        assert round((entry.delete_after - entry.queued_at) / 86400) == 7


def test_protected_items_and_collections_are_not_queued(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        rows = movies(app, 3)
        app.library.set_protection(rows[0][0], True, "mine")
        with db_session:
            collections = json.loads(
                app.store.read(
                    "SELECT collections FROM item WHERE type='movie' AND collections <> '[]' "
                    "AND arr_id IS NOT NULL LIMIT 1"
                )[0][0]
            )
            in_collection = app.store.read(
                "SELECT id, arr_id, title, size FROM item WHERE collections LIKE ? LIMIT 1",
                (f'%"{collections[0]}"%',),
            )
            app.store.execute(
                "INSERT INTO collection (title, protected, synced_at, created_at) "
                "VALUES (?, ?, 0, 0)",
                (collections[0], True),
            )
        result = queue_by_hand(app, [*rows, *in_collection])
        assert result.skipped[rows[0][0]] == "protected"
        assert result.skipped[in_collection[0][0]] == "protected"
        assert len(result.queued) == 2


def test_protection_added_after_queueing_cancels_at_processing_without_upstream_calls(
    store, tmp_path
):
    with world(store, tmp_path) as (app, emu):
        rows = movies(app, 1)
        queue_by_hand(app, rows)
        app.library.set_protection(rows[0][0], True, "changed my mind")
        emu["radarr"].reset_counts()
        report = app.processor.process()
        assert [s["outcome"] for s in report.skipped] == ["protected"]
        assert emu["radarr"].request_total == 0
        assert entry_states(app) == {rows[0][0]: "protected"}


def test_a_rule_that_stops_matching_is_released_not_deleted(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        ((_item_id, arr_id, title, _),) = movies(app, 1)
        write_rule(app.rules_dir, "by-title", f"title == {json.dumps(title)}")
        app.book.reload()
        (run,) = app.evaluator.run(confirm=True)
        assert run.queued == 1
        write_rule(app.rules_dir, "by-title", 'title == "something else entirely"')
        app.book.reload()
        report = app.processor.process()
        assert [s["outcome"] for s in report.skipped] == ["released"]
        assert emu["radarr"].movies[arr_id]["hasFile"] is True


def test_unknown_data_postpones_and_never_deletes(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        ((item_id, arr_id, title, _),) = movies(app, 1)
        write_rule(app.rules_dir, "unwatched", f"title == {json.dumps(title)} and play_count >= 0")
        app.book.reload()
        app.evaluator.run(confirm=True)
        with db_session:  # the watch history's last sync failed: plays are unknown now
            app.store.execute("UPDATE sync_state SET status='failed' WHERE role='watch_history'")
        app.library.invalidate()
        report = app.processor.process()
        assert [s["outcome"] for s in report.skipped] == ["postpone"]
        assert entry_states(app) == {item_id: "queued"}
        assert emu["radarr"].movies[arr_id]["hasFile"] is True
        assert app.processor.due() == []  # not before the postponement ends


def test_a_partial_failure_is_recorded_retried_and_resumed_without_repeating_steps(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        ((_item_id, arr_id, *_),) = movies(app, 1)
        queue_by_hand(app, movies(app, 1))
        radarr = emu["radarr"]
        radarr.faults = Faults(error_rate=1.0, path_pattern=r"/moviefile")
        report = app.processor.process()
        (failure,) = report.failed
        assert failure["partial"] and failure["done"] == ["unmonitor"]
        with db_session:
            (entry,) = Queue(app.store).entries()
        assert entry.state == "queued" and entry.attempts == 1 and entry.steps == ("unmonitor",)
        assert "partial" in entry.reason and "delete_files" in entry.reason
        assert radarr.movies[arr_id]["monitored"] is False and radarr.movies[arr_id]["hasFile"]

        radarr.faults = Faults()
        radarr.reset_counts()
        report = app.processor.process([entry.id])
        assert len(report.deleted) == 1
        assert not any(method == "PUT" for method, _ in radarr.requests)  # unmonitor not redone
        assert radarr.movies[arr_id]["hasFile"] is False


def test_repeated_failures_end_failed_and_never_report_success(store, tmp_path):
    with world(store, tmp_path, max_attempts=2) as (app, emu):
        rows = movies(app, 1)
        queue_by_hand(app, rows)
        emu["radarr"].faults = Faults(error_rate=1.0)
        for _ in range(2):
            with db_session:
                (entry,) = Queue(app.store).entries(("queued", "failed"))
            report = app.processor.process([entry.id])
            assert report.failed and not report.deleted
        assert entry_states(app) == {rows[0][0]: "failed"}
        with db_session:
            assert app.store.read("SELECT COUNT(*) FROM deletion")[0][0] == 0


def test_an_entry_left_processing_by_a_dead_worker_is_resumed_once(store, tmp_path):
    with world(store, tmp_path) as (app, _emu):
        rows = movies(app, 1)
        queue_by_hand(app, rows)
        with db_session:
            (entry,) = Queue(app.store).entries()
            assert Queue(app.store).claim(entry.id, "dead-worker")
        assert app.processor.due() == []  # a live claim is left alone
        with db_session:  # ...until it is older than the claim timeout
            app.store.execute("UPDATE queue_entry SET claimed_at=claimed_at-3600")
        report = app.processor.process()
        assert len(report.deleted) == 1
        assert app.processor.process().deleted == []
        with db_session:
            assert app.store.read("SELECT COUNT(*) FROM deletion")[0][0] == 1


def test_two_claims_of_one_entry_only_one_wins(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        queue_by_hand(app, movies(app, 1))
        with db_session:
            (entry,) = Queue(app.store).entries()
            queue = Queue(app.store)
            assert queue.claim(entry.id, "a") is True
            assert queue.claim(entry.id, "b") is False
            with pytest.raises(ValueError):
                queue.transition(entry.id, "deleted", USER, "no", expect=("queued",))


def test_full_removal_of_an_unmanaged_movie_falls_back_to_plex(store, tmp_path):
    with world(store, tmp_path) as (app, _emu):
        rows = movies(app, 1, linked=False)
        assert rows, "the library has movies no Radarr manages"
        queue_by_hand(app, rows, action="full_removal")
        report = app.processor.process()
        assert len(report.deleted) == 1
        assert any("DELETE /library/metadata/" in c for c in report.deleted[0]["calls"])


def test_unmonitor_only_without_a_library_manager_fails_instead_of_pretending(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        queue_by_hand(app, movies(app, 1, linked=False), action="unmonitor_only")
        report = app.processor.process()
        assert report.failed and not report.deleted
        assert "no library manager" in report.failed[0]["error"]


def test_a_season_is_unmonitored_and_only_its_episode_files_are_deleted(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        with db_session:
            season_id, title, series_id, number = app.store.read(
                "SELECT id, title, arr_id, season_number FROM item WHERE type='season' "
                "AND arr_id IS NOT NULL AND season_number > 0 ORDER BY id LIMIT 1"
            )[0]
        sonarr = emu["sonarr"]
        before = {
            f["id"]: f["seasonNumber"] for f in sonarr.files.values() if f["seriesId"] == series_id
        }
        queue_by_hand(app, [(season_id, series_id, title, 1)], action="full_removal")
        report = app.processor.process()
        assert len(report.deleted) == 1, report.failed
        after = {f["id"] for f in sonarr.files.values() if f["seriesId"] == series_id}
        assert after == {f for f, season in before.items() if season != number}
        series = sonarr.managed_items()[series_id]
        season = next(s for s in series["seasons"] if s["seasonNumber"] == number)
        assert season["monitored"] is False and series_id in sonarr.managed_items()


def test_dry_run_records_what_it_would_do_and_changes_nothing(store, tmp_path):
    with world(store, tmp_path, dry_run="true") as (app, emu):
        rows = movies(app, 2)
        queue_by_hand(app, rows)
        emu["radarr"].reset_counts()
        report = app.processor.process()
        assert report.dry_run and len(report.deleted) == 2
        assert not any(m in ("PUT", "DELETE") for m, _ in emu["radarr"].requests)
        assert set(entry_states(app).values()) == {"queued"}
        with db_session:
            (count,) = app.store.read("SELECT COUNT(*) FROM activity WHERE event_type='dry_run'")[0]
        assert count == 2


def test_the_per_run_cap_defers_the_rest(store, tmp_path):
    with world(store, tmp_path, max_deletions_per_run=2) as (app, _):
        queue_by_hand(app, movies(app, 5))
        report = app.processor.process()
        assert len(report.deleted) == 2 and report.deferred == 3
        assert list(entry_states(app).values()).count("queued") == 3


def test_the_circuit_breaker_stops_a_rule_that_would_queue_too_much_until_confirmed(
    store, tmp_path
):
    with world(store, tmp_path) as (app, _):
        write_rule(app.rules_dir, "everything", "size >= 0 B")
        app.book.reload()
        (run,) = app.evaluator.run()
        assert run.tripped and run.queued == 0 and run.would_queue > 10
        assert entry_states(app) == {}
        with db_session:
            assert (
                app.store.read("SELECT COUNT(*) FROM activity WHERE event_type='circuit_breaker'")[
                    0
                ][0]
                == 1
            )
        (run,) = app.evaluator.run(confirm=True, actor=Actor("user", "me"))
        assert run.queued == run.would_queue


def test_what_the_breaker_holds_back_from_a_rule_is_not_queued_by_a_later_one(store, tmp_path):
    """The first rule in priority order to match an item takes it; when the breaker stops that
    rule, a later rule matching the same item does not queue it either (it is held)."""
    with world(store, tmp_path) as (app, _):
        ((_, _, title, _),) = movies(app, 1)
        write_rule(app.rules_dir, "everything", "size >= 0 B", priority=10)
        write_rule(app.rules_dir, "one", f"title == {json.dumps(title)}")
        app.book.reload()
        first, later = app.evaluator.run()
        assert (first.name, first.tripped, later.name) == ("everything", True, "one")
        assert (later.tripped, later.queued, later.held, later.already_queued) == (False, 0, 1, 0)
        assert entry_states(app) == {}
        first, later = app.evaluator.run(confirm=True)
        assert first.queued == first.would_queue and (later.queued, later.already_queued) == (0, 1)


def test_items_that_stop_matching_are_released_at_the_next_evaluation(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        ((item_id, _, title, _),) = movies(app, 1)
        write_rule(app.rules_dir, "one", f"title == {json.dumps(title)}", grace="30d")
        app.book.reload()
        app.evaluator.run()
        write_rule(app.rules_dir, "one", 'title == "nothing at all"', grace="30d")
        app.book.reload()
        (run,) = app.evaluator.run()
        assert run.released == 1
        assert entry_states(app) == {item_id: "released"}


def test_a_deletion_resets_the_request_in_seerr_when_asked(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        rows = requested_movie(app)
        assert rows, "the library has a requested movie"
        queue_by_hand(app, rows, reset_requests=True)
        emu["seerr"].reset_counts()
        report = app.processor.process()
        assert report.requests_reset == 1
        assert any(m == "DELETE" for m, _ in emu["seerr"].requests)
        with db_session:
            (outcome,) = app.store.read("SELECT requests_reset FROM deletion")[0]
        assert "reset" in outcome


def test_every_transition_is_in_the_activity_log(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        queue_by_hand(app, movies(app, 1))
        app.processor.process()
        with db_session:
            actions = [
                r[0]
                for r in app.store.read(
                    "SELECT action FROM activity WHERE target_type='item' ORDER BY id"
                )
            ]
        assert actions == ["item_queued", "processing", "deleted", "deleted"]


def test_faults_during_processing_never_delete_wrongly_nor_lose_a_record(store, tmp_path):
    """5xx, timeouts, 429 and malformed bodies from Radarr while 20 movies are processed."""
    with world(store, tmp_path, max_attempts=100) as (app, emu):
        rows = movies(app, 20)
        queue_by_hand(app, rows)
        radarr = emu["radarr"]
        before = {i: dict(m) for i, m in radarr.movies.items()}
        for service in app.services.with_role("library_manager"):
            service.http.retries, service.http.backoff = 3, 0.01
        radarr.faults = Faults(
            error_rate=0.2,
            timeout_rate=0.05,
            timeout_s=0.2,
            rate_limit_rate=0.1,
            retry_after_s=0,
            malformed_rate=0.1,
            seed=3,
        )
        retried = 0
        for _ in range(30):
            report = app.processor.process(force=True)
            retried += len(report.failed)
            with db_session:
                app.store.execute("UPDATE queue_entry SET next_attempt_at=NULL")
                if not Queue(app.store).entries():
                    break
        assert retried, "the faults made some attempts fail"
        radarr.faults = Faults()
        assert set(entry_states(app).values()) == {"deleted"}
        with db_session:
            recorded = sorted(r[0] for r in app.store.read("SELECT item FROM deletion"))
        assert recorded == sorted(r[0] for r in rows)
        queued_arr = {r[1] for r in rows}
        for arr_id, movie in radarr.movies.items():
            if arr_id in queued_arr:
                assert movie["hasFile"] is False and movie["monitored"] is False
            else:  # nothing else was touched
                assert movie["hasFile"] == before[arr_id]["hasFile"]
                assert movie["monitored"] == before[arr_id]["monitored"]


def test_protect_rules_shield_in_rule_runs_manual_queueing_and_processing(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        kept, other = movies(app, 2)
        write_rule(app.rules_dir, "two", f"title in {json.dumps([kept[2], other[2]])}")
        app.book.reload()
        # queued before the protect rule exists...
        queue_by_hand(app, [kept])
        (app.rules_dir / "keep.yaml").write_text(
            f"name: keep\nkind: protect\nmedia: movie\nwhen: title == {json.dumps(kept[2])}\n",
            encoding="utf-8",
        )
        app.book.reload()
        # ...processing cancels it as protected
        report = app.processor.process(force=True)
        assert [s["outcome"] for s in report.skipped] == ["protected"]
        assert emu["radarr"].movies[kept[1]]["hasFile"] is True
        # a rule run counts it protected and queues only the other
        (run,) = app.evaluator.run(confirm=True)
        assert (run.queued, run.protected) == (1, 1)
        # queueing it by hand is refused
        result = app.evaluator.queue_by_hand([kept[0]], QueueOptions("full_removal", 0), USER)
        assert result.skipped == {kept[0]: "protected"}


def test_queueing_and_deletions_are_announced_on_discord(store, tmp_path):
    spec = PluginHost.create().emulators().specs["discord"]
    discord = spec.factory(LIBRARY, "discord-token", Faults())
    url = discord.start()
    try:
        with world(store, tmp_path, extra_env=spec.env(url, "discord-token")) as (app, _):
            (movie,) = movies(app, 1)
            write_rule(app.rules_dir, "one", f"title == {json.dumps(movie[2])}")
            app.book.reload()
            app.evaluator.run()
            app.processor.process()
    finally:
        discord.stop()
    titles = [embed["title"] for message in discord.received for embed in message["embeds"]]
    assert any("queued for deletion" in t for t in titles)
    assert any("deleted" in t for t in titles)


def test_an_episode_is_unmonitored_and_only_its_file_is_deleted(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        with db_session:
            episode_id, title, series_id = app.store.read(
                "SELECT id, title, arr_id FROM item "
                "WHERE type='episode' AND arr_id IS NOT NULL AND size > 0 ORDER BY id LIMIT 1"
            )[0]
        sonarr = emu["sonarr"]
        before = {f["id"] for f in sonarr.files.values() if f["seriesId"] == series_id}
        queue_by_hand(app, [(episode_id, series_id, title, 1)])
        report = app.processor.process()
        assert len(report.deleted) == 1, report.failed
        after = {f["id"] for f in sonarr.files.values() if f["seriesId"] == series_id}
        assert len(before - after) == 1 and after < before
        calls = report.deleted[0]["calls"]
        assert any("PUT /api/v3/episode/monitor" in c for c in calls)
        assert any("DELETE /api/v3/episodefile/bulk" in c for c in calls)


def test_a_failed_request_reset_is_recorded_and_the_deletion_stands(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        rows = requested_movie(app)
        queue_by_hand(app, rows, reset_requests=True)
        emu["seerr"].faults = Faults(error_rate=1.0)
        report = app.processor.process()
        assert len(report.deleted) == 1 and report.requests_reset == 0
        assert entry_states(app) == {rows[0][0]: "deleted"}
        with db_session:
            (outcome,) = app.store.read("SELECT requests_reset FROM deletion")[0]
        assert "failed" in outcome


def test_judging_reads_a_few_items_exactly_as_the_whole_library_has_them(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        snapshot = app.library.snapshot(fresh=True)
        sample = [items[len(items) // 2].id for items in snapshot.grouped().values()]
        sample += [items[0].id for items in snapshot.grouped().values()]
        assert {snapshot.by_id[i].fields["type"] for i in sample} == {
            "movie",
            "show",
            "season",
            "episode",
        }
        fresh = app.library.items_of(sample)
        assert set(fresh) == set(sample)
        for item_id in sample:
            assert fresh[item_id].fields == snapshot.by_id[item_id].fields


def show_family(app) -> tuple[int, list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """A Sonarr-managed show with at least two seasons holding episode files: (show id,
    [(season id, series id, season number)], [(episode id, season id, size)])."""
    with db_session:
        show_id = app.store.read(
            "SELECT s.id FROM item s JOIN item se ON se.parent = s.id AND se.type='season' "
            "JOIN item e ON e.parent = se.id AND e.size > 0 "
            "WHERE s.type='show' AND s.arr_id IS NOT NULL AND se.season_number > 0 "
            "GROUP BY s.id HAVING COUNT(DISTINCT se.id) >= 2 ORDER BY s.id LIMIT 1"
        )[0][0]
        seasons = app.store.read(
            "SELECT id, arr_id, season_number FROM item WHERE type='season' AND parent=? "
            "AND season_number > 0 ORDER BY season_number",
            (show_id,),
        )
        episodes = app.store.read(
            "SELECT e.id, e.parent, e.size FROM item e JOIN item se ON se.id = e.parent "
            "WHERE e.type='episode' AND se.parent=? AND e.size > 0 ORDER BY e.id",
            (show_id,),
        )
    return show_id, seasons, episodes


def sonarr_files(emu, series_id) -> set[int]:
    return {f["id"] for f in emu["sonarr"].files.values() if f["seriesId"] == series_id}


def test_a_protected_show_shields_its_seasons_and_episodes_at_queueing_and_processing(
    store, tmp_path
):
    with world(store, tmp_path) as (app, emu):
        show_id, seasons, episodes = show_family(app)
        series_id = seasons[0][1]
        # queued before the show is protected: processing refuses it
        queue_by_hand(app, [(seasons[0][0], series_id, "season", 1)], action="full_removal")
        app.library.set_protection(show_id, True, "keep the whole show")
        files = sonarr_files(emu, series_id)
        report = app.processor.process(force=True)
        assert [s["outcome"] for s in report.skipped] == ["protected"] and not report.deleted
        assert sonarr_files(emu, series_id) == files
        # neither a season rule nor an episode rule queues anything of the show
        write_rule(app.rules_dir, "seasons", "season_number >= 0", media="season")
        write_rule(app.rules_dir, "episodes", "size >= 0 B", media="episode")
        app.book.reload()
        app.evaluator.run(confirm=True)
        family = {show_id, *(s[0] for s in seasons), *(e[0] for e in episodes)}
        assert not {i for i, state in entry_states(app).items() if state == "queued"} & family
        # nor does queueing by hand, through the evaluator or the queue itself
        by_hand = app.evaluator.queue_by_hand(
            [seasons[1][0], episodes[0][0]], QueueOptions("full_removal", 0), USER
        )
        assert by_hand.skipped == {seasons[1][0]: "protected", episodes[0][0]: "protected"}
        direct = queue_by_hand(app, [(episodes[-1][0], series_id, "episode", 1)])
        assert direct.skipped == {episodes[-1][0]: "protected"}
        assert sonarr_files(emu, series_id) == files


def test_a_protected_episode_keeps_its_season_and_show_but_not_its_siblings(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        show_id, seasons, episodes = show_family(app)
        kept = next(e for e in episodes if e[1] == seasons[0][0])
        sibling = next(e for e in episodes if e[1] == seasons[0][0] and e != kept)
        app.library.set_protection(kept[0], True, "a favourite")
        result = queue_by_hand(
            app,
            [(show_id, 0, "show", 1), (seasons[0][0], 0, "season", 1), (sibling[0], 0, "ep", 1)],
        )
        assert result.skipped == {show_id: "protected", seasons[0][0]: "protected"}
        assert len(result.queued) == 1  # the sibling
        (plan_of_seasons,) = _plan(app, "season_number >= 0", "season")
        assert seasons[0][0] not in {i.id for i in plan_of_seasons.to_queue}
        assert seasons[1][0] in {i.id for i in plan_of_seasons.to_queue}


def _plan(app, when: str, media: str):
    from prunerr.planning import plan

    write_rule(app.rules_dir, f"plan-{media}", when, media=media)
    app.book.reload()
    snapshot = app.library.snapshot(fresh=True)
    rule = next(r for r in app.book.rules() if r.id == f"plan-{media}")
    return plan([rule], snapshot.items, app.evaluator.context(), all_rules=app.book.rules())


def test_a_protect_rule_on_shows_covers_their_seasons_and_episodes(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        show_id, seasons, episodes = show_family(app)
        with db_session:
            (title,) = app.store.read("SELECT title FROM item WHERE id=?", (show_id,))[0]
        series_id = seasons[0][1]
        queue_by_hand(app, [(episodes[0][0], series_id, "episode", 1)])
        (app.rules_dir / "keep-show.yaml").write_text(
            f"name: keep show\nkind: protect\nmedia: show\nwhen: title == {json.dumps(title)}\n",
            encoding="utf-8",
        )
        write_rule(app.rules_dir, "seasons", "season_number >= 0", media="season")
        app.book.reload()
        files = sonarr_files(emu, series_id)
        report = app.processor.process(force=True)
        assert [s["outcome"] for s in report.skipped] == ["protected"]
        runs = app.evaluator.run(confirm=True)
        assert sum(r.protected for r in runs) >= len(seasons)
        assert not set(entry_states(app)) & {s[0] for s in seasons}
        assert sonarr_files(emu, series_id) == files


BROKEN_PROTECT = 'name: keep\nkind: protect\nmedia: movie\nwhen: lables contains "keep"\n'


def test_a_broken_protect_rule_stops_queueing_and_deleting_until_disabled(store, tmp_path):
    from prunerr.rules.rulebook import ProtectionBroken

    with world(store, tmp_path) as (app, emu):
        (movie,) = movies(app, 1)
        write_rule(app.rules_dir, "one", f"title == {json.dumps(movie[2])}")
        queue_by_hand(app, [movie])
        (app.rules_dir / "keep.yaml").write_text(BROKEN_PROTECT, encoding="utf-8")
        app.book.reload()
        with pytest.raises(ProtectionBroken, match=r"keep.*lables"):
            app.evaluator.run(confirm=True)
        with pytest.raises(ProtectionBroken):
            app.evaluator.queue_by_hand([movie[0]], QueueOptions("full_removal", 0), USER)
        with pytest.raises(ProtectionBroken):
            app.processor.process(force=True)
        assert entry_states(app) == {movie[0]: "queued"}
        assert emu["radarr"].movies[movie[1]]["hasFile"] is True
        # the operator disables it explicitly: deletion goes on
        (app.rules_dir / "keep.yaml").write_text(BROKEN_PROTECT + "enabled: false\n")
        app.book.reload()
        report = app.processor.process(force=True)
        assert len(report.deleted) == 1


@pytest.mark.parametrize(
    "text",
    [
        "name: keep\nkind: protect\nmedia: movie\nwhen: [unclosed\n",  # invalid YAML
        'name: keep\nknid: protect\nmedia: movie\nwhen: title == "x"\n',  # kind misspelt
        'name: keep\nkind: protect\nmedia: movie\nwhen: title == "x"\nwhen: size > 1 GB\n',
    ],
    ids=["invalid-yaml", "misspelt-key", "duplicate-key"],
)
def test_a_rule_whose_kind_cannot_be_read_stops_deletion(store, tmp_path, text):
    from prunerr.rules.rulebook import ProtectionBroken

    with world(store, tmp_path) as (app, _):
        (app.rules_dir / "keep.yaml").write_text(text, encoding="utf-8")
        app.book.reload()
        with pytest.raises(ProtectionBroken):
            app.evaluator.run(confirm=True)


def test_a_broken_delete_rule_is_skipped_and_its_entries_wait(store, tmp_path):
    with world(store, tmp_path) as (app, emu):
        first, second = movies(app, 2)
        write_rule(app.rules_dir, "first", f"title == {json.dumps(first[2])}")
        write_rule(app.rules_dir, "second", f"title == {json.dumps(second[2])}")
        app.book.reload()
        app.evaluator.run(confirm=True)
        assert entry_states(app) == {first[0]: "queued", second[0]: "queued"}
        write_rule(app.rules_dir, "first", "titel == 1")  # now broken
        app.book.reload()
        assert [b.kind for b in app.book.contents().broken.values()] == ["delete"]
        runs = app.evaluator.run(confirm=True)  # the others still run
        assert [r.name for r in runs] == ["second"]
        report = app.processor.process(force=True)
        assert [d["itemId"] for d in report.deleted] == [second[0]]
        assert entry_states(app)[first[0]] == "queued"  # postponed, not released
        assert emu["radarr"].movies[first[1]]["hasFile"] is True


def test_an_item_queued_by_someone_else_meanwhile_is_already_queued_not_an_error(
    store, tmp_path, monkeypatch
):
    with world(store, tmp_path) as (app, _):
        (movie,) = movies(app, 1)
        queue_by_hand(app, [movie])
        # the other request's entry was committed after this one read the live entries
        monkeypatch.setattr(Queue, "live_items", lambda self: {})
        monkeypatch.setattr(Queue, "protected_items", lambda self, ids: set())
        result = queue_by_hand(app, [movie])
        assert (result.queued, result.already) == ([], [movie[0]])
        assert entry_states(app) == {movie[0]: "queued"}


CONDITIONS = {
    "movie": ["size > {n} GB", "year < {year}", "play_count == 0", 'title starts with "{c}"'],
    "show": ["episode_count > {n}", 'title starts with "{c}"', "play_count == 0"],
    "season": ["season_number == {k}", "size > {n} GB", 'show_title starts with "{c}"'],
    "episode": ["season_number == {k}", "size > {n} GB", "play_count == 0"],
}
BROKEN = ['lables contains "{c}"', "size > {n} GB and", "[unclosed"]


@st.composite
def rule_sets(draw):
    """Delete and protect rules over every media type, some of them broken or disabled."""
    rules = []
    for index in range(draw(st.integers(1, 6))):
        media = draw(st.sampled_from(sorted(CONDITIONS)))
        broken = draw(st.integers(0, 9)) == 0
        template = draw(st.sampled_from(BROKEN if broken else CONDITIONS[media]))
        when = template.format(
            n=draw(st.integers(0, 4)),
            year=draw(st.integers(1990, 2030)),
            k=draw(st.integers(0, 3)),
            c=draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        )
        kind = draw(st.sampled_from(["delete", "protect"]))
        enabled = draw(st.integers(0, 5)) > 0
        rules.append((f"r{index}", media, kind, when, enabled))
    return rules, draw(st.lists(st.integers(0, 10**6), max_size=4))


def reference_protected(app, rules, items) -> set[int]:
    """Protection computed here, independently of the engine: a user's flag or an enabled
    protect rule not known not to match, then spread to descendants and containers."""
    from prunerr.dsl import compile_condition

    ctx = app.evaluator.context()
    direct = {i.id for i in items if i.fields.get("protected")}
    for _, media, kind, when, enabled in rules:
        program = compile_condition(when, media=media).program
        if kind == "protect" and enabled and program is not None:
            direct |= {
                i.id
                for i in items
                if i.fields["type"] == media and program.evaluate(i.fields, ctx) is not False
            }
    with db_session:
        lineage = {
            r[0]: {r[1], r[2]} - {None} for r in app.store.read("SELECT id, parent, show FROM item")
        }
    return {i for i, up in lineage.items() if i in direct or up & direct} | {
        a for i, up in lineage.items() if i in direct for a in up
    }


def test_random_rule_sets_never_queue_or_delete_a_protected_item(store, tmp_path):
    from prunerr.rules.rulebook import ProtectionBroken

    with world(store, tmp_path, max_deletions_per_run=10) as (app, _):

        @settings(max_examples=12, deadline=None, database=None)
        @given(rule_sets())
        def check(drawn):
            rules, picks = drawn
            for old in app.rules_dir.glob("*.yaml"):
                old.unlink()
            for name, media, kind, when, enabled in rules:
                (app.rules_dir / f"{name}.yaml").write_text(
                    f"name: {name}\nmedia: {media}\nkind: {kind}\ngrace_period: 0d\n"
                    f"enabled: {str(enabled).lower()}\nwhen: |\n  {when}\n",
                    encoding="utf-8",
                )
            app.book.reload()
            items = app.library.snapshot(fresh=True).items
            with db_session:
                app.store.execute("DELETE FROM queue_entry WHERE state IN ('queued', 'processing')")
                app.store.execute("UPDATE item SET protected = ?", (False,))
            for pick in picks[:2]:
                app.library.set_protection(items[pick % len(items)].id, True, "picked")
            stopped = any(b.stops_deletion for b in app.book.contents().broken.values())
            try:
                app.evaluator.run(confirm=True)
            except ProtectionBroken:
                assert stopped
            else:
                assert not stopped
            queued = {i for i, state in entry_states(app).items() if state == "queued"}
            assert not (stopped and queued)
            assert not queued & reference_protected(app, rules, items)
            for pick in picks[2:]:  # protection added after queueing
                app.library.set_protection(items[pick % len(items)].id, True, "later")
            items = app.library.snapshot(fresh=True).items
            protected = reference_protected(app, rules, items)
            try:
                report = app.processor.process(force=True)
            except ProtectionBroken:
                assert stopped
                return
            assert not {d["itemId"] for d in report.deleted} & protected

        check()
