"""`prunerr demo` in its own process, run from the repository the way `make demo` runs it: the
whole loop once (`--no-serve`), and serving until Ctrl-C with nothing left running after."""

import contextlib
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from prunerr.cli import demo as demo_module
from prunerr.cli import main
from prunerr.queue.notify import LISTED
from tests.support import free_port

pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parents[2]
URLS = re.compile(r"http://127\.0\.0\.1:(\d+)")


def demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "prunerr", "demo", "--size", "XS", *args]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_runs_the_whole_loop_once_and_deletes_on_the_emulators(tmp_path):
    """Anywhere (the installed example rules), with dry run turned off and saying so."""
    data = tmp_path / "demo"
    done = subprocess.run(
        demo("--grace", "0", "--no-serve", "--data-dir", str(data)),
        cwd=tmp_path,
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
    assert "dry run turned off: the demo really deletes" in out
    if re.search(r"^  \S+ \*", out, re.MULTILINE):  # a rule past the circuit breaker
        assert "the demo confirms it" in out
    assert re.search(r"RULE +MATCHED +QUEUED +ALREADY QUEUED +PROTECTED +UNKNOWN +SIZE", out)
    rows = re.findall(r"^  (\S+)(?: \*)? +(\d+) +(\d+) +(\d+) +(\d+) ", out, re.MULTILINE)
    assert sum(int(r[4]) for r in rows) > 0  # the protect rules of the copy are in force
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


# --- one run in this process, to read the emulators after it (issue 13) -----------------------


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict:
    """`prunerr demo --size XS --grace 0 --no-serve`, run here: its output, its database and the
    emulators it started (stopped, their state kept)."""
    data = tmp_path_factory.mktemp("ran") / "demo"
    started: list = []

    def start(*args):
        emulators, env = start_emulators(*args)
        started.extend(emulators)
        return emulators, env

    start_emulators = demo_module._start_emulators
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(demo_module, "_start_emulators", start)
        patch.chdir(REPO)
        code = main(["demo", "--size", "XS", "--grace", "0", "--no-serve", "--data-dir", str(data)])
    assert code == 0, out.getvalue()
    with contextlib.closing(sqlite3.connect(data / "prunerr.db")) as db:
        (result,) = db.execute("SELECT result FROM job_run WHERE job = 'evaluate'").fetchone()
        deletions = db.execute(
            "SELECT i.arr_id, i.season_number FROM deletion d JOIN item i ON i.id = d.item "
            "WHERE d.media_type = 'season' AND i.arr_instance = 'sonarr'"
        ).fetchall()
    return {
        "out": out.getvalue(),
        "rules": json.loads(result)["rules"],
        "seasons_deleted": deletions,
        "emulators": {e.service: e for e in started},
    }


def test_every_rule_accounts_for_each_of_its_matches(ran):
    outcomes = ("queued", "alreadyQueued", "protected", "held", "deletedBefore", "gone")
    assert len(ran["rules"]) == 7
    for rule in ran["rules"]:
        assert rule["matched"] == sum(rule[o] for o in outcomes), rule
    assert any(r["alreadyQueued"] for r in ran["rules"])  # items several rules match
    # the total row adds up the rows as they were counted
    total = re.search(r"^  all rules +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) ", ran["out"], re.M)
    columns = ("matched", "queued", "alreadyQueued", "protected", "unknown")
    assert [int(n) for n in total.groups()] == [sum(r[c] for r in ran["rules"]) for c in columns]
    assert "MATCHED = QUEUED + ALREADY QUEUED + PROTECTED" in ran["out"]


def test_counts_in_summaries_and_notifications_are_of_what_they_list(ran):
    out = ran["out"]
    deleted = int(re.search(r"deleted (\d+) item\(s\), freed", out)[1])
    examples = re.search(r"freed .*\n((?:    .*\n)+)", out)[1].splitlines()
    more = re.fullmatch(r"    … and (\d+) more", examples[-1])
    assert deleted > LISTED  # so the notification has to say how many it leaves out
    assert more and len(examples) - 1 + int(more[1]) == deleted
    # each Discord message: its title's count is its fields plus the "… and N more" line
    for count, fields in re.findall(r"## (\d+) item\(s\) deleted\n.*\n((?:    - .*\n)+)", out):
        listed = fields.splitlines()
        rest = re.fullmatch(r"    - … and (\d+) more", listed[-1])
        assert rest and len(listed) - 1 + int(rest[1]) == int(count)


def test_a_season_is_deleted_through_sonarr(ran):
    sonarr = ran["emulators"]["sonarr"]
    assert ran["seasons_deleted"], "no season was deleted"
    for series, number in ran["seasons_deleted"]:
        assert not [
            f
            for f in sonarr.files.values()
            if (f["seriesId"], f["seasonNumber"]) == (series, number)
        ]
        (show,) = [s for s in sonarr.library.shows if s.sonarr_id == series]
        (season,) = [s for s in show.seasons if s.number == number]
        assert season.episodes  # it had files
