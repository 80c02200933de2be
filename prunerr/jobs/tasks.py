"""The jobs of one Prunerr as Huey tasks. Tasks are small and take ids; each runs under its
group's lease and leaves a `job_run` row (see prunerr.jobs). A minute tick enqueues what the
schedules (in the user's time zone) say is due; exactly one consumer should run it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from huey import crontab
from huey.api import Huey
from pony.orm import db_session

from prunerr import wire
from prunerr.app import Prunerr
from prunerr.dsl.units import DAY
from prunerr.jobs import JOBS, Busy, JobsHealth, Runs, Supervisor, describe, due, sync_at_start
from prunerr.planning.library_index import stats
from prunerr.queue import Queue
from prunerr.store import collections, deletions, storage_snapshots
from prunerr.store.activity import Actor
from prunerr.store.database import database_error
from prunerr.sync import SyncService

log = logging.getLogger(__name__)
BATCH = 25  # entries per processing task; workers take batches in parallel


def _actor(name: str) -> Actor:
    return Actor("scheduler", "Scheduler") if name == "scheduler" else Actor("user", name)


class Tasks:
    def __init__(self, app: Prunerr, huey: Huey):
        self.app = app
        self.huey = huey
        self.runs = Runs(app.store, app.clock)
        self.sync = huey.task(name="prunerr.sync")(self._sync)
        self.users = huey.task(name="prunerr.users")(self._users)
        self.collections = huey.task(name="prunerr.collections")(self._collections)
        self.evaluate = huey.task(name="prunerr.evaluate")(self._evaluate)
        self.process = huey.task(name="prunerr.process")(self._process)
        self.process_batch = huey.task(name="prunerr.process_batch")(self._process_batch)
        self.reminders = huey.task(name="prunerr.reminders")(self._reminders)
        self.snapshot = huey.task(name="prunerr.snapshot")(self._snapshot)
        self.tick = huey.periodic_task(crontab(), name="prunerr.tick")(self._tick)
        self.supervisor: Supervisor | None = None  # the worker processes this process keeps

    def busy(self, job: str) -> bool:
        """Whether a run of the job's group holds its lease now."""
        return self.runs.held(JOBS[job].group)

    def health(self) -> JobsHealth:
        """Whether jobs can run: this process's worker processes, and the last runs (a job
        whose last run failed on the database)."""
        workers = self.supervisor.health() if self.supervisor else JobsHealth(None, None, ())
        try:
            failures = self.runs.failures()
        except Exception as exc:
            if not database_error(exc):
                raise
            failures = [f"the job runs cannot be read: {describe(exc)}"]
        return JobsHealth(workers.workers, workers.ready, (*workers.problems, *failures))

    def _guarded(self, job: str, actor: str, work) -> dict | None:
        self.app.refresh_config()  # settings saved through the API since
        try:
            return self.runs.run(JOBS[job], actor, work)
        except Busy as exc:
            log.info("%s", exc)
            self.runs.finish(self.runs.start(job, actor), "skipped", error=str(exc))
            return None

    # -- the jobs

    def sync_at_start(self) -> bool:
        """Enqueue the library sync when Prunerr starts, if `sync_on_start` says so: the same
        job as the scheduled one, run by a worker. Whether it was enqueued."""
        self.app.refresh_config()
        reason = sync_at_start(self.app.config, self.runs.last_synced(), self.app.clock())
        if reason is None:
            mode = self.app.config["sync_on_start"]
            why = "sync_on_start is never" if mode == "never" else "the last full one is recent"
            log.info("no library sync at start: %s", why)
            return False
        log.info("library sync at start: %s", reason)
        self.sync()
        return True

    def _sync(self, actor: str = "scheduler") -> dict | None:
        def work(job_progress):
            app = self.app

            def progress(text: str) -> None:
                log.info("library sync: %s", text)
                job_progress(text)

            progress(f"reading {len(app.services.services)} service(s)")
            report = SyncService(
                app.store, app.services, watch_source=app.config["watch_history"]
            ).run()
            progress("collections")
            with db_session:
                found = collections.sync(app.store, app.clock())
            progress("loading the library")
            app.library.refresh()  # in the job's thread: the API keeps answering
            if not report.ok:
                failed = [r for r in report.results if not r.ok]
                app.notifications.send(
                    "sync_error",
                    "Library sync incomplete",
                    "Rules treat the data of these sources as unknown until they sync again.",
                    tuple((r.source, r.message) for r in failed),
                )
            log.info("library sync %s", "done" if report.ok else "incomplete")
            return {**report.as_dict(), "collections": found}

        return self._guarded("sync", actor, work)

    def _users(self, actor: str = "scheduler") -> dict | None:
        app = self.app
        sync = SyncService(app.store, app.services, watch_source=app.config["watch_history"])
        return self._guarded("users", actor, lambda progress: {"users": sync.sync_accounts()})

    def _collections(self, actor: str = "scheduler") -> dict | None:
        def work(progress):
            with db_session:
                return collections.sync(self.app.store, self.app.clock())

        return self._guarded("collections", actor, work)

    def _evaluate(self, rule_ids: list[int] | None = None, actor: str = "scheduler") -> dict | None:
        def work(progress):
            runs = self.app.evaluator.run(rule_ids, actor=_actor(actor))
            return wire.evaluation_result(runs)

        return self._guarded("evaluate", actor, work)

    def _process(self, force: bool = False, actor: str = "scheduler") -> dict | None:
        """Hand the due entries, within the per-run limits, to the workers in batches."""

        def work(progress):
            chosen, deferred = self.app.processor.select(force=force)
            for start in range(0, len(chosen), BATCH):
                progress(f"handing out entries {start + 1}-{min(start + BATCH, len(chosen))}")
                self.process_batch(chosen[start : start + BATCH], actor)
            return {"entries": len(chosen), "deferred": deferred}

        return self._guarded("process", actor, work)

    def _process_batch(self, entry_ids: list[int], actor: str = "scheduler") -> dict:
        report = self.app.processor.process(entry_ids, actor=_actor(actor))
        return wire.plain(wire.process_report(report))

    def _reminders(self, actor: str = "scheduler") -> dict | None:
        """One notification for the entries due within `reminder_days`, each reminded once."""

        def work(progress):
            app = self.app
            days = int(app.config["reminder_days"])
            if not days:
                return {"reminded": 0}
            now = app.clock()
            with db_session:
                soon = Queue(app.store, app.clock).remind(days * DAY)
            if soon:
                app.notifications.send(
                    "deletion_imminent",
                    f"{len(soon)} item(s) will be deleted within {days} day(s)",
                    "Remove them from the queue (DELETE /api/queue/:id) or protect them to keep "
                    "them.",
                    tuple((e.title, f"{e.days_remaining(now)} day(s) left") for e in soon),
                )
            return {"reminded": len(soon)}

        return self._guarded("reminders", actor, work)

    def _snapshot(self, actor: str = "scheduler") -> dict | None:
        def work(progress):
            app = self.app
            figures = stats(app.library.snapshot())
            sizes = {"movie": 0, "show": 0}
            for item in app.library.snapshot().items:
                if item.fields["type"] in sizes:
                    sizes[item.fields["type"]] += item.size
            with db_session:
                since = storage_snapshots.last_captured(app.store)
                taken = storage_snapshots.StorageSnapshot(
                    app.clock(),
                    sizes["movie"],
                    sizes["show"],
                    figures.movies,
                    figures.shows,
                    deletions.freed_since(app.store, since or 0.0),
                )
                storage_snapshots.add(app.store, taken)
            return {"totalSize": taken.total_size, "reclaimed": taken.reclaimed}

        return self._guarded("snapshot", actor, work)

    def _tick(self) -> list[str]:
        """Enqueue the jobs and rule evaluations whose schedule fires this minute."""
        self.app.refresh_config()
        config = self.app.config
        local = datetime.fromtimestamp(self.app.clock(), UTC).astimezone(
            ZoneInfo(str(config["tz"]))
        )
        started = []
        for job in JOBS.values():
            schedule = job.schedule(config)
            if schedule and due(schedule, local):
                getattr(self, job.name)()
                started.append(job.name)
        for book_rule in self.app.book.contents().rules.values():
            rule = book_rule.rule
            if (
                rule.kind == "delete"
                and rule.enabled
                and rule.schedule
                and due(rule.schedule, local)
            ):
                self.evaluate([book_rule.id])
                started.append(f"evaluate:{book_rule.id}")
        return started
