"""The queue, rule evaluation and deletion against the emulators over real HTTP, on SQLite and
PostgreSQL: state machine, protections, re-evaluation, faults, crash recovery, safety rails."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from pony.orm import db_session

from prunerr.activity import USER, Actor
from prunerr.app import Prunerr
from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.queue import Candidate, Queue, QueueOptions
from prunerr.sync import SyncService
from tests.test_sync import emulated

LIBRARY = generate("XS", seed=11)
NOW_RULE = """name: {name}
media: {media}
grace_period: {grace}
deletion_action: {action}
when: |
  {when}
"""


def write_rule(
    rules_dir: Path,
    name: str,
    when: str,
    *,
    media="movie",
    grace="0d",
    action="unmonitor_and_delete",
    **extra,
) -> None:
    text = NOW_RULE.format(name=name, media=media, grace=grace, action=action, when=when)
    text += "".join(f"{k}: {json.dumps(v)}\n" for k, v in extra.items())
    (rules_dir / f"{name}.yaml").write_text(text, encoding="utf-8")


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
        SyncService(store, services).run()
        yield Prunerr(host, config, store=store, services=services), emulators


def movies(app, count: int, *, linked: bool = True) -> list[tuple[int, int, str, int]]:
    """(item id, radarr id, title, size) of movies with files."""
    link = "IS NOT NULL" if linked else "IS NULL"
    with db_session:
        return app.store.execute(
            f"SELECT id, arr_id, title, size FROM item WHERE type='movie' AND arr_id {link} "
            "AND size > 0 AND tombstoned_at IS NULL ORDER BY id LIMIT ?",
            (count,),
        )


def requested_movie(app) -> list[tuple[int, int, str, int]]:
    """(item id, radarr id, title, size) of one managed movie someone requested in Seerr."""
    with db_session:
        return app.store.execute(
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
        return dict(app.store.execute("SELECT item, state FROM queue_entry"))


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
            history = app.store.execute(
                "SELECT item, title, size, freed, action, calls FROM deletion"
            )
            tombstoned = app.store.execute(
                "SELECT COUNT(*) FROM item WHERE tombstoned_at IS NOT NULL"
            )[0][0]
        assert {(h[0], h[1], h[2], h[3]) for h in history} == {
            (r[0], r[2], r[3], r[3]) for r in rows
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
                app.store.execute(
                    "SELECT collections FROM item WHERE type='movie' AND collections <> '[]' "
                    "AND arr_id IS NOT NULL LIMIT 1"
                )[0][0]
            )
            in_collection = app.store.execute(
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
            assert app.store.execute("SELECT COUNT(*) FROM deletion")[0][0] == 0


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
            assert app.store.execute("SELECT COUNT(*) FROM deletion")[0][0] == 1


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
            season_id, title, series_id, number = app.store.execute(
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
            (count,) = app.store.execute(
                "SELECT COUNT(*) FROM activity WHERE event_type='dry_run'"
            )[0]
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
                app.store.execute(
                    "SELECT COUNT(*) FROM activity WHERE event_type='circuit_breaker'"
                )[0][0]
                == 1
            )
        (run,) = app.evaluator.run(confirm=True, actor=Actor("user", "me"))
        assert run.queued == run.would_queue


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
            (outcome,) = app.store.execute("SELECT requests_reset FROM deletion")[0]
        assert "reset" in outcome


def test_every_transition_is_in_the_activity_log(store, tmp_path):
    with world(store, tmp_path) as (app, _):
        queue_by_hand(app, movies(app, 1))
        app.processor.process()
        with db_session:
            actions = [
                r[0]
                for r in app.store.execute(
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
            recorded = sorted(r[0] for r in app.store.execute("SELECT item FROM deletion"))
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
            episode_id, title, series_id = app.store.execute(
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
            (outcome,) = app.store.execute("SELECT requests_reset FROM deletion")[0]
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
