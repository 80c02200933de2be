"""Background jobs: their state, starting one now through the tasks, and the original's
schedule ribbon (its scans are the rule evaluations)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import falcon
from pony.orm import db_session

from prunerr import wire
from prunerr.jobs import JOBS, LEASE_TTL, JobStatus, Runs
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
        start = datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
        store = self.api.store
        deleted: dict[date, list[tuple[float, int]]] = {}
        for at, freed in deletions.freed_each(store, start):
            deleted.setdefault(datetime.fromtimestamp(at, zone).date(), []).append((at, freed))
        scans = {  # the day's last evaluation (they are oldest first)
            datetime.fromtimestamp(run.started_at, zone).date(): run
            for run in job_runs.finished_since(store, "evaluate", start)
        }
        ok(resp, [_cadence(first + timedelta(days=n), deleted, scans) for n in range(days)])


class Scans:
    """The original's scans, which are the rule evaluations: GET /api/scan/history (`limit`
    1-500, default 50; newest first, with their `total`), /latest (404 when none ran) and
    /status (`{isRunning, currentScan}`, which its client polls after a trigger)."""

    def __init__(self, api):
        self.api = api

    def _newest(self, limit: int) -> list[wire.ScanRecord]:
        now = self.api.clock()
        return [scan_record(run, now) for run in job_runs.newest(self.api.store, "evaluate", limit)]

    def on_get_history(self, req: falcon.Request, resp: falcon.Response) -> None:
        scans = self._newest(params.integer(req, "limit", 50, maximum=500))
        ok(resp, scans, total=len(scans))

    def on_get_latest(self, req: falcon.Request, resp: falcon.Response) -> None:
        scans = self._newest(1)
        if not scans:
            raise ApiError(404, "No scans found")
        ok(resp, scans[0])

    def on_get_status(self, req: falcon.Request, resp: falcon.Response) -> None:
        running = [scan for scan in self._newest(1) if scan.status == "running"]
        current = running[0] if running else None
        ok(resp, wire.ScanStatus(is_running=current is not None, current_scan=current))


def scan_record(run: job_runs.JobRun, now: float) -> wire.ScanRecord:
    """A rule evaluation as the original's scan; one whose worker stopped beating failed."""
    if run.state == "running":
        status = "running" if now - run.heartbeat_at <= LEASE_TTL else "failed"
    else:
        status = "completed" if run.state == "ok" else "failed"
    rules = (run.result or {}).get("rules", []) if status == "completed" else []
    return wire.ScanRecord(
        id=run.id,
        started_at=wire.iso(run.started_at),
        completed_at=wire.iso(run.finished_at),
        items_scanned=sum(r.get("candidates", 0) for r in rules),
        items_flagged=sum(r.get("queued", 0) for r in rules),
        status=status,
    )


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


class SyncStream:
    """The original's sync progress, as server-sent events (`data: {stage, message, result?}`
    lines, no event names): GET follows the running library sync (204 when none runs), POST
    starts one (409 while a library job runs) and follows it, until it ends with `complete`
    (and its `result`) or `error`. The run's progress is read from the database, so it works
    whichever process runs the job."""

    own_sessions = True  # each look at the run is its own
    POLL_S = 0.5
    START_WAIT_S = 60.0  # for a job consumer to start a run POST asked for

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with db_session:
            run = job_runs.latest(self.api.store, "sync")
        if run is None or run.state != "running" or self._stopped(run):
            resp.status = falcon.HTTP_204
            return
        self._stream(resp, run.id - 1)

    def _stopped(self, run: job_runs.JobRun) -> bool:
        """A run that says it runs but whose heartbeat stopped: its process died."""
        return self.api.clock() - run.heartbeat_at > LEASE_TTL

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        tasks = self.api.tasks
        if tasks is None:
            raise ApiError(503, "Background jobs are not running in this process")
        if tasks.busy("sync"):
            raise ApiError(409, "A sync is already in progress")
        with db_session:
            before = job_runs.latest(self.api.store, "sync")
        tasks.sync(actor="API user")
        self._stream(resp, before.id if before else 0)

    def _stream(self, resp: falcon.Response, after: int) -> None:
        resp.content_type = "text/event-stream"
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("X-Accel-Buffering", "no")  # proxies pass each event on at once
        resp.stream = self._events(after)

    def _events(self, after: int) -> Iterator[bytes]:
        """The events of the first sync run after `after`."""
        yield _event("initializing", "Starting the library sync")
        shown, waited = None, 0.0
        while True:
            with db_session:
                run = job_runs.latest(self.api.store, "sync", after)
            if run is None:
                if waited >= self.START_WAIT_S:
                    yield _event("error", "The sync did not start: is a job worker running?")
                    return
            else:
                if run.progress and run.progress != shown:
                    shown = run.progress
                    yield _event("processing_items", run.progress)
                if run.state != "running":
                    yield _ended(run)
                    return
                if self._stopped(run):
                    yield _event("error", "The sync stopped: its job worker is gone")
                    return
            time.sleep(self.POLL_S)
            waited += self.POLL_S


def _event(stage: str, message: str, result: dict | None = None) -> bytes:
    data = {"stage": stage, "message": message, **({"result": result} if result else {})}
    return b"data: " + wire.encode(data) + b"\n\n"


def _ended(run: job_runs.JobRun) -> bytes:
    """The last event of a run: `complete` with the original's result, or `error`."""
    if run.state != "ok":
        message = run.error or "a library job was already running"
        result = {"success": False, "itemsScanned": 0, "errors": 1}
        return _event("error", f"Sync failed: {message}", result)
    sources = (run.result or {}).get("sources", [])
    scanned = sum(s["records"] for s in sources if s["source"].endswith(":media_server"))
    failed = sum(not s["ok"] for s in sources)
    result = {
        "success": failed == 0,
        "itemsScanned": scanned,
        "itemsAdded": None,  # not counted apart from the changed ones
        "itemsUpdated": None,
        "errors": failed,
    }
    return _event("complete", f"Sync complete — {scanned} items scanned", result)
