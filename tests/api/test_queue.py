"""Queue, manual queueing, activity, collections, users and jobs endpoints over a library synced
from the emulators, with the jobs run in Huey's immediate mode."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pony.orm import db_session

from prunerr.jobs import Runs
from tests.support import LIBRARY

pytestmark = pytest.mark.slow


def managed_movies(client, count):
    items = client.get("/api/library", params={"type": "movie", "limit": "500"}).json["data"]
    return [i for i in items["items"] if i["radarrId"] and i["size"]][:count]


def test_mark_deletion_queues_and_the_queue_lists_it_with_days_remaining(live):
    client, _, _ = live
    (movie,) = managed_movies(client, 1)
    answer = client.post(
        f"/api/library/{movie['id']}/mark-deletion",
        json={"gracePeriodDays": 3, "deletionAction": "delete_files_only"},
    )
    assert answer.status_code == 201 and answer.json["data"]["success"] == [movie["id"]]
    again = client.post(f"/api/library/{movie['id']}/mark-deletion", json={})
    assert again.status_code == 409 and "already queued" in again.json["error"]
    listed = client.get("/api/library", params={"status": "queued", "type": "movie"}).json["data"]
    assert [i["id"] for i in listed["items"]] == [movie["id"]]
    record = client.get(f"/api/library/{movie['id']}").json["data"]
    assert (
        record["status"] == "pending_deletion" and record["deletion_action"] == "delete_files_only"
    )
    assert record["marked_at"] < record["delete_after"] and record["matched_rule_id"] is None
    queue = client.get("/api/queue").json
    (entry,) = queue["data"]  # the original's shape: its web client reduces `data`
    assert entry["mediaItemId"] == movie["id"] and entry["daysRemaining"] == 3
    assert entry["deletionAction"] == "delete_files_only" and entry["state"] == "queued"
    assert queue["summary"]["totalItems"] == 1 and queue["summary"]["readyForDeletion"] == 0


def test_a_page_of_the_queue_is_a_slice_of_the_soonest_first_listing_with_totals_of_all(live):
    client, _, _ = live
    movies = managed_movies(client, 5)
    for days, movie in zip((4, 0, 2, 0, 9), movies, strict=True):
        body = {"gracePeriodDays": days, "resetOverseerr": days == 9}
        assert (
            client.post(f"/api/library/{movie['id']}/mark-deletion", json=body).status_code == 201
        )
    whole = client.get("/api/queue").json
    assert [e["daysRemaining"] for e in whole["data"]] == [0, 0, 2, 4, 9]
    pages = [
        client.get("/api/queue", params={"limit": "2", "page": str(n)}).json for n in (1, 2, 3, 4)
    ]
    assert [e["id"] for p in pages for e in p["data"]] == [e["id"] for e in whole["data"]]
    assert [len(p["data"]) for p in pages] == [2, 2, 1, 0]
    # the original's paging: limit and offset
    offsets = [
        client.get("/api/queue", params={"limit": "2", "offset": str(n)}).json for n in (1, 4)
    ]
    assert [[e["id"] for e in o["data"]] for o in offsets] == [
        [e["id"] for e in whole["data"][1:3]],
        [whole["data"][4]["id"]],
    ]
    totals = {"totalItems": 5, "readyForDeletion": 2, "willResetOverseerr": 1}
    for listing in (whole, *pages, *offsets):
        assert listing["total"] == 5 and listing["summary"] == {**listing["summary"], **totals}
        assert listing["summary"]["totalSize"] == sum(m["size"] for m in movies)
    assert [p["page"] for p in pages] == [1, 2, 3, 4] and pages[0]["totalPages"] == 3


@pytest.mark.parametrize(
    "body, error",
    [
        ({"gracePeriodDays": -1}, "gracePeriodDays: expected float >= 0.0"),
        ({"gracePeriodDays": "7"}, "gracePeriodDays: expected float | null, got str"),
        (
            {"deletionAction": "shred"},
            "deletionAction: expected one of unmonitor_only, delete_files_only, "
            "unmonitor_and_delete, full_removal, got 'shred'",
        ),
        ({"resetOverseerr": "yes"}, "resetOverseerr: expected bool, got str"),
        ({"resetOverseerr": None}, "resetOverseerr: expected bool, got null"),
        ({"deletionAction": "full\x00removal"}, "deletionAction: must not contain NUL characters"),
    ],
)
def test_bad_queueing_input_is_a_400_naming_the_field_and_the_problem(live, body, error):
    client, _, _ = live
    (movie,) = managed_movies(client, 1)
    answer = client.post(f"/api/library/{movie['id']}/mark-deletion", json=body)
    assert answer.status_code == 400 and answer.json["error"] == error
    field, problem = error.split(": ")
    assert answer.json["details"] == [{"field": field, "message": problem}]
    assert client.get("/api/queue").json["data"] == []


def test_queueing_by_hand_takes_the_originals_extra_fields_and_null_as_the_default(live):
    """The original's client sends more than the options (the item's type and server ids);
    null, like a field left out, is the setting's default."""
    client, _, _ = live
    (movie,) = managed_movies(client, 1)
    defaults = {"default_grace_days": 5, "default_deletion_action": "delete_files_only"}
    assert client.request("PUT", "/api/settings", json=defaults).status_code == 200
    body = {
        "ids": [movie["id"]],
        "gracePeriodDays": None,
        "deletionAction": None,
        "mediaType": "movie",
        "plexId": "1234",
    }
    answer = client.post("/api/library/bulk/mark-deletion", json=body)
    assert answer.status_code == 200 and answer.json["data"]["success"] == [movie["id"]]
    (entry,) = client.get("/api/queue").json["data"]
    assert entry["daysRemaining"] == 5 and entry["deletionAction"] == "delete_files_only"


def test_a_protected_item_cannot_be_queued_and_protecting_ends_its_entry(live):
    client, _, _ = live
    first, second = managed_movies(client, 2)
    client.post(f"/api/library/{first['id']}/protect", json={"reason": "mine"})
    refused = client.post(f"/api/library/{first['id']}/mark-deletion", json={})
    assert refused.status_code == 409 and "protected" in refused.json["error"]
    client.post(f"/api/library/{second['id']}/mark-deletion", json={})
    client.post(f"/api/library/{second['id']}/protect")
    assert client.get("/api/queue").json["total"] == 0
    history = client.get(f"/api/activity/item/{second['id']}").json["data"]
    assert [(e["eventType"], e["action"]) for e in history][:3] == [
        ("queue", "protected"),
        ("protection", "protected"),
        ("manual_action", "item_queued"),
    ]


def test_bulk_queueing_reports_each_item(live):
    client, _, _ = live
    first, second = managed_movies(client, 2)
    client.post(f"/api/library/{first['id']}/protect")
    data = client.post(
        "/api/library/bulk/mark-deletion", json={"ids": [first["id"], second["id"], 999999]}
    ).json["data"]
    assert data["success"] == [second["id"]]
    assert {s["id"]: s["reason"] for s in data["skipped"]} == {
        first["id"]: "protected",
        999999: "gone",
    }
    assert client.post("/api/library/bulk/mark-deletion", json={"ids": []}).status_code == 400


def test_processing_deletes_what_is_due_and_the_activity_log_tells_the_story(live):
    client, _, emulators = live
    (movie,) = managed_movies(client, 1)
    client.post(f"/api/library/{movie['id']}/mark-deletion", json={"gracePeriodDays": 0})
    stats = client.get("/api/stats").json["data"]
    assert (stats["itemsMarkedForDeletion"], stats["reclaimableSpace"]) == (1, movie["size"])
    dry = client.post("/api/queue/process", params={"dryRun": "true"}).json["data"]
    assert dry["dryRun"] and dry["deleted"] == 1
    assert emulators["radarr"].movies[movie["radarrId"]]["hasFile"] is True
    report = client.post("/api/queue/process").json["data"]
    assert report["deleted"] == 1 and report["freedSpace"] == movie["size"]
    assert emulators["radarr"].movies[movie["radarrId"]]["hasFile"] is False
    assert client.get("/api/queue").json["total"] == 0
    log = client.get("/api/activity", params={"eventTypes": "deletion"}).json["data"]
    assert log["total"] == 1 and log["items"][0]["targetId"] == movie["id"]
    stats = client.get("/api/stats").json["data"]
    assert stats["movieCount"] == len(LIBRARY.movies) - 1
    assert (stats["itemsMarkedForDeletion"], stats["reclaimableSpace"]) == (0, 0)
    # the original's figures: freed this week (nothing the week before: no trend)
    assert (stats["reclaimedThisWeek"], stats["reclaimedTrend"]) == (movie["size"], 0)


def test_removing_an_entry_cancels_it_once(live):
    client, _, _ = live
    (movie,) = managed_movies(client, 1)
    client.post(f"/api/library/{movie['id']}/mark-deletion", json={})
    (entry,) = client.get("/api/queue").json["data"]
    assert client.request("DELETE", f"/api/queue/{entry['id']}").status_code == 200
    assert client.request("DELETE", f"/api/queue/{entry['id']}").status_code == 409
    assert client.request("DELETE", "/api/queue/424242").status_code == 404
    assert client.request("DELETE", "/api/queue/abc").status_code == 404


def test_syncing_the_collections_answers_the_originals_counts_as_a_run_of_the_job(live):
    """The original's client shows `collectionsSynced` and `itemsMatched` from this answer."""
    client, app, _ = live
    answer = client.post("/api/collections/sync")
    assert answer.status_code == 200
    synced = answer.json["data"]
    listed = [c for c in client.get("/api/collections").json["data"] if c["itemCount"]]
    assert synced["collectionsSynced"] == len(listed) > 0
    assert synced["itemsMatched"] == sum(c["itemCount"] for c in listed)
    (job,) = [j for j in client.get("/api/jobs").json["data"] if j["name"] == "collections"]
    assert job["lastRun"]["id"] == synced["runId"] and job["lastRun"]["actor"] == "API user"
    runs = Runs(app.store, app.clock)
    assert runs.acquire("library", "a library sync")
    try:
        busy = client.post("/api/collections/sync")
    finally:
        runs.release("library", "a library sync")
    assert busy.status_code == 409 and "another library job is running" in busy.json["error"]


def test_a_protected_collection_shields_its_items_everywhere(live):
    client, _, _ = live
    collections = client.get("/api/collections").json["data"]
    assert collections, "the sync job synced the collections"
    target = max(collections, key=lambda c: c["itemCount"])
    members = client.get(f"/api/collections/{target['id']}/items").json["data"]
    assert len(members) == target["itemCount"] > 0
    client.post(f"/api/library/{members[0]['id']}/mark-deletion", json={})
    protected = client.request(
        "PATCH", f"/api/collections/{target['id']}/protection", json={"isProtected": True}
    )
    assert protected.json["data"]["isProtected"] is True
    assert client.get("/api/queue").json["total"] == 0
    refused = client.post(f"/api/library/{members[0]['id']}/mark-deletion", json={})
    assert refused.status_code == 409
    assert (
        client.post(
            f"/api/collections/{target['id']}/queue", json={"deletionAction": "full_removal"}
        ).status_code
        == 409
    )
    events = client.get(f"/api/activity/item/{members[0]['id']}").json["data"]
    assert any(e["action"] == "collection_protected" for e in events)


def test_queueing_a_collection_queues_its_members(live):
    client, _, _ = live
    target = max(client.get("/api/collections").json["data"], key=lambda c: c["itemCount"])
    missing = client.post(f"/api/collections/{target['id']}/queue", json={})
    assert missing.status_code == 400
    answer = client.post(
        f"/api/collections/{target['id']}/queue", json={"deletionAction": "unmonitor_only"}
    )
    assert answer.status_code == 201 and answer.json["data"]["queued"] == target["itemCount"]


def test_users_jobs_and_busy_jobs(live):
    client, app, _ = live
    users = client.get("/api/users").json["data"]
    assert {u["username"] for u in users} >= {u.username for u in LIBRARY.users}
    assert client.post("/api/users/sync").status_code == 202
    jobs = {j["name"]: j for j in client.get("/api/jobs").json["data"]}
    assert jobs["sync"]["lastRun"]["state"] == "ok" and jobs["sync"]["nextRun"]
    assert jobs["sync"]["lastRun"]["progress"] == "loading the library"  # its last stage
    assert jobs["users"]["lastRun"]["actor"] == "API user"
    with db_session:
        app.store.execute(
            "INSERT INTO lease (name, holder, expires_at) VALUES ('library', 'x', ?)",
            (app.clock() + 60,),
        )
    busy = client.post("/api/library/sync")
    assert busy.status_code == 409 and "already running" in busy.json["error"]


def test_any_job_can_be_started_by_name(live):
    client, _, _ = live
    assert client.post("/api/jobs/evaluate").status_code == 202
    assert client.post("/api/jobs/snapshot").status_code == 202
    assert client.post("/api/jobs/nope").status_code == 404
    jobs = {j["name"]: j for j in client.get("/api/jobs").json["data"]}
    assert jobs["evaluate"]["lastRun"]["state"] == "ok"
    assert jobs["snapshot"]["lastRun"]["result"]["totalSize"] > 0


def test_settings_change_while_running_and_the_environment_still_wins(live):
    client, app, emulators = live
    changed = client.request(
        "PUT", "/api/settings", json={"processing_schedule": "15 2 * * *", "dry_run": True}
    )
    assert changed.status_code == 200
    assert changed.json["data"]["processing_schedule"] == "15 2 * * *"
    jobs = {j["name"]: j for j in client.get("/api/jobs").json["data"]}
    assert jobs["process"]["schedule"] == "15 2 * * *"
    (movie,) = managed_movies(client, 1)
    client.post(f"/api/library/{movie['id']}/mark-deletion", json={"gracePeriodDays": 0})
    assert client.post("/api/queue/process").json["data"]["dryRun"] is True
    assert emulators["radarr"].movies[movie["radarrId"]]["hasFile"] is True
    for body, status in (
        ({"processing_schedule": "every day"}, 400),
        ({"no_such_setting": 1}, 400),
        ({"database_url": "sqlite:///x.db"}, 409),
        ({"max_attempts": -1}, 400),
        ({"dry_run": 0}, 400),
        ({"tz": "Mars/Olympus_Mons"}, 400),
    ):
        refused = client.request("PUT", "/api/settings", json=body)
        assert refused.status_code == status, body
        assert refused.json["error"].startswith(next(iter(body)))
    app.config.sources["tz"] = "TZ"  # as when the environment sets it
    assert client.request("PUT", "/api/settings", json={"tz": "Europe/Paris"}).status_code == 409


def a_show_with_seasons(app) -> tuple[int, list[int], list[int]]:
    """(show id, its season ids, its episode ids) of a show with two seasons or more."""
    with db_session:
        rows = app.store.read(
            "SELECT s.id, se.id, e.id FROM item s JOIN item se ON se.parent = s.id "
            "JOIN item e ON e.parent = se.id WHERE s.type = 'show' ORDER BY s.id, se.id, e.id"
        )
    families: dict[int, tuple[dict, dict]] = {}
    for show, season, episode in rows:
        seasons, episodes = families.setdefault(show, ({}, {}))
        seasons[season] = episodes[episode] = None
    show, (seasons, episodes) = next((k, v) for k, v in families.items() if len(v[0]) >= 2)
    return show, list(seasons), list(episodes)


def test_protecting_a_show_protects_its_seasons_and_episodes(live):
    client, app, _ = live
    show, seasons, episodes = a_show_with_seasons(app)
    queued = client.post(f"/api/library/{seasons[0]}/mark-deletion", json={})
    assert queued.status_code == 201
    assert client.post(f"/api/library/{show}/protect").status_code == 200
    assert client.get("/api/queue").json["total"] == 0  # the season's entry ended
    for item in (seasons[1], episodes[0]):
        refused = client.post(f"/api/library/{item}/mark-deletion", json={})
        assert refused.status_code == 409 and "protected" in refused.json["error"]
    bulk = client.post("/api/library/bulk/mark-deletion", json={"ids": seasons}).json["data"]
    assert not bulk["success"]
    preview = client.post(
        "/api/rules/preview",
        json={"name": "all episodes", "mediaType": "episode", "when": "size >= 0 B"},
    ).json["data"]
    assert preview["wouldSkipProtected"] >= len(episodes)


def test_a_protect_rule_that_stops_loading_stops_queueing_and_processing(live):
    client, app, emulators = live
    (movie,) = managed_movies(client, 1)
    assert client.post(f"/api/library/{movie['id']}/mark-deletion", json={}).status_code == 201
    keep = client.post(
        "/api/rules",
        json={"name": "keep", "mediaType": "movie", "kind": "protect", "when": "size > 1 PB"},
    ).json["data"]
    with db_session:  # the stored rule stops loading (a plugin's field went away, say)
        app.store.execute(
            "UPDATE rule SET definition=? WHERE id=?",
            ('name: keep\nkind: protect\nmedia: movie\nwhen: lables contains "k"\n', keep["id"]),
        )
    client.post("/api/rules/reload")
    refused = client.post("/api/queue/process", params={"force": "true"})
    assert refused.status_code == 409 and "deletion is stopped" in refused.json["error"]
    (detail,) = refused.json["details"]
    assert detail == {"rule": f"api/{keep['id']}", "message": "unknown field `lables`"}
    marked = client.post("/api/library/bulk/mark-deletion", json={"ids": [movie["id"]]})
    assert marked.status_code == 409
    assert emulators["radarr"].movies[movie["radarrId"]]["hasFile"] is True
    # deleting the broken rule lets deletion go on
    assert client.request("DELETE", f"/api/rules/{keep['id']}").status_code == 200
    done = client.post("/api/queue/process", params={"force": "true"})
    assert done.status_code == 200 and done.json["data"]["deleted"] == 1


def test_concurrent_queueing_of_the_same_items_answers_already_queued(live):
    client, _, _ = live
    ids = [m["id"] for m in managed_movies(client, 10)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: client.post("/api/library/bulk/mark-deletion", json={"ids": ids}),
                range(16),
            )
        )
    assert {a.status_code for a in answers} == {200}
    queued = [i for a in answers for i in a.json["data"]["success"]]
    assert sorted(queued) == sorted(ids)  # each item queued by exactly one request
    assert client.get("/api/queue").json["total"] == len(ids)
