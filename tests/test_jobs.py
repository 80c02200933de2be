"""Background jobs: leases, schedules in the user's time zone, runs that fail on the database,
the supervisor of worker processes, the worker command, scale-out with two workers, and
processing killed at random points. SQLite + SqliteHuey and PostgreSQL + Redis."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pony.orm import db_session

from prunerr.app import Prunerr
from prunerr.emulation import Faults, generate
from prunerr.jobs import JOBS, LEASE_TTL, Busy, JobsHealth, Runs, Supervisor, create_huey
from prunerr.jobs.tasks import Tasks
from prunerr.plugins import PluginHost
from prunerr.queue import Candidate, Queue, QueueOptions
from prunerr.queue.processing import Limits, Processor
from prunerr.sdk import ServiceList
from prunerr.store.activity import USER
from prunerr.sync import SyncService
from tests.support import emulated, wait_for

pytestmark = pytest.mark.slow


PRUNERR = str(Path(sys.executable).parent / "prunerr")
MOVIES = generate("S", seed=5, counts=(1_300, 2, 10, 50, 3))


def bare_app(store, tmp_path, **env) -> Prunerr:
    host = PluginHost.create()
    rules = tmp_path / "rules.d"
    rules.mkdir(exist_ok=True)
    config = host.load_config(
        {"PRUNERR_DATA_DIR": str(tmp_path), "PRUNERR_RULES_DIR": str(rules), **env}
    )
    return Prunerr(host, config, store=store, services=ServiceList())


def test_runs_of_one_group_never_overlap_and_a_dead_holder_does_not_block(store, tmp_path):
    now = [1_000_000.0]
    runs = Runs(store, clock=lambda: now[0])
    sync, evaluate = JOBS["sync"], JOBS["evaluate"]

    def inner(progress):
        with pytest.raises(Busy):
            runs.run(evaluate, "scheduler", lambda p: None)
        return "done"

    assert runs.run(sync, "scheduler", inner)["result"] == "done"
    assert runs.acquire("library", "a crashed worker")  # ...that never releases it
    with pytest.raises(Busy):
        runs.run(evaluate, "scheduler", lambda p: None)
    now[0] += LEASE_TTL + 1
    assert runs.run(evaluate, "scheduler", lambda p: 42)["result"] == 42


def test_a_run_whose_heartbeat_stopped_is_shown_crashed(store, tmp_path):
    app = bare_app(store, tmp_path)
    now = [2_000_000.0]
    runs = Runs(store, clock=lambda: now[0])
    runs.start("sync", "scheduler")
    (sync,) = [j for j in runs.status(app.config) if j.job.name == "sync"]
    assert sync.running
    now[0] += LEASE_TTL + 1
    (sync,) = [j for j in runs.status(app.config) if j.job.name == "sync"]
    assert not sync.running and sync.last_run.state == "crashed"


def test_schedules_fire_in_the_users_time_zone(store, tmp_path):
    zone = ZoneInfo("America/New_York")
    app = bare_app(store, tmp_path, TZ="America/New_York", PRUNERR_SYNC_SCHEDULE="0 3 * * *")
    (app.rules_dir / "own.yaml").write_text(
        "name: own\nmedia: movie\nschedule: '0 3 * * *'\nwhen: size > 1 TB\n", encoding="utf-8"
    )
    tasks = Tasks(app, create_huey(app.config, immediate=True))
    at = [datetime(2026, 7, 1, 3, 0, 20, tzinfo=zone).timestamp()]
    app.clock = lambda: at[0]
    tasks.runs.clock = app.clock
    started = tasks.tick.call_local()
    assert "sync" in started and any(s.startswith("evaluate:") for s in started)
    assert "process" not in started  # 04:00 by default
    at[0] = datetime(2026, 7, 1, 3, 0, 20, tzinfo=ZoneInfo("UTC")).timestamp()
    assert "sync" not in tasks.tick.call_local()  # 03:00 UTC is 23:00 in New York
    with db_session:
        jobs = {r[0] for r in store.read("SELECT job FROM job_run WHERE state='ok'")}
    assert {"sync", "evaluate"} <= jobs


def test_with_processing_off_only_the_snapshot_still_runs_at_four(store, tmp_path):
    app = bare_app(store, tmp_path, PRUNERR_PROCESSING_SCHEDULE="off")
    tasks = Tasks(app, create_huey(app.config, immediate=True))
    app.clock = tasks.runs.clock = lambda: datetime(2026, 7, 1, 4, 0, tzinfo=UTC).timestamp()
    assert tasks.tick.call_local() == ["snapshot"]
    (process,) = [j for j in tasks.runs.status(app.config) if j.job.name == "process"]
    assert process.schedule is None and process.next_run is None


def test_a_run_that_fails_on_the_database_says_so_until_one_succeeds(store, tmp_path):
    app = bare_app(store, tmp_path)
    tasks = Tasks(app, create_huey(app.config, immediate=True))
    assert tasks.health() == JobsHealth(None, None, ())
    with db_session:
        store.execute("ALTER TABLE collection RENAME TO collection_away")
    with pytest.raises(Exception, match="collection"):
        tasks.collections.call_local(actor="API user")
    (run,) = [j.last_run for j in tasks.runs.status(app.config) if j.job.name == "collections"]
    assert run.state == "failed"
    assert run.error.startswith("database error: ") and "collection" in run.error
    assert tasks.health().problems == (f"Collections sync (run {run.id}) failed: {run.error}",)
    # a run that failed for another reason, or was skipped, is no database failure
    tasks.runs.finish(tasks.runs.start("users", "test"), "failed", error="ValueError: no")
    tasks.runs.finish(tasks.runs.start("collections", "test"), "skipped", error="busy")
    assert len(tasks.health().problems) == 1
    tasks.runs.run(JOBS["reminders"], "test", lambda progress: None)  # any run that succeeds
    assert tasks.health().problems == ()
    with db_session:
        store.execute("ALTER TABLE collection_away RENAME TO collection")
    tasks.collections.call_local(actor="API user")
    assert tasks.health().problems == ()


def test_the_supervisor_starts_a_dying_worker_again_each_time_a_little_later(caplog):
    dying = [sys.executable, "-c", "print('ready', flush=True); raise SystemExit(3)"]
    supervisor = Supervisor(dying, 1, first_delay=0.1, max_delay=0.4)
    supervisor.start()

    def restarts() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "prunerr.jobs"]

    try:
        wait_for(lambda: len(restarts()) >= 4, 30, "four restarts")
        health = supervisor.health()
    finally:
        supervisor.stop()
    delays = [m.rsplit(" in ", 1)[1] for m in restarts()[:4]]
    assert delays == ["0.1 s", "0.2 s", "0.4 s", "0.4 s"]  # doubled after each short life
    assert restarts()[0].startswith("job worker 1 exited with status 3;")
    assert health.workers == 1 and health.ready == 0
    assert health.problems[0].startswith("job worker 1 exited with status 3; ")


def test_the_supervisor_reports_its_ready_workers_and_stops_them_gracefully(tmp_path):
    stopped = tmp_path / "stopped"
    worker = [
        sys.executable,
        "-c",
        # as Huey's consumer does: a worker takes SIGINT whatever its parent ignores
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "print('ready', flush=True)\n"
        "try:\n    time.sleep(60)\n"
        f"except KeyboardInterrupt:\n    open({str(stopped)!r}, 'a').write('x')",
    ]
    supervisor = Supervisor(worker, 2)
    supervisor.start()
    try:
        wait_for(lambda: supervisor.health().ready == 2, 30, "two ready workers")
    finally:
        supervisor.stop()
    assert supervisor.health() == JobsHealth(2, 2, ())
    assert stopped.read_text() == "xx"  # each got SIGINT, and was let finish


@contextmanager
def synced(store, tmp_path, database_url, queue_url):
    """(app, emulators, env for a subprocess) over a synced library of 1,300 movies."""
    host = PluginHost.create()
    with emulated(MOVIES) as (services_env, emulators):
        env = {
            **services_env,
            "PRUNERR_DATA_DIR": str(tmp_path),
            "PRUNERR_RULES_DIR": str(tmp_path / "rules.d"),
            "PRUNERR_DATABASE_URL": database_url,
            **({"PRUNERR_QUEUE_URL": queue_url} if queue_url else {}),
            "PRUNERR_MAX_DELETIONS_PER_RUN": "5000",
            "PRUNERR_MAX_GB_PER_RUN": "1000000",
        }
        (tmp_path / "rules.d").mkdir()
        config = host.load_config(env)
        services = host.services(config)
        SyncService(store, services).run()
        yield Prunerr(host, config, store=store, services=services), emulators, env


def queue_movies(app, count: int) -> list[int]:
    with db_session:
        rows = app.store.read(
            "SELECT id, title, size FROM item WHERE type='movie' AND arr_id IS NOT NULL "
            "AND size > 0 ORDER BY id LIMIT ?",
            (count,),
        )
        assert len(rows) == count, "the library has enough managed movies"
        result = Queue(app.store).enqueue(
            [Candidate(*r) for r in rows], QueueOptions("unmonitor_and_delete", 0), USER
        )
    return result.queued


def subprocess_env(env: dict) -> dict:
    return {**os.environ, **env, "PYTHONUNBUFFERED": "1"}


def assert_each_deleted_once(app, radarr, entries: list[int]) -> None:
    with db_session:
        states = dict(app.store.read("SELECT id, state FROM queue_entry"))
        recorded = app.store.read("SELECT entry FROM deletion")
    assert {states[e] for e in entries} == {"deleted"}
    assert sorted(r[0] for r in recorded) == sorted(entries)  # one record each
    deletes = sum(n for (method, route), n in radarr.requests.items() if method == "DELETE")
    assert deletes == len(entries)  # one file deletion each, never two


def test_two_workers_share_a_thousand_deletions_each_done_once(
    store, tmp_path, database_url, queue_url
):
    with synced(store, tmp_path, database_url, queue_url) as (app, emulators, env):
        entries = queue_movies(app, int(os.environ.get("PRUNERR_TEST_SCALE", "1000")))
        radarr = emulators["radarr"]
        radarr.reset_counts()
        logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
        workers = [
            subprocess.Popen(
                [PRUNERR, "worker", "--no-periodic"],
                env=subprocess_env(env),
                stdout=subprocess.DEVNULL,
                stderr=log.open("w"),
            )
            for log in logs
        ]
        try:
            started = time.monotonic()
            Tasks(app, create_huey(app.config)).process(True, "test")

            def finished() -> bool:
                with db_session:
                    return not app.store.read(
                        "SELECT 1 FROM queue_entry WHERE state IN ('queued', 'processing')"
                    )

            wait_for(finished, 240, "the queue to empty")
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGINT)
                worker.wait(timeout=30)
        assert_each_deleted_once(app, radarr, entries)
        # runs are recorded in job_run; the queue keeps no results to pile up
        assert create_huey(app.config).storage.result_store_size() == 0
        for log in logs:  # both took a share
            text = log.read_text()
            assert "prunerr.process_batch" in text, text[-2000:]
        print(f"1,000 deletions with two workers: {elapsed:.1f} s")


def test_processing_killed_at_random_points_never_deletes_twice_nor_loses_a_record(
    store, tmp_path, database_url, queue_url
):
    with synced(store, tmp_path, database_url, queue_url) as (app, emulators, env):
        entries = queue_movies(app, 100)
        radarr = emulators["radarr"]
        radarr.faults = Faults(latency_ms=15)
        radarr.reset_counts()
        rnd = random.Random(7)
        for _ in range(4):
            process = subprocess.Popen(
                [PRUNERR, "queue", "process", "--force"],
                env=subprocess_env(env),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rnd.uniform(1.0, 3.0))
            process.kill()  # SIGKILL: no cleanup of any kind
            process.wait()
        radarr.faults = Faults()
        with db_session:
            (left,) = app.store.read(
                "SELECT COUNT(*) FROM queue_entry WHERE state IN ('queued', 'processing')"
            )[0]
        assert left, "the kills interrupted the processing"
        # what the dead processes left `processing` is resumed once their claims are stale
        recovery = Processor(
            app.store, app.services, app.evaluator, limits=Limits(max_items=10_000, claim_timeout=0)
        )
        recovery.process(force=True)
        assert_each_deleted_once(app, radarr, entries)


ITEM = (
    "INSERT INTO item (type, title, server, server_key, library_key, library, added, size, "
    "genres, labels, collections, first_seen, updated_at) "
    "VALUES ('movie', ?, 'plex', ?, '1', 'Movies', 1.0, ?, '[]', '[]', '[]', 1.0, 1.0)"
)


def test_each_entry_due_within_the_reminder_days_is_announced_once(store, tmp_path):
    app = bare_app(store, tmp_path, PRUNERR_REMINDER_DAYS="2")
    app.clock = lambda: 5_000_000.0
    tasks = Tasks(app, create_huey(app.config, immediate=True))
    queue = Queue(store, app.clock)
    with db_session:
        soon, later = (store.insert(ITEM, (title, title, 10)) for title in ("Soon", "Later"))
        queue.enqueue([Candidate(soon, "Soon", 10)], QueueOptions("unmonitor_only", 1), USER)
        queue.enqueue([Candidate(later, "Later", 10)], QueueOptions("unmonitor_only", 3), USER)
    assert tasks.reminders.call_local()["result"] == {"reminded": 1}
    assert tasks.reminders.call_local()["result"] == {"reminded": 0}
    with db_session:
        reminded = {e.item: e.reminded_at for e in queue.entries()}
    assert reminded == {soon: 5_000_000.0, later: None}


def test_a_storage_snapshot_counts_what_deletions_freed_since_the_one_before(store, tmp_path):
    app = bare_app(store, tmp_path)
    now = [6_000_000.0]
    app.clock = lambda: now[0]
    tasks = Tasks(app, create_huey(app.config, immediate=True))
    with db_session:
        gone = store.insert(ITEM, ("Gone", "2", 300))
    assert tasks.snapshot.call_local()["result"]["reclaimed"] == 0
    now[0] += 60
    with db_session:
        queue = Queue(store, app.clock)
        queue.enqueue([Candidate(gone, "Gone", 300)], QueueOptions("full_removal", 0), USER)
        (entry,) = queue.entries()
        assert queue.claim(entry.id, "attempt")
        store.execute("UPDATE item SET tombstoned_at=? WHERE id=?", (now[0], gone))
        store.execute(
            "INSERT INTO deletion (entry, item, title, media_type, size, freed, action, "
            "actor_type, actor_name, deleted_at, calls) "
            "VALUES (?, ?, 'Gone', 'movie', 300, 300, 'full_removal', 'user', 'u', ?, '[]')",
            (entry.id, gone, now[0]),
        )
    now[0] += 60
    assert tasks.snapshot.call_local()["result"]["reclaimed"] == 300
    now[0] += 60
    assert tasks.snapshot.call_local()["result"]["reclaimed"] == 0
