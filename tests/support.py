"""What several test modules share: the emulators serving a library, rule files, and
`prunerr serve` in its own process. Test modules import from here, never from each other."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
from pony.orm import db_session

from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.store.database import Store, open_store
from prunerr.store.schema import MIGRATIONS
from prunerr.sync import SyncService

REPO = Path(__file__).resolve().parent.parent
SERVICES = ("plex", "radarr", "sonarr", "tautulli", "seerr")
LIBRARY = generate("XS", seed=11)
POSTGRES_URL = os.environ.get("PRUNERR_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")


@contextmanager
def emulated(library, faults: dict[str, Faults] | None = None):
    """Every built-in emulator serving `library`; yields (env, emulators by service)."""
    specs = PluginHost.create().emulators().specs
    running, env = {}, {}
    try:
        for name in SERVICES:
            key = f"{name}-test-key".ljust(32, "x")
            emulator = specs[name].factory(library, key, (faults or {}).get(name, Faults()))
            url = emulator.start()
            running[name] = emulator
            env.update(specs[name].env(url, key))
        yield env, running
    finally:
        for emulator in running.values():
            emulator.stop()


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


KEY = "serve-test-key-0123456789abcdef"


@contextmanager
def synced_library(
    tmp_path, database_url: str | None = None, queue_url: str | None = None, movies: int = 1_300
):
    """Every emulator serving a library of `movies` movies, synced once into the database;
    yields the environment of a `prunerr serve` on it."""
    env = {
        "PORT": str(free_port()),
        "PRUNERR_DATA_DIR": str(tmp_path),
        "PRUNERR_RULES_DIR": str(tmp_path / "rules.d"),
        "PRUNERR_API_KEY": KEY,
        **({"PRUNERR_DATABASE_URL": database_url} if database_url else {}),
        **({"PRUNERR_QUEUE_URL": queue_url} if queue_url else {}),
    }
    (tmp_path / "rules.d").mkdir()
    with emulated(generate("S", seed=5, counts=(movies, 2, 10, 50, 3))) as (services, _):
        env.update(services)
        host = PluginHost.create()
        store = open_store(database_url, tmp_path)
        try:
            SyncService(store, host.services(host.load_config(env))).run()
        finally:
            store.disconnect()
        yield env


class Server:
    """A `prunerr serve` in its own process, and its API."""

    def __init__(self, env: dict, *args: str):
        self.env = env
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.log = Path(env["PRUNERR_DATA_DIR"]) / "serve.out"
        self.started = 0  # jobs the API accepted (202)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prunerr", "serve", "--host", "127.0.0.1", *args],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(self.answers, 60, "the API")
        except BaseException:
            self.stop()
            raise

    def answers(self) -> bool:
        assert self.process.poll() is None, f"prunerr serve exited:\n{self.output()[-3000:]}"
        try:
            return httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def get(self, path: str, key: str | None = KEY) -> dict:
        headers = {"X-Api-Key": key} if key else {}
        answer = httpx.get(f"{self.base}{path}", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def post(self, path: str) -> int:
        status = httpx.post(f"{self.base}{path}", headers={"X-Api-Key": KEY}, timeout=10)
        self.started += status.status_code == 202
        return status.status_code

    def last_run(self, job: str) -> dict:
        (entry,) = [j for j in self.get("/api/jobs") if j["name"] == job]
        return entry["lastRun"] or {}

    def settled(self) -> bool:
        """Whether every job the API accepted has run."""
        runs = recorded_runs(self.env)
        return len(runs) == self.started and all(r[2] != "running" for r in runs)

    def run(self, job: str, timeout: float = 60) -> dict:
        """Run a job through the API once the others are done, and answer its run."""
        wait_for(self.settled, timeout, "the jobs started before")
        assert self.post(f"/api/jobs/{job}") == 202
        wait_for(self.settled, timeout, f"{job} to run")
        return self.last_run(job)

    def workers(self) -> list[int]:
        """The processes the server started (from any of its threads)."""
        tasks = Path(f"/proc/{self.process.pid}/task").glob("*/children")
        return sorted(int(pid) for task in tasks for pid in task.read_text().split())

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def serving(env: dict, *args: str):
    server = Server(env, *args)
    try:
        yield server
    finally:
        server.stop()
    output = server.output()
    assert "disk I/O error" not in output and "Traceback" not in output, output[-4000:]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def recorded_runs(env: dict) -> list[tuple]:
    """Every run the API started, read through a connection of the test's own: what reached
    the database, as any later process sees it."""
    store = open_store(env.get("PRUNERR_DATABASE_URL"), Path(env["PRUNERR_DATA_DIR"]))
    try:
        with db_session:
            return store.read(
                "SELECT id, job, state, error FROM job_run WHERE actor='API user' ORDER BY id"
            )
    finally:
        store.disconnect()


def choose_deletions(store: Store) -> None:
    """Turn off the dry run a new installation starts in, as its user would (the saved
    setting): tests of deletion expect real deletions."""
    with db_session:
        store.execute("DELETE FROM setting WHERE key='dry_run'")
        store.execute("INSERT INTO setting (key, value) VALUES ('dry_run', 'false')")


# the tables in the order the schema first creates them, and whether each has a generated `id`
TABLES = dict(
    (match[1], "{pk}" in statement)
    for migration in MIGRATIONS
    for statement in migration.statements
    if (match := re.match(r"\s*CREATE TABLE (\w+)", statement))
)


def copy_rows(source: Store, target: Store) -> None:
    """Every row of `source` into `target` (both at the latest schema), in place of its own."""
    with db_session:
        postgres = target.dialect.name == "postgres"
        # parents before children is not every table's row order: checks wait for the commit
        target.execute(
            "SET LOCAL session_replication_role = replica"
            if postgres
            else "PRAGMA defer_foreign_keys = ON"
        )
        for table, generated_id in TABLES.items():
            rows = source.read(f"SELECT * FROM {table}")
            target.execute(f"DELETE FROM {table}")
            if rows:
                marks = ", ".join("?" for _ in rows[0])
                target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            if postgres and generated_id:
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )


class _SyncedLibraries:
    """Per backend and library, a database that a sync from the emulators serving the library
    filled, made once per test process: tests that start from a synced library copy it instead
    of syncing again (tests/test_sync.py tests the sync itself). The emulators' environment of
    that sync is kept with it: the same library is served with the same keys and ids."""

    def __init__(self):
        self.directory: Path | None = None  # made on the first sync, removed at exit
        self.made: dict[tuple[str, int], tuple[Store, dict[str, str]]] = {}
        self.schemas: list[str] = []

    def copy(self, library, target: Store) -> dict[str, str]:
        key = (target.dialect.name, id(library))
        if key not in self.made:
            self.made[key] = self._sync(library, target.dialect.name)
        source, env = self.made[key]
        copy_rows(source, target)
        return env

    def _sync(self, library, backend: str) -> tuple[Store, dict[str, str]]:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="prunerr-synced-"))
            atexit.register(self.close)
        url = None  # SQLite in the directory
        # a directory of its own per attempt: a sync that failed shows its own error again
        data_dir = Path(tempfile.mkdtemp(prefix=f"{backend}-", dir=self.directory))
        if backend == "postgres":
            schema = f"synced_{uuid.uuid4().hex[:12]}"
            self._admin(f"CREATE SCHEMA {schema}")
            self.schemas.append(schema)
            url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        store = open_store(url, data_dir)
        choose_deletions(store)
        host = PluginHost.create()
        with emulated(library) as (env, _):
            services = host.services(host.load_config({**env, "PRUNERR_DATA_DIR": str(data_dir)}))
            assert SyncService(store, services).run().ok
        return store, env

    def _admin(self, statement: str) -> None:
        import psycopg2

        url = POSTGRES_URL.replace("postgres://", "postgresql://")
        with closing(psycopg2.connect(url)) as admin:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(statement)

    def close(self) -> None:
        for store, _ in self.made.values():
            store.disconnect()
        for schema in self.schemas:
            self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


_SYNCED = _SyncedLibraries()


def copy_synced(library, store: Store) -> dict[str, str]:
    """Fill `store` (a test's database) as a sync of `library` from the emulators leaves it;
    answer the environment naming those emulators (stopped by now: start them again with
    `emulated(library)` for a test that calls them)."""
    return _SYNCED.copy(library, store)
