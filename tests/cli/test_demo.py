"""`prunerr demo` in its own process, run from the repository the way `make demo` runs it: the
whole loop once (`--no-serve`), and serving until Ctrl-C with nothing left running after."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from prunerr.cli import main
from tests.cli.test_serve import free_port

REPO = Path(__file__).resolve().parents[2]
URLS = re.compile(r"http://127\.0\.0\.1:(\d+)")


def demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "prunerr", "demo", "--size", "XS", *args]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_runs_the_whole_loop_once_and_deletes_on_the_emulators(tmp_path):
    data = tmp_path / "demo"
    done = subprocess.run(
        demo("--grace", "0", "--no-serve", "--data-dir", str(data)),
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "PORT"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr
    for section in ("Emulated services", "Rules", "Sync", "Evaluation", "Deletions"):
        assert f"\n== {section}" in out
    assert "grace period overridden in the copy: 0 days" in out
    if re.search(r"^  \S+ \*", out, re.MULTILINE):  # a rule past the circuit breaker
        assert "the demo confirms it" in out
    assert re.search(r"RULE +MATCHED +QUEUED +PROTECTED +UNKNOWN +SIZE", out)
    rows = re.findall(r"^  (\S+)(?: \*)? +(\d+) +(\d+) +(\d+) +(\d+) ", out, re.MULTILINE)
    assert sum(int(r[3]) for r in rows) > 0  # the protect rules of the copy are in force
    deleted = int(re.search(r"deleted (\d+) item\(s\), freed", out)[1])
    unmonitored = re.search(r"; unmonitored (\d+) \(files kept\)", out)
    assert deleted > 0
    recorded = deleted + (int(unmonitored[1]) if unmonitored else 0)
    assert f"history: {recorded} deletion(s) recorded" in out
    assert "items queued for deletion" in out and f"## {deleted} item(s) deleted" in out
    assert "discord | Prunerr" in out
    assert "Not serving (--no-serve)" in out
    # --data-dir is kept: the database, and the copy of the rules with their grace overridden
    assert (data / "prunerr.db").exists()
    copied = (data / "rules.d" / "movies" / "stale-4k.yaml").read_text()
    assert "grace_period: 0d" in copied and "grace_period: 14d" not in copied


def test_demo_serves_the_api_until_ctrl_c_and_leaves_nothing_running():
    port = free_port()
    process = subprocess.Popen(
        demo("--port", str(port)),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.strip() == "Ctrl-C to stop.":
                break
        out = "".join(lines)
        assert f"URL      http://127.0.0.1:{port}" in out, out
        key = re.search(r"API key  (\w+)", out)[1]
        assert f"curl -H 'X-Api-Key: {key}' 'http://127.0.0.1:{port}/api/stats'" in out
        assert "/api/activity?eventTypes=deletion" in out
        assert "the first deletion is due" in out and "/api/queue/process?force=true" in out
        stats = httpx.get(f"http://127.0.0.1:{port}/api/stats", headers={"X-Api-Key": key})
        assert stats.status_code == 200 and stats.json()["data"]["movieCount"] == 60
        data = Path(re.search(r"data in (\S+) \(removed at exit\)", out)[1])
        assert data.is_dir()
        ports = {int(p) for p in URLS.findall(out)}
        assert len(ports) >= 6  # the API and at least five emulators
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "Stopping" in rest
    assert [p for p in ports if listening(p)] == []
    assert not data.exists()


def test_demo_refuses_a_missing_rules_dir_and_a_used_data_dir(tmp_path, capsys):
    assert main(["demo", "--rules-dir", str(tmp_path / "nowhere")]) == 2
    assert "no rules directory" in capsys.readouterr().err
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "prunerr.db").write_text("")
    args = ["demo", "--rules-dir", str(REPO / "rules.d"), "--data-dir", str(tmp_path / "used")]
    assert main(args) == 2
    assert "is not empty" in capsys.readouterr().err
