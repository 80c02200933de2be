"""The operator's dry run holds against every request: `POST /api/queue/process?dryRun=false`
is a 409 that processes nothing, wherever `dry_run` is set; a request may still ask for a dry
run when the setting is off. Over a library synced from the emulators."""

from __future__ import annotations

import pytest

from tests.api.conftest import live_client
from tests.support import LIBRARY, emulated

pytestmark = pytest.mark.slow


@pytest.fixture
def run(store, tmp_path):
    """run(**env) -> (client, emulators, movie): a synced library, one movie due for deletion."""
    with emulated(LIBRARY) as (base, emulators):

        def start(**env):
            client, _ = live_client(store, tmp_path, {**base, **env})
            items = client.get("/api/library", params={"type": "movie", "limit": "500"})
            movie = next(i for i in items.json["data"]["items"] if i["radarrId"] and i["size"])
            queued = client.post(
                f"/api/library/{movie['id']}/mark-deletion", json={"gracePeriodDays": 0}
            )
            assert queued.status_code == 201
            return client, emulators, movie

        yield start


def on_disk(emulators, movie) -> bool:
    return emulators["radarr"].movies[movie["radarrId"]]["hasFile"]


@pytest.mark.parametrize("false", ["false", "0"])
def test_a_request_cannot_turn_off_the_dry_run_of_the_environment(run, false):
    """It deleted, although PUT /api/settings rightly refused the same change."""
    client, emulators, movie = run(PRUNERR_DRY_RUN="true")
    refused = client.post("/api/queue/process", params={"dryRun": false, "force": "true"})
    assert refused.status_code == 409
    assert refused.json["error"] == (
        "dryRun: dry_run is on (set by PRUNERR_DRY_RUN) and a request cannot turn it off; "
        "nothing was processed"
    )
    assert refused.json["details"][0]["field"] == "dryRun"
    assert on_disk(emulators, movie)
    assert client.get("/api/queue").json["total"] == 1
    for params in ({}, {"dryRun": "true"}):
        report = client.post("/api/queue/process", params=params).json["data"]
        assert report["dryRun"] is True and report["deleted"] == 1
    assert on_disk(emulators, movie)
    settings = client.request("PUT", "/api/settings", json={"dry_run": False})
    assert settings.status_code == 409


def test_the_dry_run_of_prunerr_yaml_holds_too(run, tmp_path):
    (tmp_path / "prunerr.yaml").write_text("dry_run: true\n")
    client, emulators, movie = run()
    refused = client.post("/api/queue/process", params={"dryRun": "false"})
    assert refused.status_code == 409 and "set by prunerr.yaml" in refused.json["error"]
    assert on_disk(emulators, movie)


def test_a_dry_run_saved_through_the_api_is_changed_there_not_per_request(run):
    client, emulators, movie = run()
    assert client.get("/api/queue").json["summary"]["dryRun"] is False
    assert client.request("PUT", "/api/settings", json={"dry_run": True}).status_code == 200
    assert client.get("/api/queue").json["summary"]["dryRun"] is True
    refused = client.post("/api/queue/process", params={"dryRun": "false"})
    assert refused.status_code == 409
    assert "set by PUT /api/settings" in refused.json["error"]
    assert "set dry_run to false there first" in refused.json["error"]
    assert on_disk(emulators, movie)
    assert client.request("PUT", "/api/settings", json={"dry_run": False}).status_code == 200
    report = client.post("/api/queue/process", params={"dryRun": "false"}).json["data"]
    assert report["dryRun"] is False and report["deleted"] == 1
    assert not on_disk(emulators, movie)


def test_a_request_may_ask_for_a_dry_run_when_the_setting_is_off(run):
    client, emulators, movie = run()
    report = client.post("/api/queue/process", params={"dryRun": "true"}).json["data"]
    assert report["dryRun"] is True and report["deleted"] == 1
    assert on_disk(emulators, movie)
