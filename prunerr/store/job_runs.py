"""Job bookkeeping: leases (`lease`, one per job group, so runs of a group never overlap) and runs
(`job_run`). Every function runs inside the caller's db_session.

The writes to a lease or a running run are single conditional statements in SQL: they race with
other processes (two workers taking one lease) and with the run's own heartbeat thread, where
Pony's optimistic checks would fail one of the writers instead of letting the last one win."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pony.orm import desc as pony_desc
from pony.orm import max as pony_max
from pony.orm import select

from prunerr.store.database import Store


@dataclass(frozen=True)
class JobRun:
    id: int
    job: str
    state: str  # running | ok | failed | skipped (its group was busy)
    actor: str
    started_at: float
    heartbeat_at: float
    finished_at: float | None
    progress: str | None
    result: object  # what the run returned, decoded from JSON
    error: str | None


def take_lease(store: Store, group: str, holder: str, now: float, expires_at: float) -> bool:
    """Take the group's lease if it is free or expired (its holder stopped renewing it)."""
    Lease = store.entities["Lease"]
    Lease.select(lambda lease: lease.name == group and lease.expires_at < now).delete(bulk=True)
    taken = store.update(
        "INSERT INTO lease (name, holder, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING",
        (group, holder, expires_at),
    )
    return bool(taken)


def lease_held(store: Store, group: str, now: float) -> bool:
    Lease = store.entities["Lease"]
    return Lease.exists(lambda lease: lease.name == group and lease.expires_at >= now)


def release_lease(store: Store, group: str, holder: str) -> None:
    Lease = store.entities["Lease"]
    Lease.select(lambda lease: lease.name == group and lease.holder == holder).delete(bulk=True)


def start_run(store: Store, job: str, actor: str, now: float) -> int:
    run = store.entities["JobRun"](
        job=job, state="running", actor=actor, started_at=now, heartbeat_at=now
    )
    run.flush()
    return run.id


def beat(
    store: Store,
    run_id: int,
    group: str,
    holder: str,
    now: float,
    expires_at: float,
    progress: str | None,
) -> None:
    """A running run is alive: its heartbeat (and progress, when given) and its lease renewed."""
    store.update(
        "UPDATE job_run SET heartbeat_at=?, progress=COALESCE(?, progress) WHERE id=?",
        (now, progress, run_id),
    )
    store.update(
        "UPDATE lease SET expires_at=? WHERE name=? AND holder=?", (expires_at, group, holder)
    )


def finish_run(
    store: Store, run_id: int, state: str, now: float, result: object, error: str | None
) -> None:
    store.update(
        "UPDATE job_run SET state=?, finished_at=?, result=?, error=? WHERE id=?",
        (state, now, json.dumps(result, default=str), error, run_id),
    )


def last_runs(store: Store) -> dict[str, JobRun]:
    """Each job's newest run, by job name."""
    Run = store.entities["JobRun"]
    newest = select((run.job, pony_max(run.id)) for run in Run)
    return {job: _run(Run[run_id]) for job, run_id in newest}


def failed_since_last_success(store: Store, error_prefix: str) -> list[JobRun]:
    """The newest failed run of each job whose error begins with `error_prefix`, among the runs
    after the last run (of any job) that succeeded; oldest first."""
    Run = store.entities["JobRun"]
    last_ok = pony_max(run.id for run in Run if run.state == "ok") or 0
    failed = select(
        (run.job, pony_max(run.id))
        for run in Run
        if run.state == "failed" and run.error.startswith(error_prefix) and run.id > last_ok
    )
    return sorted((_run(Run[run_id]) for _, run_id in failed), key=lambda run: run.id)


def _run(row) -> JobRun:
    return JobRun(
        id=row.id,
        job=row.job,
        state=row.state,
        actor=row.actor,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        finished_at=row.finished_at,
        progress=row.progress,
        result=json.loads(row.result) if row.result else None,
        error=row.error,
    )


def finished_since(store: Store, job: str, since: float) -> list[JobRun]:
    """The job's runs that started at `since` or later and finished (ok or failed), oldest
    first."""
    Run = store.entities["JobRun"]
    runs = Run.select(
        lambda r: r.job == job and r.started_at >= since and r.state in ("ok", "failed")
    )
    return [_run(r) for r in runs.order_by(Run.started_at)]


def newest(store: Store, job: str, limit: int) -> list[JobRun]:
    """The job's newest runs that were not skipped (its group was busy), newest first."""
    Run = store.entities["JobRun"]
    runs = Run.select(lambda r: r.job == job and r.state != "skipped")
    return [_run(r) for r in runs.order_by(lambda r: pony_desc(r.id)).limit(limit)]


def latest(store: Store, job: str, after: int = 0) -> JobRun | None:
    """The job's newest run, if its id is above `after`."""
    Run = store.entities["JobRun"]
    newest = pony_max(r.id for r in Run if r.job == job and r.id > after)
    return None if newest is None else _run(Run[newest])
