"""Background jobs: the Huey queue made from configuration, the job kinds with their schedules,
and the bookkeeping of runs.

Runs of one *group* never overlap (sync and evaluation share the group `library`): a run holds a
lease in the database, renewed by a heartbeat while it works, which expires when its holder dies,
so a crashed run never blocks the next one. Every run is a `job_run` row with its state, progress,
result or error; a run whose heartbeat stopped is shown as `crashed`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from pony.orm import db_session

from prunerr.config import Config
from prunerr.database import Store

log = logging.getLogger(__name__)
LEASE_TTL = 120.0  # seconds without a heartbeat before a run counts as dead


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    group: str
    schedule_setting: str | None  # the setting holding its cron schedule


JOBS = {
    job.name: job
    for job in (
        Job("sync", "Library sync", "library", "sync_schedule"),
        Job("users", "Users sync", "users", None),
        Job("collections", "Collections sync", "library", None),
        Job("evaluate", "Rule evaluation", "library", "evaluation_schedule"),
        Job("process", "Queue processing", "queue", "processing_schedule"),
        Job("reminders", "Deletion reminders", "reminders", "processing_schedule"),
        Job("snapshot", "Storage snapshot", "snapshot", "processing_schedule"),
    )
}


def create_huey(config: Config, *, immediate: bool = False) -> Huey:
    """Redis when `queue_url` names one, else SQLite in the data directory. Task results are
    not kept: each run's outcome is in job_run, and results nobody reads would pile up."""
    url = config["queue_url"]
    options = {"immediate": immediate, "utc": True, "results": False}
    if url:
        return RedisHuey("prunerr", url=str(url), **options)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = (config.data_dir / "queue.db").resolve()
    return SqliteHuey("prunerr", filename=str(path), **options)


class Busy(Exception):
    """Another run of the same group holds the lease."""


class Runs:
    """Leases and `job_run` rows."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock

    def acquire(self, group: str, holder: str) -> bool:
        """Take the group's lease if it is free or its holder stopped renewing it."""
        now = self.clock()
        with db_session:
            self.store.update("DELETE FROM lease WHERE name=? AND expires_at < ?", (group, now))
            return bool(
                self.store.update(
                    "INSERT INTO lease (name, holder, expires_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (group, holder, now + LEASE_TTL),
                )
            )

    def held(self, group: str) -> bool:
        """Whether a live holder has the group's lease."""
        with db_session:
            return bool(
                self.store.execute(
                    "SELECT 1 FROM lease WHERE name=? AND expires_at >= ?", (group, self.clock())
                )
            )

    def release(self, group: str, holder: str) -> None:
        with db_session:
            self.store.update("DELETE FROM lease WHERE name=? AND holder=?", (group, holder))

    def start(self, job: str, actor: str) -> int:
        now = self.clock()
        with db_session:
            return self.store.insert(
                "INSERT INTO job_run (job, state, actor, started_at, heartbeat_at) "
                "VALUES (?, 'running', ?, ?, ?)",
                (job, actor, now, now),
            )

    def beat(self, run_id: int, group: str, holder: str, progress: str | None = None) -> None:
        now = self.clock()
        with db_session:
            self.store.update(
                "UPDATE job_run SET heartbeat_at=?, progress=COALESCE(?, progress) WHERE id=?",
                (now, progress, run_id),
            )
            self.store.update(
                "UPDATE lease SET expires_at=? WHERE name=? AND holder=?",
                (now + LEASE_TTL, group, holder),
            )

    def finish(self, run_id: int, state: str, result: object = None, error: str | None = None):
        with db_session:
            self.store.update(
                "UPDATE job_run SET state=?, finished_at=?, result=?, error=? WHERE id=?",
                (state, self.clock(), json.dumps(result, default=str), error, run_id),
            )

    def run(self, job: Job, actor: str, work: Callable[[Callable[[str], None]], object]) -> dict:
        """Run `work(progress)` under the job's lease; raises Busy when the group is taken."""
        holder = uuid.uuid4().hex
        if not self.acquire(job.group, holder):
            raise Busy(f"{job.title} cannot start: another {job.group} job is running")
        run_id = self.start(job.name, actor)
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(LEASE_TTL / 4):
                self.beat(run_id, job.group, holder)

        beating = threading.Thread(target=heartbeat, name=f"{job.name}-heartbeat", daemon=True)
        beating.start()
        try:
            result = work(lambda text: self.beat(run_id, job.group, holder, text))
        except Exception as exc:
            log.exception("%s failed", job.title)
            self.finish(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            stop.set()
            beating.join()
            self.release(job.group, holder)
        self.finish(run_id, "ok", result)
        return {"runId": run_id, "result": result}

    def status(self, config: Config) -> list[dict]:
        """Each job's last run, whether it runs now, and its next scheduled time."""
        now = self.clock()
        zone = ZoneInfo(str(config["tz"]))
        with db_session:
            rows = self.store.execute(
                "SELECT r.job, r.id, r.state, r.actor, r.started_at, r.heartbeat_at, "
                "r.finished_at, r.progress, r.result, r.error FROM job_run r "
                "WHERE r.id IN (SELECT MAX(id) FROM job_run GROUP BY job)"
            )
        last = {row[0]: row[1:] for row in rows}
        jobs = []
        for job in JOBS.values():
            entry: dict[str, object] = {
                "name": job.name,
                "title": job.title,
                "group": job.group,
                "schedule": config[job.schedule_setting] if job.schedule_setting else None,
                "nextRun": None,
                "state": "idle",
                "lastRun": None,
            }
            if job.schedule_setting:
                local = datetime.fromtimestamp(now, zone)
                following = croniter(str(config[job.schedule_setting]), local).get_next(datetime)
                entry["nextRun"] = following.astimezone(UTC).isoformat().replace("+00:00", "Z")
            if job.name in last:
                run_id, state, actor, started, beat, finished, progress, result, error = last[
                    job.name
                ]
                if state == "running" and now - beat > LEASE_TTL:
                    state = "crashed"
                entry["state"] = "running" if state == "running" else "idle"
                entry["lastRun"] = {
                    "id": run_id,
                    "state": state,
                    "actor": actor,
                    "startedAt": _iso(started),
                    "finishedAt": _iso(finished),
                    "durationSeconds": round((finished or now) - started, 3),
                    "progress": progress,
                    "result": json.loads(result) if result else None,
                    "error": error,
                }
            jobs.append(entry)
        return jobs


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def due(schedule: str, moment: datetime) -> bool:
    """Whether a cron schedule fires in the minute of `moment` (a zone-aware local time)."""
    return croniter.match(schedule, moment.replace(second=0, microsecond=0))
