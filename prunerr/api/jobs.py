"""Background jobs: their state, and starting one now through the tasks."""

from __future__ import annotations

import falcon

from prunerr import wire
from prunerr.jobs import JOBS, JobStatus, Runs

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
