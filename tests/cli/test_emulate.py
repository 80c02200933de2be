"""`prunerr emulate --now`: the library a seed gives is the same whatever day it is served on,
so documented outputs stay true; and Ctrl-C stops the emulators however they were started."""

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import pytest

from prunerr.cli import build_parser
from prunerr.cli.library import EMULATED_NOW

pytestmark = pytest.mark.slow


def served_status(*args: str) -> dict:
    """Radarr's /system/status from `prunerr emulate radarr ARGS`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "prunerr", "emulate", "radarr", "--size", "XS", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        radarr = json.loads(process.stdout.readline())["radarr"]
        return httpx.get(
            radarr["url"] + "/api/v3/system/status", headers={"X-Api-Key": radarr["key"]}
        ).json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        process.stdout.close()


def test_the_library_s_present_is_a_fixed_date_unless_asked_for_another():
    assert build_parser().parse_args(["emulate"]).now == EMULATED_NOW == 1_779_926_400
    june = build_parser().parse_args(["emulate", "--now", "2026-06-01"]).now
    assert june == datetime(2026, 6, 1, tzinfo=UTC).timestamp()
    assert build_parser().parse_args(["emulate", "--now", "2026-06-01T12:00:00+02:00"]).now == (
        june + 10 * 3600
    )
    today = build_parser().parse_args(["emulate", "--now", "today"]).now
    assert today == int(time.time()) // 86400 * 86400


def test_a_bad_date_is_refused(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulate", "--now", "June"])
    assert "not a date: 'June'" in capsys.readouterr().err


def test_the_served_dates_follow_now_not_the_clock():
    """Radarr's start time is three days before the library's present."""
    default = served_status()["startTime"]
    assert default == "2026-05-25T00:00:00Z"
    assert served_status("--now", "2026-06-01")["startTime"] == "2026-05-29T00:00:00Z"


def test_ctrl_c_stops_it_even_when_started_with_sigint_ignored():
    """`nohup prunerr emulate &` starts it with SIGINT ignored; the test fixtures that stopped
    it with SIGINT then waited for it in vain."""
    process = subprocess.Popen(
        [sys.executable, "-m", "prunerr", "emulate", "radarr", "--size", "XS"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert "radarr" in json.loads(process.stdout.readline())
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.stdout.close()
