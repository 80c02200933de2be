"""The core's whole loop (sync, plan, run, process) on in-memory services (`tests/fakes.py`), on
SQLite and PostgreSQL: what is deleted, through which service, and what a failing source keeps."""

from __future__ import annotations

import time

import pytest
from pony.orm import db_session

from prunerr.app import Prunerr
from prunerr.plugins import PluginHost
from prunerr.sdk import ExternalIds, ManagedItem, MediaFile, Play, ServerItem, ServiceList, Target
from prunerr.sync import SyncService
from tests.fakes import FakeLibraryManager, FakeMediaServer, FakeNotifier, FakeWatchHistory
from tests.support import write_rule

GB = 10**9
DAY = 86_400.0


def _movie(key: str, title: str, tmdb: int, size: int) -> ServerItem:
    return ServerItem(
        key,
        "movie",
        title,
        "1",
        time.time() - 400 * DAY,
        ExternalIds(tmdb=tmdb),
        year=2001,
        files=(MediaFile(f"/movies/{title}.mkv", size, "1080p"),),
    )


def _managed(arr_id: int, title: str, tmdb: int, size: int) -> ManagedItem:
    return ManagedItem("radarr", arr_id, "movie", title, ExternalIds(tmdb=tmdb), True, size)


@pytest.fixture
def loop(store, tmp_path):
    """(app, server, radarr, history, notifier): three movies, two managed by Radarr, one
    played; an empty rules directory."""
    server = FakeMediaServer(
        items=[
            _movie("10", "Big Unwatched", 1, 30 * GB),
            _movie("11", "Big Watched", 2, 40 * GB),
            _movie("12", "Unmanaged", 3, 25 * GB),
        ]
    )
    radarr = FakeLibraryManager(
        "radarr",
        "movie",
        [_managed(1, "Big Unwatched", 1, 30 * GB), _managed(2, "Big Watched", 2, 40 * GB)],
    )
    history = FakeWatchHistory(plays=[Play("p1", "ann", "11", time.time() - DAY, True)])
    notifier = FakeNotifier()
    services = ServiceList()
    for service in (server, radarr, history, notifier):
        services.add(service)
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    host = PluginHost.create()
    config = host.load_config(
        {"PRUNERR_DATA_DIR": str(tmp_path), "PRUNERR_RULES_DIR": str(rules_dir)}
    )
    app = Prunerr(host, config, store=store, services=services)
    yield app, server, radarr, history, notifier


def _sync(app) -> bool:
    report = SyncService(app.store, app.services, watch_source="history").run()
    app.library.refresh()
    return report.ok


def _titles(app, state: str) -> set[str]:
    with db_session:
        rows = app.store.read("SELECT title FROM queue_entry WHERE state=?", (state,))
    return {title for (title,) in rows}


def test_matching_movies_are_deleted_through_their_manager_or_else_the_server(loop):
    app, server, radarr, _, notifier = loop
    write_rule(
        app.book.rules_dir,
        "unwatched-big",
        "size > 20 GB and play_count == 0",
        action="delete_files_only",
    )
    assert _sync(app)
    (run,) = app.evaluator.run(confirm=True)
    assert run.queued == 2 and _titles(app, "queued") == {
        "Big Unwatched (2001)",
        "Unmanaged (2001)",
    }
    report = app.processor.process(force=True)
    assert len(report.deleted) == 2 and not report.failed
    # Radarr deleted its movie's files; the server deleted the movie no manager has; the
    # watched movie was not touched anywhere
    acted = [c for c in radarr.calls if c[0] != "items"]
    assert acted == [("delete_target_files", Target("movie", 1))]
    assert [c for c in server.calls if c[0] == "delete"] == [("delete", "12")]
    assert radarr.managed[1].size == 40 * GB
    assert _titles(app, "deleted") == {"Big Unwatched (2001)", "Unmanaged (2001)"}
    assert "deleted" in {n.event for n in notifier.sent}


def test_a_watch_history_that_fails_to_sync_queues_nothing_for_an_unwatched_rule(loop):
    app, _, radarr, history, _ = loop
    write_rule(app.book.rules_dir, "unwatched", "play_count == 0")
    history.failing.add("plays")
    assert not _sync(app)  # the sync says it is incomplete
    (run,) = app.evaluator.run(confirm=True)
    assert run.queued == 0 and run.unknown == 3  # unknown: neither watched nor unwatched
    assert app.processor.process(force=True).deleted == []
    assert [c for c in radarr.calls if c[0] != "items"] == []


def test_a_manager_that_fails_to_delete_leaves_the_files_and_the_server_untouched(loop):
    app, server, radarr, _, _ = loop
    write_rule(
        app.book.rules_dir, "big", "size > 20 GB and play_count == 0", action="delete_files_only"
    )
    assert _sync(app)
    app.evaluator.run(confirm=True)
    radarr.failing.add("delete_target_files")
    report = app.processor.process(force=True)
    assert len(report.deleted) == 1 and radarr.managed[0].size == 30 * GB
    # the entry waits for another attempt (or fails): no fallback to the server's own delete,
    # which only the movie no manager has went through
    assert _titles(app, "queued") | _titles(app, "failed") == {"Big Unwatched (2001)"}
    assert [c for c in server.calls if c[0] == "delete"] == [("delete", "12")]
