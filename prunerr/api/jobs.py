"""Background jobs: their state, starting one now through the tasks, and the original's
schedule ribbon (its scans are the rule evaluations)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import falcon

from prunerr import wire
from prunerr.jobs import JOBS, JobStatus, Runs
from prunerr.store import deletions, job_runs

from . import params
from .errors import ApiError, ok


class StartJob:
    """POST: start a background job now (`job`, or the one named in the path); 202, or 409
    while a job of its group runs."""

    own_sessions = True  # the job's (it may run in this thread: Huey's immediate mode)

    def __init__(self, api, job: str | None = None):
        self.api = api
        self.job = job

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str = "") -> None:
        job = self.job or name
        if job not in JOBS:
            raise ApiError(404, f"No job named {name!r} (jobs: {', '.join(JOBS)})")
        tasks = self.api.tasks
        if tasks is None:
            raise ApiError(503, "Background jobs are not running in this process")
        if tasks.busy(job):
            raise ApiError(409, f"A {JOBS[job].group} job is already running")
        getattr(tasks, job)(actor="API user")
        ok(resp, wire.JobStarted(job=job, queued=True), status=202, message=f"{job} started")


class Jobs:
    """GET: every background job with its last run, state and next scheduled run."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        statuses = Runs(self.api.store, self.api.clock).status(self.api.config)
        ok(resp, [job_json(status) for status in statuses])


def job_json(status: JobStatus) -> wire.Job:
    job, run = status.job, status.last_run
    return wire.Job(
        name=job.name,
        title=job.title,
        group=job.group,
        schedule=status.schedule,
        next_run=wire.iso(status.next_run),
        state="running" if status.running else "idle",
        last_run=None
        if run is None
        else wire.JobRun(
            id=run.id,
            state=run.state,
            actor=run.actor,
            started_at=wire.iso(run.started_at),
            finished_at=wire.iso(run.finished_at),
            duration_seconds=round(status.last_duration, 3),
            progress=run.progress,
            result=run.result,
            error=run.error,
        ),
    )


class ScanCadence:
    """GET `days` (1-60, default 14): one `wire.CadenceDay` a local day (TZ), oldest first."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        days = params.integer(req, "days", 14, maximum=60)
        zone = ZoneInfo(str(self.api.config["tz"]))
        today = datetime.fromtimestamp(self.api.clock(), zone).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, time(), zone).timestamp()
        store = self.api.store
        deleted: dict[date, list[tuple[float, int]]] = {}
        for at, freed in deletions.freed_each(store, start):
            deleted.setdefault(datetime.fromtimestamp(at, zone).date(), []).append((at, freed))
        scans = {  # the day's last evaluation (they are oldest first)
            datetime.fromtimestamp(run.started_at, zone).date(): run
            for run in job_runs.finished_since(store, "evaluate", start)
        }
        ok(resp, [_cadence(first + timedelta(days=n), deleted, scans) for n in range(days)])


def _cadence(day: date, deleted: dict, scans: dict) -> wire.CadenceDay:
    gone, scan = deleted.get(day, []), scans.get(day)
    failed = scan is not None and scan.state == "failed"
    if scan is not None:
        when = wire.iso(scan.started_at)
    elif gone:
        when = wire.iso(max(at for at, _ in gone))
    else:
        when = f"{day.isoformat()}T12:00:00"
    rules = (scan.result or {}).get("rules", []) if scan is not None and not failed else []
    return wire.CadenceDay(
        date=when,
        status="failed" if failed else "ok" if gone else "skipped",
        files=len(gone),
        gb=round(sum(freed for _, freed in gone) / 2**30, 1),
        dur=round(scan.finished_at - scan.started_at) if scan is not None else 0,
        flagged=sum(r.get("queued", 0) for r in rules),
        timed=scan is not None or bool(gone),
    )
