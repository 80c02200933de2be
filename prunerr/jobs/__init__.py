"""Background jobs: the Huey queue made from configuration, the job kinds with their schedules,
the bookkeeping of runs, and the supervisor of `prunerr serve`'s worker processes.

Runs of one *group* never overlap (sync and evaluation share the group `library`): a run holds a
lease in the database, renewed by a heartbeat while it works, which expires when its holder dies,
so a crashed run never blocks the next one. Every run is a `job_run` row with its state, progress,
result or error; a run whose heartbeat stopped is shown as `crashed`, one that failed on the
database says so in its error.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from pony.orm import TransactionError, db_session

from prunerr.config import Config, mask_url
from prunerr.dsl.units import format_duration
from prunerr.store import job_runs, sync_state
from prunerr.store.database import Store, database_error
from prunerr.store.job_runs import JobRun

log = logging.getLogger(__name__)
LEASE_TTL = 120.0  # seconds without a heartbeat before a run counts as dead
DATABASE_FAILED = "database error"  # how the error of a run that failed on the database begins


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    group: str
    schedule_setting: str | None  # the setting holding its cron schedule
    when_off: str | None = None  # its cron when that setting is off

    def schedule(self, config: Config) -> str | None:
        """Its cron schedule, None when it only runs when asked."""
        value = config[self.schedule_setting] if self.schedule_setting else None
        return self.when_off if value is None else str(value)


JOBS = {
    job.name: job
    for job in (
        Job("sync", "Library sync", "library", "sync_schedule"),
        Job("users", "Users sync", "users", None),
        Job("collections", "Collections sync", "library", None),
        Job("evaluate", "Rule evaluation", "library", "evaluation_schedule"),
        Job("process", "Queue processing", "queue", "processing_schedule"),
        Job("reminders", "Deletion reminders", "reminders", "processing_schedule"),
        # after processing, so the day's figures count its deletions; daily all the same
        Job("snapshot", "Storage snapshot", "snapshot", "processing_schedule", "0 4 * * *"),
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


def describe(exc: BaseException) -> str:
    """A run's error in words (URLs in it masked); one raised by the database says so first."""
    text = mask_url(f"{type(exc).__name__}: {exc}")
    return f"{DATABASE_FAILED}: {text}" if database_error(exc) else text


class Runs:
    """Leases and `job_run` rows."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock

    def acquire(self, group: str, holder: str) -> bool:
        """Take the group's lease if it is free or its holder stopped renewing it."""
        now = self.clock()
        with db_session:
            return job_runs.take_lease(self.store, group, holder, now, now + LEASE_TTL)

    def held(self, group: str) -> bool:
        """Whether a live holder has the group's lease."""
        with db_session:
            return job_runs.lease_held(self.store, group, self.clock())

    def release(self, group: str, holder: str) -> None:
        with db_session:
            job_runs.release_lease(self.store, group, holder)

    def start(self, job: str, actor: str) -> int:
        with db_session:
            return job_runs.start_run(self.store, job, actor, self.clock())

    def beat(self, run_id: int, group: str, holder: str, progress: str | None = None) -> None:
        now = self.clock()
        with db_session:
            job_runs.beat(self.store, run_id, group, holder, now, now + LEASE_TTL, progress)

    def finish(self, run_id: int, state: str, result: object = None, error: str | None = None):
        with db_session:
            job_runs.finish_run(self.store, run_id, state, self.clock(), result, error)

    def run(self, job: Job, actor: str, work: Callable[[Callable[[str], None]], object]) -> dict:
        """Run `work(progress)` under the job's lease; raises Busy when the group is taken."""
        holder = uuid.uuid4().hex
        if not self._recorded(self.acquire, job.group, holder):
            raise Busy(f"{job.title} cannot start: another {job.group} job is running")
        run_id = self._recorded(self.start, job.name, actor)
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(LEASE_TTL / 4):
                try:
                    self.beat(run_id, job.group, holder)
                except Exception as exc:  # the next beat may make it; the run goes on
                    log.warning("%s: heartbeat failed: %s", job.title, describe(exc))

        beating = threading.Thread(target=heartbeat, name=f"{job.name}-heartbeat", daemon=True)
        beating.start()
        try:
            result = work(lambda text: self.beat(run_id, job.group, holder, text))
        except Exception as exc:
            log.exception("%s failed", job.title)
            self._recorded(self.finish, run_id, "failed", error=describe(exc))
            raise
        finally:
            stop.set()
            beating.join()
            try:
                self._recorded(self.release, job.group, holder)
            except Exception as exc:  # it expires after LEASE_TTL
                log.warning("%s: lease not released: %s", job.title, describe(exc))
        self._recorded(self.finish, run_id, "ok", result)
        return {"runId": run_id, "result": result}

    def _recorded(self, write: Callable, *args, **kwargs):
        """One bookkeeping write; after a database error, once more on new connections (the
        failed one may be broken), so that a run that failed on the database is recorded."""
        try:
            return write(*args, **kwargs)
        except Exception as exc:
            if not database_error(exc):
                raise
            log.warning("job bookkeeping failed (%s); retrying on a new connection", exc)
            with suppress(TransactionError):  # in the caller's db_session: retry on its own
                self.store.disconnect()
            return write(*args, **kwargs)

    def last_synced(self) -> float | None:
        """When the last library sync that read every source finished (None: never)."""
        with db_session:
            return sync_state.last_complete_sync(self.store)

    def failures(self) -> list[str]:
        """The runs that failed on the database since the last run that succeeded (the last
        of each job): until one succeeds again, jobs may not be able to run at all."""
        with db_session:
            failed = job_runs.failed_since_last_success(self.store, f"{DATABASE_FAILED}:")
        return [
            f"{JOBS[run.job].title if run.job in JOBS else run.job} (run {run.id}) failed: "
            f"{run.error}"
            for run in failed
        ]

    def status(self, config: Config) -> list[JobStatus]:
        """Each job's last run, whether it runs now, and its next scheduled time."""
        now = self.clock()
        with db_session:
            last = job_runs.last_runs(self.store)
        statuses = []
        for job in JOBS.values():
            schedule = job.schedule(config)
            following = None
            if schedule:
                local = datetime.fromtimestamp(now, _zone(config))
                following = croniter(schedule, local).get_next(datetime).timestamp()
            run = last.get(job.name)
            if run and run.state == "running" and now - run.heartbeat_at > LEASE_TTL:
                run = replace(run, state="crashed")
            statuses.append(JobStatus(job, schedule, following, run, now))
        return statuses


@dataclass(frozen=True)
class JobStatus:
    job: Job
    schedule: str | None  # cron, in the configured time zone
    next_run: float | None  # POSIX seconds
    last_run: JobRun | None  # its state is `crashed` when it runs no more but never finished
    at: float  # when this was read

    @property
    def running(self) -> bool:
        return self.last_run is not None and self.last_run.state == "running"

    @property
    def last_duration(self) -> float | None:
        """Seconds the last run took, or has taken so far."""
        run = self.last_run
        return None if run is None else (run.finished_at or self.at) - run.started_at


def interval(schedule: str, moment: datetime) -> float:
    """The seconds between the runs of a cron schedule around `moment` (zone-aware): those of
    its last run before it and its next one."""
    following = croniter(schedule, moment).get_next(datetime)
    previous = croniter(schedule, moment).get_prev(datetime)
    return following.timestamp() - previous.timestamp()


def sync_at_start(config: Config, last_synced: float | None, now: float) -> str | None:
    """Why the library syncs as Prunerr starts (`sync_on_start`), or None: `always`; `stale`,
    the default, when it never synced in full or longer ago than the sync schedule's interval
    (with the schedule off, only when it never synced)."""
    mode = config["sync_on_start"]
    if mode == "never":
        return None
    if mode == "always":
        return "sync_on_start is always"
    if last_synced is None:
        return "the library was never synced in full"
    if config["sync_schedule"] is None:  # off: no interval to be stale after
        return None
    every = interval(str(config["sync_schedule"]), datetime.fromtimestamp(now, _zone(config)))
    if now - last_synced <= every:
        return None
    return (
        f"the last full sync was {format_duration(now - last_synced)} ago, longer than the "
        f"sync schedule's interval ({format_duration(every)})"
    )


def _zone(config: Config) -> ZoneInfo:
    return ZoneInfo(str(config["tz"]))


def due(schedule: str, moment: datetime) -> bool:
    """Whether a cron schedule fires in the minute of `moment` (a zone-aware local time)."""
    return croniter.match(schedule, moment.replace(second=0, microsecond=0))


@dataclass(frozen=True)
class JobsHealth:
    """Whether jobs can run: the worker processes kept by this process (None: it keeps none),
    how many are ready, and what stops jobs from running, in words."""

    workers: int | None
    ready: int | None
    problems: tuple[str, ...]


def _ending(code: int) -> str:
    """How a process ended, from its return code."""
    if code >= 0:
        return f"exited with status {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


@dataclass
class _Slot:
    number: int
    process: subprocess.Popen | None = None
    ready: bool = False
    problem: str | None = None


class Supervisor:
    """Keeps `count` job worker processes running: those of `prunerr serve`'s embedded consumer.

    Each worker runs `command`, a fresh interpreter, never a fork of the server, so it opens its
    own database and queue connections after it starts (see `Store`), and prints `ready` once it
    has. A worker that exits while the supervisor runs (an OOM kill, say) is started again after
    a back-off: `first_delay` seconds, doubled after each exit that followed a short life (less
    than `steady` seconds) up to `max_delay`. Until the new one is ready, `health()` names the
    problem. A worker's standard input is a pipe from the server: when the server dies, however
    it dies, the worker sees it close and stops."""

    def __init__(
        self,
        command: Sequence[str],
        count: int,
        *,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        steady: float = 60.0,
        stop_timeout: float = 30.0,
    ):
        self.command = list(command)
        self.first_delay, self.max_delay, self.steady = first_delay, max_delay, steady
        self.stop_timeout = stop_timeout
        self._slots = [_Slot(n) for n in range(1, count + 1)]
        self._lock = threading.Lock()  # guards the slots' fields and the start of a process
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for slot in self._slots:
            thread = threading.Thread(
                target=self._keep, args=(slot,), name=f"job-worker-{slot.number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def health(self) -> JobsHealth:
        with self._lock:
            return JobsHealth(
                len(self._slots),
                sum(slot.ready for slot in self._slots),
                tuple(slot.problem for slot in self._slots if slot.problem),
            )

    def _keep(self, slot: _Slot) -> None:
        """Run the slot's worker, and again whenever it exits, until the supervisor stops."""
        delay = self.first_delay
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    # its own process group: a Ctrl-C in the terminal reaches the server only,
                    # which stops its workers
                    process = slot.process = subprocess.Popen(
                        self.command,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        process_group=0,
                    )
                except OSError as exc:
                    process = slot.process = None
                    how = f"could not start ({exc})"
            started = time.monotonic()
            if process is not None:
                for line in process.stdout:
                    if line.strip() == b"ready":
                        with self._lock:
                            slot.ready, slot.problem = True, None
                code = process.wait()
                process.stdout.close()
                process.stdin.close()
                how = _ending(code)
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= self.steady:
                delay = self.first_delay
            log.warning("job worker %d %s; starting it again in %g s", slot.number, how, delay)
            with self._lock:
                slot.ready = False
                slot.problem = f"job worker {slot.number} {how}; restarting in {delay:g} s"
            if self._stopping.wait(delay):
                return
            with self._lock:
                slot.problem = f"job worker {slot.number} {how}; restarted, not ready yet"
            delay = min(delay * 2, self.max_delay)

    def stop(self) -> None:
        """Stop the workers: SIGINT lets their running jobs finish, for up to `stop_timeout`
        seconds; then SIGTERM interrupts them, and SIGKILL ends what is left. A worker not
        ready yet runs no job: SIGTERM ends it at once."""
        with self._lock:
            self._stopping.set()
            running = [s for s in self._slots if s.process and s.process.poll() is None]
            processes = [s.process for s in running]
            for slot in running:
                slot.process.send_signal(signal.SIGINT if slot.ready else signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("job worker (pid %d) still running: interrupting it", process.pid)
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for thread in self._threads:
            thread.join()
