"""`prunerr serve` in its own process: a real server on a real port."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import ANY

import httpx
import pytest

from tests.support import free_port, recorded_runs, serving, synced_library, wait_for

pytestmark = pytest.mark.slow


def test_serve_answers_health_and_protects_the_rest_then_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "PRUNERR_DATA_DIR": str(tmp_path),
        "PRUNERR_API_KEY": "serve-test-key-0123456789abcdef",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "prunerr", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["success"] is True
        assert httpx.get(f"{base}/api/settings").status_code == 401
        settings = httpx.get(
            f"{base}/api/settings", headers={"X-Api-Key": "serve-test-key-0123456789abcdef"}
        )
        assert settings.json()["data"]["api_key"] == "********"
        # a 150 MB body is refused from its headers, before a byte of it is sent
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(
                b"POST /api/rules/preview HTTP/1.1\r\nHost: x\r\n"
                b"X-Api-Key: serve-test-key-0123456789abcdef\r\n"
                b"Content-Type: application/json\r\nContent-Length: 157286400\r\n\r\n"
            )
            assert raw.recv(64).startswith(b"HTTP/1.1 413")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "serve-test-key" not in output
    # the log is also kept in the data directory, as the *arr apps keep theirs in /config/logs
    logged = (tmp_path / "logs" / "prunerr.log").read_text()
    assert "Prunerr API on http://127.0.0.1:" in logged and "Prunerr API on" in output
    assert "serve-test-key" not in logged


def test_serve_and_worker_refuse_a_configured_rules_directory_that_does_not_exist(tmp_path):
    """A typo in PRUNERR_RULES_DIR would otherwise drop every file rule without a word."""
    env = {**os.environ, "PRUNERR_DATA_DIR": str(tmp_path), "PRUNERR_RULES_DIR": "/no/such/rules"}
    for command in ("serve", "worker"):
        done = subprocess.run(
            [sys.executable, "-m", "prunerr", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert "rules_dir (from PRUNERR_RULES_DIR): /no/such/rules is not a directory" in (
            done.stderr
        )


# -- the embedded job consumer and its worker processes, through the running server


def without_a_lock_of_their_own(database: Path, pids: list[int]) -> list[int]:
    """The processes that have the SQLite file open but hold no lock on it: a connection of
    theirs came through a fork, and believes it holds its parent's locks (every connection of
    a WAL database holds a read lock on the file while it is open)."""
    database = database.resolve()
    inode = os.stat(database).st_ino
    # "1: POSIX  ADVISORY  READ 1234 08:01:5678 0 EOF": the holder's pid, then the file
    holders = re.findall(r" (\d+) [0-9a-f]+:[0-9a-f]+:(\d+) ", Path("/proc/locks").read_text())
    locked = {int(pid) for pid, held in holders if int(held) == inode}
    lockless = []
    for pid in pids:
        opened = False
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                opened |= os.readlink(fd) == str(database)
            except OSError:
                continue
        if opened and pid not in locked:
            lockless.append(pid)
    return lockless


def test_jobs_keep_running_after_a_collections_sync_and_a_library_sync_started_back_to_back(
    tmp_path,
):
    """Issue 11 (5): on SQLite with the default process workers, these two broke every later
    job (`disk I/O error`) until a restart, while the sync showed `idle`, never run."""
    with synced_library(tmp_path) as env, serving(env) as server:
        assert server.post("/api/jobs/collections") == 202
        assert server.post("/api/library/sync") in (202, 409)  # 409: collections still runs
        runs = {job: server.run(job) for job in ("sync", "users", "snapshot", "collections")}
        lockless = without_a_lock_of_their_own(
            tmp_path / "prunerr.db", [server.process.pid, *server.workers()]
        )
    assert {job: run["state"] for job, run in runs.items()} == dict.fromkeys(runs, "ok"), runs
    assert [r for r in recorded_runs(env) if r[2] not in ("ok", "skipped")] == []
    assert lockless == []


def test_serve_with_its_defaults_runs_fifty_overlapping_jobs_on_sqlite_none_failing(tmp_path):
    names = ("users", "collections", "snapshot", "reminders", "process", "sync", "evaluate")
    with synced_library(tmp_path) as env, serving(env) as server:
        started = time.monotonic()
        accepted = 0
        while accepted < 50:
            assert time.monotonic() - started < 60, f"only {accepted} jobs accepted in 60 s"
            status = server.post(f"/api/jobs/{names[accepted % len(names)]}")
            assert status in (202, 409)  # 409: a job of its group runs now
            accepted += status == 202
        wait_for(server.settled, 60, "the 50 jobs to finish")
        elapsed = time.monotonic() - started
        lockless = without_a_lock_of_their_own(
            tmp_path / "prunerr.db", [server.process.pid, *server.workers()]
        )
        last = {name: server.last_run(name)["state"] for name in names}
    runs = recorded_runs(env)
    assert [r for r in runs if r[2] not in ("ok", "skipped")] == []  # skipped: its group was busy
    assert sum(r[2] == "ok" for r in runs) >= 25, runs
    assert set(last.values()) <= {"ok", "skipped"}, last
    assert lockless == []
    print(f"50 overlapping jobs through prunerr serve: {elapsed:.1f} s")


def test_serve_restarts_killed_job_workers_and_health_is_degraded_meanwhile(
    tmp_path, database_url, queue_url
):
    """Issue 11 (6): worker processes killed (an OOM kill during a big sync, say) were never
    started again, and nothing said so."""
    with synced_library(tmp_path, database_url, queue_url, 100) as env, serving(env) as server:
        wait_for(lambda: server.get("/api/health")["jobs"]["ready"] == 2, 30, "two workers")
        healthy = server.get("/api/health")
        killed = server.workers()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len(server.get("/api/health")["jobs"]["problems"]) == 2, 10, "both")
        degraded = server.get("/api/health")
        public = server.get("/api/health", key=None)
        wait_for(lambda: server.get("/api/health")["status"] == "healthy", 30, "recovery")
        recovered = server.get("/api/health")
        later = server.run("users", timeout=30)
        workers = server.workers()
    assert healthy["status"] == "healthy"
    assert healthy["jobs"] == {"workers": 2, "ready": 2, "problems": []}
    assert public == {"status": "degraded", "version": public["version"], "uptime": ANY}
    assert degraded["status"] == "degraded" and degraded["jobs"]["ready"] == 0
    assert [p.split(";")[0] for p in degraded["jobs"]["problems"]] == [
        "job worker 1 was killed by SIGKILL",
        "job worker 2 was killed by SIGKILL",
    ]
    assert recovered["jobs"] == {"workers": 2, "ready": 2, "problems": []}
    assert later["state"] == "ok"
    assert len(workers) == 2 and not set(killed) & set(workers)


def api_key(env: dict, *args: str) -> str:
    """What `prunerr api-key` prints."""
    command = [sys.executable, "-m", "prunerr", "api-key", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_without_a_key_serve_says_how_to_get_in_and_prunerr_api_key_lets_you(tmp_path):
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PRUNERR_DATA_DIR": str(tmp_path)}
    env.pop("PRUNERR_API_KEY", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prunerr",
            "serve",
            "--host",
            "127.0.0.1",
            "--worker-type",
            "thread",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in process.stdout:
            if "Prunerr API on" in line:
                break
        assert "run `prunerr api-key`" in line
        shown = api_key(env)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/settings", headers={"X-Api-Key": shown}).status_code == 200
        rotated = api_key(env, "--regenerate")
        assert rotated != shown
        assert httpx.get(f"{base}/api/settings", headers={"X-Api-Key": shown}).status_code == 401
        assert httpx.get(f"{base}/api/settings", headers={"X-Api-Key": rotated}).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert shown not in output and rotated not in output
