"""The contract with the original's web client: every operation of `prunerr.compat.shapes`
answers, over a library synced from the emulators, in the original's shape (its fields, their
JSON types), with something in its lists, so the next difference fails here."""

from __future__ import annotations

import jsonschema
import pytest

from prunerr.api.openapi import document
from prunerr.compat.shapes import ORIGINAL

pytestmark = pytest.mark.slow

LEAF = {"kind": "condition", "field": "play_count", "operator": "equals", "value": 0}
TREE = {"version": 2, "root": {"kind": "group", "logic": "AND", "children": [LEAF]}}
# the operations whose lists must hold something for the check to mean anything
LISTS = {
    "GET /api/library": ("items",),
    "GET /api/queue": (),
    "GET /api/queue/upcoming": (),
    "GET /api/rules": (),
    "GET /api/rules/suggestions": ("suggestions",),
    "POST /api/rules/preview": ("samples",),
    "GET /api/collections": (),
    "GET /api/activity/recent": (),
    "GET /api/history": ("items",),
    "GET /api/scan/history": (),
    "GET /api/stats/storage-history": (),
    "GET /api/stats/recommendations": ("items",),
    "GET /api/library/plex-libraries": (),
    "POST /api/library/bulk/protect": ("success",),
}


def test_the_originals_web_client_gets_the_shapes_it_reads(live):
    client, _, _ = live
    listed = client.get("/api/library", params={"type": "movie", "limit": "500"}).json["data"]
    movies = [i for i in listed["items"] if i["radarrId"] and i["size"]]
    deleted, queued, protected = movies[:3]
    client.post(f"/api/library/{deleted['id']}/mark-deletion", json={"gracePeriodDays": 0})
    client.post("/api/queue/process")
    client.post(f"/api/library/{queued['id']}/mark-deletion", json={})
    assert client.post("/api/jobs/snapshot").status_code == 202
    assert client.post("/api/scan/trigger").status_code == 202  # the rule evaluation
    rule = client.post("/api/rules", json={"name": "r", "mediaType": "tv", "conditions": TREE})
    collections = client.post("/api/collections/sync")
    collection = client.get("/api/collections").json["data"][0]

    answers = {
        "GET /api/stats": client.get("/api/stats"),
        "GET /api/stats/storage-history": client.get("/api/stats/storage-history"),
        "GET /api/stats/recommendations": client.get("/api/stats/recommendations"),
        "GET /api/health/status": client.get("/api/health/status"),
        "GET /api/health/version": client.get("/api/health/version"),
        "GET /api/library": client.get("/api/library"),
        "GET /api/library/{item_id}": client.get(f"/api/library/{queued['id']}"),
        "GET /api/library/plex-libraries": client.get("/api/library/plex-libraries"),
        "GET /api/library/summary": client.get("/api/library/summary"),
        "POST /api/library/bulk/protect": client.post(
            "/api/library/bulk/protect", json={"ids": [protected["id"]]}
        ),
        "GET /api/queue": client.get("/api/queue"),
        "GET /api/queue/upcoming": client.get("/api/queue/upcoming"),
        "POST /api/rules": rule,
        "GET /api/rules": client.get("/api/rules"),
        "GET /api/rules/enabled": client.get("/api/rules/enabled"),
        "GET /api/rules/{rule_id}": client.get(f"/api/rules/{rule.json['data']['id']}"),
        "PATCH /api/rules/{rule_id}/toggle": client.request(
            "PATCH", f"/api/rules/{rule.json['data']['id']}/toggle", json={"enabled": False}
        ),
        "POST /api/rules/preview": client.post(
            "/api/rules/preview", json={"mediaType": "all", **TREE}
        ),
        "GET /api/rules/suggestions": client.get("/api/rules/suggestions"),
        "GET /api/collections": client.get("/api/collections"),
        "GET /api/collections/{collection_id}": client.get(f"/api/collections/{collection['id']}"),
        "POST /api/collections/sync": collections,
        "GET /api/scan/cadence": client.get("/api/scan/cadence"),
        "GET /api/scan/history": client.get("/api/scan/history"),
        "GET /api/scan/latest": client.get("/api/scan/latest"),
        "GET /api/scan/status": client.get("/api/scan/status"),
        "GET /api/activity/recent": client.get("/api/activity/recent"),
        "GET /api/history": client.get("/api/history"),
        "GET /api/settings": client.get("/api/settings"),
        "GET /api/unraid/stats": client.get("/api/unraid/stats"),
    }
    assert set(answers) == set(ORIGINAL)
    for operation, answer in answers.items():
        assert answer.status_code < 300, (operation, answer.json)
        jsonschema.validate(answer.json, ORIGINAL[operation])
        if operation in LISTS:
            data = answer.json["data"]
            for key in LISTS[operation]:
                data = data[key]
            assert data, f"{operation}: nothing to check"


def test_the_openapi_document_marks_each_original_shape():
    paths = document()["paths"]
    for operation, schema in ORIGINAL.items():
        method, path = operation.split(" ")
        responses = paths[path][method.lower()]["responses"]
        assert schema in [r.get("x-original-shape") for r in responses.values()], operation


def test_a_shape_fails_an_answer_that_drops_or_retypes_a_field():
    schema = ORIGINAL["GET /api/queue"]
    entry = {
        "id": 1,
        "mediaItemId": 2,
        "title": "t",
        "type": "movie",
        "size": 1,
        "queuedAt": None,
        "deleteAt": None,
        "daysRemaining": 0,
        "matchedRule": None,
        "deletionAction": "unmonitor_only",
        "deletionActionLabel": "Unmonitor only",
        "resetOverseerr": False,
    }
    summary = {"totalItems": 1, "totalSize": 1, "readyForDeletion": 0, "willResetOverseerr": 0}
    jsonschema.validate({"success": True, "data": [entry], "summary": summary}, schema)
    for broken in (
        {"success": True, "data": {"items": [entry]}, "summary": summary},  # a page object
        {"success": True, "data": [entry]},  # no summary
        {"success": True, "data": [{**entry, "size": "1 GB"}], "summary": summary},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
