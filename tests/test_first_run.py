"""A safe first run (issue 13): a new installation plans, queues and notifies in dry run, and
deletes nothing until its user turns dry run off; an existing installation upgraded keeps
deleting; `prunerr serve` syncs at start when the last sync is stale. Through the command line,
against the emulators, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pony.orm import db_session

from prunerr.app import Prunerr
from prunerr.cli import main
from prunerr.config import ConfigError, settings
from prunerr.emulation import Faults
from prunerr.jobs import sync_at_start
from prunerr.plugins import PluginHost
from prunerr.store.database import open_store
from prunerr.store.schema import LATEST
from tests.support import LIBRARY, emulated, serving, synced_library, wait_for, write_rule

pytestmark = pytest.mark.slow


@pytest.fixture
def installation(database_url, tmp_path, monkeypatch):
    """A new installation's environment (no database yet) over the emulators and a webhook
    receiver, with one delete rule matching every movie of 1 GB or more, due at once; yields
    (emulators, webhook receiver)."""
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    write_rule(rules_dir, "big-movies", "size >= 1 GB")
    webhook = PluginHost.create().emulators().specs["webhook"]
    receiver = webhook.factory(LIBRARY, "webhook-secret".ljust(32, "x"), Faults())
    with emulated(LIBRARY) as (env, emulators):
        env |= webhook.env(receiver.start(), "webhook-secret".ljust(32, "x"))
        env |= {
            "PRUNERR_DATA_DIR": str(tmp_path / "data"),
            "PRUNERR_RULES_DIR": str(rules_dir),
            "PRUNERR_DATABASE_URL": database_url,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for name in ("PRUNERR_DRY_RUN", "PRUNERR_SYNC_ON_START"):
            monkeypatch.delenv(name, raising=False)
        try:
            yield emulators, receiver
        finally:
            receiver.stop()


def on_disk(emulators) -> int:
    return sum(bool(m["hasFile"]) for m in emulators["radarr"].movies.values())


def run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_a_new_installation_deletes_nothing_until_dry_run_is_turned_off(installation, capsys):
    emulators, receiver = installation
    files = on_disk(emulators)
    run(capsys, "sync")
    assert "big-movies: queued" in run(capsys, "evaluate", "--confirm")
    queued = int(run(capsys, "queue", "list").splitlines()[-1].split()[0])
    assert queued > 0
    report = run(capsys, "queue", "process", "--force")
    assert f"deleted {queued}," in report and report.rstrip().endswith("(dry run)")
    assert on_disk(emulators) == files  # the emulated Radarr still has every file
    assert int(run(capsys, "queue", "list").splitlines()[-1].split()[0]) == queued
    # the notifications said it was a dry run, to people and to automations
    sent = {d.json["event"]: d.json for d in receiver.received}
    assert sent["queued"]["dryRun"] is True and sent["queued"]["title"].startswith("Dry run: ")
    assert sent["deleted"]["dryRun"] is True
    assert sent["deleted"]["title"] == f"Dry run: {queued} item(s) would be deleted"

    assert "dry run is off" in run(capsys, "settings", "set", "dry_run", "false")
    assert "dry_run                  false" in run(capsys, "settings", "show")
    report = run(capsys, "queue", "process", "--force")
    assert f"deleted {queued}," in report and "dry run" not in report
    assert on_disk(emulators) < files  # the movies Radarr manages are gone
    deleted = [d.json for d in receiver.received if d.json["event"] == "deleted"][-1]
    assert "dryRun" not in deleted and deleted["title"] == f"{queued} item(s) deleted"


def test_dry_run_can_be_turned_back_on_and_the_environment_wins(installation, capsys, monkeypatch):
    run(capsys, "settings", "set", "dry_run", "false")
    assert "dry run is on" in run(capsys, "settings", "set", "dry_run", "true")
    monkeypatch.setenv("PRUNERR_DRY_RUN", "true")
    assert main(["settings", "set", "dry_run", "false"]) == 1
    assert "is set by PRUNERR_DRY_RUN" in capsys.readouterr().err
    monkeypatch.setenv("PRUNERR_DRY_RUN", "false")  # the environment may also turn it off
    app = Prunerr.from_environment()
    app.refresh_config()
    assert app.config["dry_run"] is False
    app.store.disconnect()


def test_an_existing_installation_upgraded_keeps_deleting(database_url, tmp_path):
    """A database created by the previous version has no saved dry_run: it stays off."""
    open_store(database_url, tmp_path, migrate_to=LATEST - 1).disconnect()
    store = open_store(database_url, tmp_path)
    try:
        with db_session:
            assert "dry_run" not in settings.stored(store)
        config = PluginHost.create().load_config({"PRUNERR_DATA_DIR": str(tmp_path)})
        app = Prunerr(PluginHost.create(), config, store=store)
        app.refresh_config()
        assert app.config["dry_run"] is False and app.config.sources["dry_run"] == "default"
    finally:
        store.disconnect()


def test_a_new_database_starts_in_dry_run_saved_as_a_setting(database_url, tmp_path):
    store = open_store(database_url, tmp_path)
    try:
        with db_session:
            assert settings.stored(store) == {"dry_run": True}
        config = PluginHost.create().load_config({"PRUNERR_DATA_DIR": str(tmp_path)})
        app = Prunerr(PluginHost.create(), config, store=store)
        app.refresh_config()
        assert app.config["dry_run"] is True and app.config.sources["dry_run"] == "database"
    finally:
        store.disconnect()
    # opened again (a restart), it is still the user's setting, not reset
    store = open_store(database_url, tmp_path)
    try:
        with db_session:
            settings.save(store, app.config, {"dry_run": False})
        store.disconnect()
        store = open_store(database_url, tmp_path)
        with db_session:
            assert settings.stored(store) == {"dry_run": False}
    finally:
        store.disconnect()


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("mode", "last", "expected"),
    [
        ("stale", None, "the library was never synced in full"),
        ("stale", "2026-05-01T07:00", None),  # an hour ago; the schedule runs every 6 hours
        ("stale", "2026-05-01T01:30", "the last full sync was 6.5 h ago"),
        ("always", "2026-05-01T07:59", "sync_on_start is always"),
        ("never", None, None),
    ],
)
def test_sync_at_start_follows_sync_on_start_and_the_schedules_interval(mode, last, expected):
    config = PluginHost.create().load_config({"PRUNERR_SYNC_ON_START": mode})
    reason = sync_at_start(config, at(last) if last else None, at("2026-05-01T08:00"))
    assert reason == expected or (expected and reason.startswith(expected))


def test_with_the_sync_schedule_off_only_a_library_never_synced_syncs_at_start():
    config = PluginHost.create().load_config({"PRUNERR_SYNC_SCHEDULE": "off"})
    assert sync_at_start(config, None, at("2026-05-01T08:00")) is not None
    assert sync_at_start(config, at("2025-05-01T08:00"), at("2026-05-01T08:00")) is None


def test_sync_on_start_refuses_unknown_values():
    with pytest.raises(ConfigError, match=r"sync_on_start .* expected one of stale, always"):
        PluginHost.create().load_config({"PRUNERR_SYNC_ON_START": "sometimes"})


def recorded(env: dict, sql: str) -> list[tuple]:
    store = open_store(env.get("PRUNERR_DATABASE_URL"), Path(env["PRUNERR_DATA_DIR"]))
    try:
        with db_session:
            return store.read(sql)
    finally:
        store.disconnect()


def sync_runs(env: dict) -> list[tuple]:
    return recorded(env, "SELECT actor, state FROM job_run WHERE job='sync'")


def test_a_fresh_serve_syncs_at_once_and_a_recent_sync_is_not_repeated(tmp_path):
    with synced_library(tmp_path, movies=40) as env:
        for name in ("prunerr.db", "prunerr.db-wal", "prunerr.db-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        with serving(env) as server:
            wait_for(lambda: sync_runs(env) == [("scheduler", "ok")], 60, "the sync at start")
            (sync,) = [j for j in server.get("/api/jobs") if j["name"] == "sync"]
            assert sync["lastRun"]["state"] == "ok"
        movies = recorded(env, "SELECT COUNT(*) FROM item WHERE type='movie'")
        assert movies == [(40,)]
        log = server.output()
        assert "library sync at start: the library was never synced in full" in log
        assert "library sync: reading" in log and "library sync done" in log
        # started again an instant later: the sync it ran is recent
        with serving(env) as server:
            pass
        assert "no library sync at start: the last full one is recent" in server.output()
        assert sync_runs(env) == [("scheduler", "ok")]
