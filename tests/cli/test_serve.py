"""`prunerr serve` in its own process: a real server on a real port."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
