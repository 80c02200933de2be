"""What several test modules share: the emulators serving a library, rule files, and
`prunerr serve` in its own process. Test modules import from here, never from each other."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from pony.orm import db_session

from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.store.database import open_store
from prunerr.sync import SyncService

REPO = Path(__file__).resolve().parent.parent
SERVICES = ("plex", "radarr", "sonarr", "tautulli", "seerr")
LIBRARY = generate("XS", seed=11)


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
