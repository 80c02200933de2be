"""The original's routes beyond its reference page, which its web client calls, over a library
synced from the emulators: each answers in the original's shape (checked against the OpenAPI
document by the client) from this project's own data."""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from dataclasses import replace

import pytest
from pony.orm import db_session

from prunerr import __version__
from prunerr.emulation.server import Faults
from prunerr.store import activity, deletions, job_runs, queue_entries, storage_snapshots
from prunerr.store.activity import USER
from prunerr.store.storage_snapshots import StorageSnapshot

pytestmark = pytest.mark.slow


def movies(client) -> list[dict]:
    listed = client.get("/api/library", params={"type": "movie", "limit": "500"}).json["data"]
    return [i for i in listed["items"] if i["radarrId"] and i["size"]]


def test_health_version_and_status_name_the_originals_services_and_scheduler(live):
    client, _, _ = live
    version = client.client.simulate_get("/api/health/version")  # no key, as the original
    assert (version.status_code, version.json) == (200, {"version": __version__})
    status = client.get("/api/health/status").json["data"]
    services = {s["service"]: s for s in status["services"]}
    assert list(services) == ["plex", "tautulli", "tracearr", "sonarr", "radarr", "overseerr"]
    assert services["plex"]["configured"] and services["plex"]["connected"]
    assert not services["tracearr"]["configured"] and not services["tracearr"]["connected"]
    assert status["overall"] == "healthy"
    time.sleep(0.01)  # asked again within 30 s: the same checks, made when they were made
    again = client.get("/api/health/status").json["data"]["services"]
    assert [s["lastChecked"] for s in again] == [s["lastChecked"] for s in status["services"]]
    scheduler = status["scheduler"]
    assert scheduler["lastSyncSuccess"] is True and scheduler["lastSync"] is not None
    assert scheduler["syncSchedule"] == "0 */6 * * *" and scheduler["nextSync"] is not None
    # the original's client shows "paused" unless isRunning: its scheduler is on
    assert (scheduler["isRunning"], scheduler["jobRunning"]) == (True, False)
    assert isinstance(services["plex"]["responseTimeMs"], int)
    client.request("PUT", "/api/settings", json={"evaluation_schedule": None})
    off = client.get("/api/health/status").json["data"]["scheduler"]
    assert (off["isRunning"], off["nextRun"], off["scanSchedule"]) == (False, None, None)
    assert client.get("/api/unraid/stats").json["data"] == {"configured": False}


def test_upcoming_lists_the_soonest_deletions_first(live):
    client, _, _ = live
    first, second = movies(client)[:2]
    client.post(f"/api/library/{first['id']}/mark-deletion", json={"gracePeriodDays": 9})
    client.post(f"/api/library/{second['id']}/mark-deletion", json={"gracePeriodDays": 2})
    upcoming = client.get("/api/queue/upcoming").json
    assert [e["mediaItemId"] for e in upcoming["data"]] == [second["id"], first["id"]]
    assert upcoming["summary"]["totalItems"] == 2
    one = client.get("/api/queue/upcoming", params={"limit": "1"}).json
    assert [e["mediaItemId"] for e in one["data"]] == [second["id"]]


def test_bulk_protect_answers_what_it_protected_skipped_and_could_not_find(live):
    client, _, _ = live
    first, second = movies(client)[:2]
    client.post(f"/api/library/{first['id']}/protect", json={"reason": "mine"})
    client.post(f"/api/library/{second['id']}/mark-deletion", json={})
    answer = client.post(
        "/api/library/bulk/protect", json={"ids": [first["id"], second["id"], 999999]}
    ).json
    data = answer["data"]
    assert [s["id"] for s in data["success"]] == [second["id"]]
    assert data["skipped"] == [
        {"id": first["id"], "title": first["displayTitle"], "reason": "Already protected"}
    ]
    assert data["failed"] == [{"id": 999999, "error": "Item not found"}]
    assert answer["message"] == "1 item(s) protected"
    assert client.get("/api/queue").json["total"] == 0  # its entry ended as protected
    assert client.post("/api/library/bulk/protect", json={"ids": []}).status_code == 400


def test_history_and_recent_activity_tell_what_was_deleted(live):
    client, _, _ = live
    movie, other = movies(client)[:2]
    client.post(f"/api/library/{movie['id']}/mark-deletion", json={"gracePeriodDays": 0})
    client.post("/api/queue/process")
    history = client.get("/api/history").json["data"]
    (entry,) = history["items"]
    assert (entry["mediaId"], entry["type"], entry["deletionReason"]) == (
        movie["id"],
        "movie",
        "manual",
    )
    assert entry["size"] == entry["freed"] == movie["size"]
    assert history["stats"] == {"totalDeleted": 1, "totalSpaceReclaimed": movie["size"]}
    assert client.get("/api/history", params={"search": other["title"]}).json["data"]["total"] == 0
    assert client.get("/api/history", params={"dateRange": "7d"}).json["data"]["total"] == 1
    assert client.get("/api/history", params={"dateRange": "1y"}).status_code == 400
    recent = client.get("/api/activity/recent", params={"limit": "3"}).json
    assert len(recent["data"]) == 3 and recent["total"] > 3
    kinds = {e["eventType"] for e in recent["data"]}
    without = client.get("/api/activity/recent", params={"excludeEventTypes": ",".join(kinds)})
    assert not kinds & {e["eventType"] for e in without.json["data"]}


def test_toggle_sets_or_flips_an_api_rule(live):
    client, _, _ = live
    made = client.post(
        "/api/rules", json={"name": "x", "mediaType": "movie", "when": "play_count == 0"}
    ).json["data"]
    off = client.request("PATCH", f"/api/rules/{made['id']}/toggle", json={})
    assert (off.json["data"]["enabled"], off.json["message"]) == (False, "Rule disabled")
    on = client.request("PATCH", f"/api/rules/{made['id']}/toggle", json={"enabled": True})
    assert on.json["data"]["enabled"] is True
    again = client.request("PATCH", f"/api/rules/{made['id']}/toggle", json={"enabled": True})
    assert again.json["data"]["enabled"] is True  # a value sets, it does not flip
    assert client.request("PATCH", "/api/rules/424242/toggle", json={}).status_code == 404


def test_libraries_recommendations_and_storage_history(live, store):
    client, _, _ = live
    sections = client.get("/api/library/plex-libraries").json["data"]
    assert {(s["title"], s["type"]) for s in sections} == {
        ("Movies", "movie"),
        ("4K Movies", "movie"),
        ("TV Shows", "show"),
    }
    assert all(s["key"] and s["excluded"] is False for s in sections)

    found = client.get("/api/stats/recommendations", params={"unwatchedDays": "1"}).json["data"]
    assert found["criteria"] == {"unwatchedDays": 1} and found["total"] >= len(found["items"])
    assert len(found["items"]) == 10 and found["totalReclaimableSpace"] == sum(
        i["size"] for i in found["items"]
    )
    never = [i["neverWatched"] for i in found["items"]]
    assert never == sorted(never, reverse=True)  # never watched first
    assert all(i["reason"] == "Never watched" for i in found["items"] if i["neverWatched"])
    protected = found["items"][0]
    client.post(f"/api/library/{protected['id']}/protect")
    again = client.get("/api/stats/recommendations", params={"unwatchedDays": "1"}).json["data"]
    assert protected["id"] not in [i["id"] for i in again["items"]]
    assert again["total"] == found["total"] - 1

    now = time.time()
    with db_session:
        for days_ago, reclaimed in ((40, 5), (3, 7)):
            storage_snapshots.add(
                store, StorageSnapshot(now - days_ago * 86400, 10, 20, 1, 2, reclaimed)
            )
    (point,) = client.get("/api/stats/storage-history").json["data"]
    assert (point["totalSize"], point["itemCount"], point["spaceReclaimed"]) == (30, 3, 7)
    assert len(client.get("/api/stats/storage-history", params={"days": "60"}).json["data"]) == 2


def test_the_schedule_ribbon_has_a_day_each_with_its_deletions_and_evaluation(live):
    client, _, _ = live
    (movie,) = movies(client)[:1]
    client.post(f"/api/library/{movie['id']}/mark-deletion", json={"gracePeriodDays": 0})
    client.post("/api/queue/process")
    rule = {"name": "r", "mediaType": "movie", "when": "play_count == 0", "gracePeriodDays": 7}
    client.post("/api/rules", json=rule)
    assert client.post("/api/jobs/evaluate").status_code == 202
    queued = client.get("/api/queue").json["total"]
    days = client.get("/api/scan/cadence", params={"days": "3"}).json["data"]
    assert len(days) == 3
    *before, today = days
    assert (today["status"], today["files"], today["flagged"], today["timed"]) == (
        "ok",
        1,
        queued,
        True,
    )
    assert today["gb"] == round(movie["size"] / 2**30, 1) and today["date"].endswith("Z")
    for day in before:  # nothing happened: local noon, not a time anything ran
        assert (day["status"], day["files"], day["timed"]) == ("skipped", 0, False)
        assert day["date"].endswith("T12:00:00")
    assert client.get("/api/scan/cadence", params={"days": "61"}).status_code == 400


def test_a_scan_is_a_rule_evaluation_polled_until_it_ends(live, store):
    client, _, _ = live
    assert client.get("/api/scan/latest").status_code == 404  # none ran yet
    assert client.get("/api/scan/status").json["data"] == {"isRunning": False, "currentScan": None}
    title = json.dumps(movies(client)[0]["title"])  # a rule on one movie: no circuit breaker
    client.post("/api/rules", json={"name": "r", "mediaType": "movie", "when": f"title == {title}"})
    assert client.post("/api/scan/trigger").status_code == 202
    queued = client.get("/api/queue").json["total"]
    (scan,) = client.get("/api/scan/history").json["data"]
    assert scan == client.get("/api/scan/latest").json["data"]
    assert (scan["status"], scan["items_flagged"]) == ("completed", queued)
    assert scan["items_scanned"] >= queued > 0 and scan["completed_at"] >= scan["started_at"]
    with db_session:  # one runs in another process; then its worker dies
        run_id = job_runs.start_run(store, "evaluate", "scheduler", time.time())
    status = client.get("/api/scan/status").json["data"]
    assert status["isRunning"] is True and status["currentScan"]["id"] == run_id
    with db_session:
        store.execute("UPDATE job_run SET heartbeat_at=? WHERE id=?", (time.time() - 3600, run_id))
    assert client.get("/api/scan/status").json["data"]["isRunning"] is False
    assert client.get("/api/scan/latest").json["data"]["status"] == "failed"
    assert len(client.get("/api/scan/history", params={"limit": "1"}).json["data"]) == 1


def test_the_sync_streams_its_progress_as_server_sent_events(live, store):
    client, _, _ = live
    raw, headers = client.client, {"X-Api-Key": client.key}
    assert raw.simulate_get("/api/library/sync/stream", headers=headers).status_code == 204
    before = client.get("/api/stats").json["data"]["scannedToday"]
    answer = raw.simulate_post("/api/library/sync/stream", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith("data: ")  # no event names: the default "message" event
    events = [json.loads(chunk.removeprefix("data: ")) for chunk in answer.text.split("\n\n")[:-1]]
    assert events[0]["stage"] == "initializing" and events[-1]["stage"] == "complete"
    scanned = client.get("/api/stats").json["data"]["scannedToday"] - before
    assert events[-1]["result"] == {
        "success": True,
        "itemsScanned": scanned,  # what the media server listed: changes only, between full ones
        "itemsAdded": None,
        "itemsUpdated": None,
        "errors": 0,
    }
    assert any(e["stage"] == "processing_items" for e in events)
    with db_session:  # another process runs a library job
        job_runs.take_lease(store, "library", "elsewhere", time.time(), time.time() + 60)
    busy = raw.simulate_post("/api/library/sync/stream", headers=headers)
    assert (busy.status_code, busy.json["error"]) == (409, "A sync is already in progress")


def test_the_activity_log_takes_the_originals_filters(live, store):
    client, _, _ = live
    (movie,) = movies(client)[:1]
    client.post(f"/api/library/{movie['id']}/protect", json={"reason": "mine"})
    everything = client.get("/api/activity", params={"limit": "100"}).json["data"]["items"]
    by_user = client.get("/api/activity", params={"actorTypes": "user", "limit": "100"})
    users = by_user.json["data"]["items"]
    assert users and {e["actorType"] for e in users} == {"user"}
    assert len(users) == sum(e["actorType"] == "user" for e in everything)
    kinds = {e["eventType"] for e in everything}
    without = client.get("/api/activity", params={"excludeEventTypes": "protection"})
    assert "protection" in kinds
    assert "protection" not in {e["eventType"] for e in without.json["data"]["items"]}
    with db_session:  # an entry from two days ago
        activity.record(
            store, time.time() - 2 * 86400, "protection", "unprotected", USER, ("item", 1, "x")
        )
    day = client.get("/api/activity", params={"dateRange": "24h", "limit": "100"}).json["data"]
    week = client.get("/api/activity", params={"dateRange": "7d", "limit": "100"}).json["data"]
    assert week["total"] == day["total"] + 1
    assert client.get("/api/activity", params={"dateRange": "1y"}).status_code == 400


def test_the_summary_enabled_rules_and_the_history_as_csv(live, store):
    client, _, _ = live
    first, second = movies(client)[:2]
    client.post(f"/api/library/{first['id']}/mark-deletion", json={"gracePeriodDays": 0})
    client.post("/api/queue/process")
    client.post(f"/api/library/{second['id']}/protect")
    summary = client.get("/api/library/summary").json["data"]
    stats = client.get("/api/stats").json["data"]
    assert summary["byType"] == {"movie": stats["movieCount"], "show": stats["tvShowCount"]}
    assert summary["total"] == stats["movieCount"] + stats["tvShowCount"]
    assert summary["byStatus"]["protected"] == 1 and summary["byStatus"]["queued"] == 0
    assert sum(summary["byStatus"].values()) == summary["total"]
    assert summary["totalSize"] == stats["totalStorage"]

    on = {"name": "on", "mediaType": "movie", "when": "play_count == 0"}
    made = [
        client.post("/api/rules", json={**on, "enabled": e}).json["data"] for e in (True, False)
    ]
    enabled = client.get("/api/rules/enabled").json
    assert made[0]["id"] in [r["id"] for r in enabled["data"]]
    assert made[1]["id"] not in [r["id"] for r in enabled["data"]]
    assert enabled["total"] == len(enabled["data"])

    with db_session:  # a title a spreadsheet would run as a formula
        (entry,) = queue_entries.entries(store, ("deleted",))
        hostile = replace(entry, title='=HYPERLINK("http://x")')
        store.execute("DELETE FROM deletion")
        deletions.record(store, hostile, "movie", 1, (None, None), time.time(), [])
    export = client.client.simulate_get("/api/history/export", headers={"X-Api-Key": client.key})
    assert export.headers["content-type"].startswith("text/csv")
    assert "prunerr-history.csv" in export.headers["content-disposition"]
    header, row = export.text.splitlines()
    assert header == "ID,Media ID,Title,Type,Size (bytes),Deleted At,Reason,Rule,Freed (bytes)"
    assert row.split(",")[1] == str(first["id"]) and row.split(",")[6] == "manual"
    assert next(csv.reader([row]))[2] == '\'=HYPERLINK("http://x")'


def test_the_originals_probes_answer_without_a_key(live, store, monkeypatch):
    client, _, _ = live
    raw = client.client  # no key, as a probe calls them
    ping, live_probe = raw.simulate_get("/api/health/ping"), raw.simulate_get("/api/health/live")
    assert ping.json["pong"] is True and ping.json["timestamp"].endswith("Z")
    assert live_probe.json["live"] is True
    assert raw.simulate_get("/api/health/ready").json == {"ready": True}

    def refused(sql, params=()):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(store, "read", refused)  # the database stops answering
    gone = raw.simulate_get("/api/health/ready")
    assert (gone.status_code, gone.json) == (503, {"ready": False})
    assert raw.simulate_get("/api/settings").status_code == 401  # the rest still needs the key


def test_a_service_is_tested_as_configured_and_its_failure_said(live):
    client, app, emulators = live
    shown = client.get("/api/settings").json["data"]["services"]
    tested = client.post("/api/settings/test/radarr", json=shown["radarr"])
    assert (
        tested.status_code == 200 and tested.json["message"] == "Successfully connected to radarr"
    )
    assert tested.json["data"]["connected"] is True
    assert isinstance(tested.json["data"]["responseTimeMs"], int)
    emulators["sonarr"].faults = Faults(error_rate=1.0)
    failed = client.post("/api/settings/test/sonarr", json={})
    assert failed.status_code == 503 and failed.json["error"].startswith("Failed to connect to")
    other = client.post("/api/settings/test/plex", json={"url": "http://elsewhere:32400"})
    assert other.status_code == 409 and other.json["error"].startswith("plex.url: services are")
    for service, status, error in (
        ("tracearr", 409, "No URL configured for tracearr"),
        ("emby", 400, "Invalid service: emby."),
        ("discord", 409, "Prunerr sends no test message"),
    ):
        answer = client.post(f"/api/settings/test/{service}", json={})
        assert answer.status_code == status and answer.json["error"].startswith(error)
    secrets = [app.config.instances[kind][0]["api_key"] for kind in ("radarr", "sonarr")]
    answers = json.dumps([tested.json, failed.json, other.json])
    assert not [secret for secret in secrets if secret in answers]
