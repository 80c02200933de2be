"""`PUT /api/settings` in the original's shape: its web client sends back the whole object it
read, with its edits; the schedules it edits become this project's cron settings, and what
cannot be changed through the API is refused by name."""

from __future__ import annotations

import pytest

from prunerr.api import create_app
from prunerr.config import Config
from prunerr.jobs import JOBS
from prunerr.plugins import PluginHost
from tests.api.conftest import Client, make_api


def shown(client) -> dict:
    return client.get("/api/settings").json["data"]


def put(client, body: dict):
    return client.request("PUT", "/api/settings", json=body)


def schedules(api) -> dict[str, str | None]:
    return {name: job.schedule(api.config) for name, job in JOBS.items()}


def test_what_get_showed_can_be_sent_back_whole(client):
    before = shown(client)
    assert before["schedule"] == {
        "enabled": True,
        "autoProcess": True,
        "interval": "daily",
        "time": "03:30",
    }
    assert before["plexSync"] == {"enabled": True}  # every 6 hours: not the original's form
    answer = put(client, before)
    assert answer.status_code == 200 and answer.json["message"] == "Nothing changed"
    # the original's client sends empty strings for services it has no values for
    echoed = {**before, "services": {**before["services"], "sonarr": {"url": "", "apiKey": ""}}}
    assert put(client, echoed).json["message"] == "Nothing changed"
    assert shown(client) == before


def test_notifiers_and_services_configured_come_back_unchanged(store, tmp_path):
    env = {
        "PRUNERR_DATA_DIR": str(tmp_path),
        "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/secret-token",
        "DISCORD_EVENTS": "deleted failed",
        "WEBHOOK_URL": "http://hooks.local/in",
        "WEBHOOK_SECRET": "hook-secret",
        "RADARR_URL": "http://radarr:7878",
        "RADARR_API_KEY": "radarr-secret",
    }
    api = make_api(store, Config.load(PluginHost.create().config_schema(), env))
    client = Client(create_app(api), api.keys.current())
    before = shown(client)
    assert before["discord"][0]["events"] == ["deleted", "failed"]
    assert put(client, before).json["message"] == "Nothing changed"
    # as the client sends a section it edited: every field, its defaults where GET had none
    edited = {**before["schedule"], "dayOfWeek": 0, "time": "04:45"}
    assert put(client, {**before, "schedule": edited}).json["data"]["evaluation_schedule"] == (
        "45 4 * * *"
    )


def test_the_schedule_sections_become_cron_settings(client, api):
    before = shown(client)
    weekly = {**before["schedule"], "interval": "weekly", "time": "05:15", "dayOfWeek": 2}
    answer = put(client, {**before, "schedule": weekly})
    assert answer.status_code == 200 and answer.json["message"] == "Settings saved"
    after = answer.json["data"]
    assert after["evaluation_schedule"] == "15 5 * * 2"
    assert after["schedule"] == weekly
    hourly = {"enabled": True, "interval": "hourly", "time": "00:45"}
    assert put(client, {"plexSync": hourly}).json["data"]["sync_schedule"] == "45 * * * *"
    assert api.config.sources["sync_schedule"] == "database"


def test_a_schedule_turned_off_runs_only_when_asked(client, api):
    answer = put(client, {"schedule": {**shown(client)["schedule"], "autoProcess": False}})
    assert answer.json["data"]["processing_schedule"] is None
    assert answer.json["data"]["schedule"]["autoProcess"] is False
    assert schedules(api) | {"sync": None, "evaluate": None} == {
        "sync": None,
        "users": None,
        "collections": None,
        "evaluate": None,
        "process": None,
        "reminders": None,  # nothing is deleted on a date to remind of
        "snapshot": "0 4 * * *",  # the storage figures are still taken daily
    }
    put(client, {"plexSync": {"enabled": False}})
    assert schedules(api)["sync"] is None and shown(client)["plexSync"] == {"enabled": False}
    # turned on again: the default schedule
    on = put(client, {"plexSync": {"enabled": True}, "schedule": {"autoProcess": True}})
    assert on.json["data"]["sync_schedule"] == "0 */6 * * *"
    assert on.json["data"]["processing_schedule"] == "0 4 * * *"
    # this project's own key takes null or "off" too
    assert put(client, {"evaluation_schedule": "off"}).json["data"]["schedule"]["enabled"] is False
    assert schedules(api)["evaluate"] is None


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"services": {"plex": {"url": "http://other:32400"}}}, 409, "services.plex.url: services"),
        ({"notifications": {"discordEnabled": True}}, 409, "notifications.discordEnabled"),
        ({"exclusionPatterns": [{"field": "title", "value": "x"}]}, 409, "exclusionPatterns: "),
        ({"diskPressure": {"enabled": True}}, 409, "diskPressure.enabled: Prunerr has no"),
        ({"schedule": {"historyLookbackDays": 30}}, 409, "schedule.historyLookbackDays: is not"),
        ({"schedule": {"interval": "daily", "time": "25:00"}}, 400, "schedule.time: expected"),
        ({"schedule": {"interval": "monthly", "time": "03:00"}}, 400, "schedule.interval"),
        ({"schedule": {"interval": "weekly", "time": "03:00", "dayOfWeek": 7}}, 400, "schedule.d"),
        ({"plexSync": {"enabled": "yes"}}, 400, "plexSync.enabled: expected true or false"),
        ({"plexSync": {"enabled": False, "interval": "x"}}, 400, "plexSync.interval: expected"),
        ({"schedule": {"interval": "daily", "dayOfWeek": "2"}}, 400, "schedule.dayOfWeek: ex"),
        ({"port": 1234}, 409, "port: cannot be changed while Prunerr runs"),
    ],
)
def test_what_cannot_be_changed_here_is_refused_by_name(client, change, status, error):
    before = shown(client)
    name, value = next(iter(change.items()))
    if isinstance(value, dict) and isinstance(before.get(name), dict):
        value = {**before[name], **value}
    answer = put(client, {**before, name: value})
    assert answer.status_code == status
    assert answer.json["error"].startswith(error), answer.json["error"]
    assert shown(client) == before  # nothing of the body was saved


def test_a_schedule_the_originals_form_cannot_say_is_set_whole(client):
    put(client, {"evaluation_schedule": "0 3 * * 1-5"})
    assert shown(client)["schedule"] == {"enabled": True, "autoProcess": True}
    only_time = put(client, {"schedule": {"enabled": True, "autoProcess": True, "time": "04:00"}})
    assert only_time.status_code == 400
    assert only_time.json["error"].startswith("schedule.interval: expected hourly, daily or")
