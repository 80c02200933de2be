"""`prunerr emulate`, `prunerr sync`, `prunerr rules plan` and `prunerr plugins` end to end, each
in its own process, the way a user runs them."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pony.orm import db_session

from prunerr.store import collections
from prunerr.store.activity import USER
from prunerr.store.database import open_store

pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emulators(tmp_path_factory):
    env_file = tmp_path_factory.mktemp("emulate") / "emulators.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prunerr",
            "emulate",
            "--size",
            "XS",
            "--seed",
            "3",
            "--env-file",
            str(env_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    services = json.loads(process.stdout.readline())
    assert env_file.read_text().splitlines() == [
        f"{k}={v}" for s in services.values() for k, v in s["env"].items()
    ]
    yield process, services
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prunerr", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_emulate_prints_every_service_url_key_and_environment(emulators):
    _, services = emulators
    assert set(services) >= {"plex", "radarr", "sonarr", "tautulli", "seerr", "discord"}
    assert services["radarr"]["env"] == {
        "RADARR_URL": services["radarr"]["url"],
        "RADARR_API_KEY": services["radarr"]["key"],
    }
    assert all(s["url"].startswith("http://127.0.0.1:") for s in services.values())


def test_sync_then_plan_against_the_emulators(emulators, tmp_path):
    process, services = emulators
    env = {k: v for s in services.values() for k, v in s["env"].items()}
    env["PRUNERR_DATA_DIR"] = str(tmp_path)
    synced = run(env, "sync", "--format", "json")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    report = json.loads(synced.stdout)
    assert report["ok"] and {s["source"] for s in report["sources"]} == {
        "plex:media_server",
        "plex:media_details",
        "radarr:library_manager",
        "sonarr:library_manager",
        "tautulli:watch_history",
        "seerr:requests",
    }

    planned = run(env, "rules", "plan", "--format", "json", "--explain", "2")
    assert planned.returncode == 0, planned.stderr
    result = json.loads(planned.stdout)
    assert all(result["available"][k] for k in ("media_server", "watch_history", "requests"))
    by_rule = {r["rule"]: r for r in result["rules"]}
    assert set(by_rule) == {
        p.relative_to(REPO / "rules.d").with_suffix("").as_posix()
        for p in (REPO / "rules.d").rglob("*.yaml")
        if not p.name.endswith(".test.yaml")
    }
    stale = by_rule["movies/never-watched-90d"]
    counted = ("protected", "alreadyQueued", "deletedBefore", "gone", "wouldQueue")
    assert stale["matched"] == sum(stale[k] for k in counted) and stale["wouldQueue"] > 0
    assert len(stale["explained"]) == 2

    text = run(env, "rules", "plan", "movies/never-watched-90d")
    assert text.stdout.splitlines()[0].split()[:3] == ["RULE", "KIND", "CANDIDATES"]

    # members of a protected collection are protected in the plan, as in a run or a preview
    store = open_store(None, tmp_path)
    with db_session:
        collections.sync(store)
        titles = [row["title"] for row in collections.rows(store)]
        members = {i for title in titles for i in collections.members(store, title)}
        for row in collections.rows(store):
            collections.set_protection(store, row["id"], True, "kept", USER, 0.0)
    store.disconnect()
    replanned = run(env, "rules", "plan", "--format", "json", "--explain", "1000")
    after = {r["rule"]: r for r in json.loads(replanned.stdout)["rules"]}
    delete_rules = [rule for rule, r in by_rule.items() if r["kind"] == "delete"]
    queued = {i["id"] for rule in delete_rules for i in after[rule]["explained"]}
    assert members and not queued & members
    shielded = sum(after[r]["protected"] - by_rule[r]["protected"] for r in delete_rules)
    # an item a rule would queue, and a later rule counted as queued by it, is now protected
    taken = ("wouldQueue", "alreadyQueued")
    assert shielded == sum(by_rule[r][k] - after[r][k] for r in delete_rules for k in taken)
    assert shielded > 0

    process.send_signal(signal.SIGUSR1)
    counts = json.loads(process.stdout.readline())["requests"]
    assert 0 < sum(counts.values()) < 100


def test_a_service_that_is_down_makes_the_plan_say_so(emulators, tmp_path):
    _, services = emulators
    env = {k: v for s in services.values() for k, v in s["env"].items()}
    env.update(PRUNERR_DATA_DIR=str(tmp_path), TAUTULLI_URL="http://127.0.0.1:9")
    assert run(env, "sync").returncode == 1
    planned = run(env, "rules", "plan")
    assert planned.stdout.splitlines()[0] == "unavailable (fields unknown): watch history"


def test_plugins_lists_the_built_ins_with_their_roles():
    result = run({}, "plugins", "--format", "json")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert {"plex", "radarr", "sonarr", "tautulli", "seerr"} <= set(plugins)
    assert plugins["plex"]["services"] == {"plex": ["media_server", "watch_history"]}
    assert plugins["radarr"]["emulators"] == ["radarr"]


def test_a_broken_protect_rule_stops_evaluate_and_plan_says_so(emulators, tmp_path):
    _, services = emulators
    rules_dir = tmp_path / "rules.d"
    shutil.copytree(REPO / "rules.d", rules_dir)
    (rules_dir / "protect" / "keep-tag.yaml").write_text(
        'name: Keep tag\nkind: protect\nmedia: movie\nwhen: lables contains "keep"\n'
    )
    env = {k: v for s in services.values() for k, v in s["env"].items()}
    env.update(PRUNERR_DATA_DIR=str(tmp_path), PRUNERR_RULES_DIR=str(rules_dir))
    assert run(env, "sync").returncode == 0
    evaluated = run(env, "evaluate", "--confirm")
    assert evaluated.returncode == 1
    assert "deletion is stopped" in evaluated.stderr and "protect/keep-tag" in evaluated.stderr
    assert "unknown field `lables`" in evaluated.stderr
    planned = run(env, "rules", "plan", "--format", "json")
    assert planned.returncode == 1 and "deletion is stopped" in planned.stderr
    result = json.loads(planned.stdout)
    assert result["deletionStopped"] and [b["id"] for b in result["broken"]] == ["protect/keep-tag"]
    assert "movies/stale-4k" in {r["rule"] for r in result["rules"]}  # the others are planned


def test_a_misspelt_source_is_an_error_with_a_suggestion_not_an_empty_sync(emulators, tmp_path):
    _, services = emulators
    env = {k: v for s in services.values() for k, v in s["env"].items()}
    env["PRUNERR_DATA_DIR"] = str(tmp_path)
    synced = run(env, "sync", "--source", "radar")
    assert synced.returncode == 2 and synced.stdout == ""
    assert "no configured service named 'radar': did you mean 'radarr'?" in synced.stderr
    assert "configured: " in synced.stderr and "sonarr" in synced.stderr
