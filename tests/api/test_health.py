from pony.orm import db_session

from prunerr.api import create_app
from prunerr.app import Prunerr
from prunerr.emulation import Faults, generate
from prunerr.jobs import create_huey
from prunerr.jobs.tasks import Tasks
from prunerr.plugins import PluginHost
from tests.api.conftest import Client, make_api


def test_health_reports_each_service_to_key_holders(api, tmp_path):
    library = generate("XS")
    specs = PluginHost.create().emulators().specs
    with (
        specs["radarr"].factory(library, "k" * 32, Faults()) as radarr,
        specs["sonarr"].factory(library, "k" * 32, Faults(error_rate=1.0)) as sonarr,
    ):
        host = PluginHost.create()
        env = {
            "PRUNERR_DATA_DIR": str(tmp_path),
            **specs["radarr"].env(radarr.url, "k" * 32),
            **specs["sonarr"].env(sonarr.url, "k" * 32),
        }
        config = host.load_config(env)
        services = host.services(config)
        for service in services.services:
            service.http.retries = 0
        api = make_api(api.store, config, services, keys=api.keys)
        client = Client(create_app(api), api.keys.current())
        data = client.get("/api/health").json["data"]
        public = client.get("/api/health", key=None).json["data"]
    assert data["status"] == public["status"] == "degraded"
    by_name = {s["service"]: s for s in data["services"]}
    assert by_name["radarr"]["connected"] is True and by_name["radarr"]["responseTimeMs"] >= 0
    assert by_name["sonarr"]["connected"] is False and by_name["sonarr"]["error"]
    assert "k" * 32 not in str(data)


def test_health_with_nothing_configured_is_unhealthy(client):
    assert client.get("/api/health").json["data"]["status"] == "unhealthy"


def test_a_job_that_failed_on_the_database_is_failed_in_jobs_and_health_says_why(store, tmp_path):
    library = generate("XS")
    spec = PluginHost.create().emulators().specs["radarr"]
    with spec.factory(library, "k" * 32, Faults()) as radarr:
        host = PluginHost.create()
        config = host.load_config(
            {"PRUNERR_DATA_DIR": str(tmp_path), **spec.env(radarr.url, "k" * 32)}
        )
        app = Prunerr(host, config, store=store, services=host.services(config))
        api = app.api(tasks=Tasks(app, create_huey(config, immediate=True)))
        client = Client(create_app(api), api.keys.current())
        before = client.get("/api/health").json["data"]
        with db_session:
            store.execute("ALTER TABLE collection RENAME TO collection_away")
        assert client.post("/api/jobs/collections").status_code == 202  # ran, and failed
        (job,) = [j for j in client.get("/api/jobs").json["data"] if j["name"] == "collections"]
        failed = client.get("/api/health").json["data"]
        public = client.get("/api/health", key=None).json["data"]
        with db_session:
            store.execute("ALTER TABLE collection_away RENAME TO collection")
        assert client.post("/api/jobs/collections").status_code == 202
        after = client.get("/api/health").json["data"]
    assert before["status"] == "healthy"
    assert before["jobs"] == {"workers": None, "ready": None, "problems": []}
    run = job["lastRun"]
    assert job["state"] == "idle" and run["state"] == "failed"
    assert run["error"].startswith("database error: ") and "collection" in run["error"]
    assert failed["status"] == public["status"] == "degraded" and "jobs" not in public
    assert failed["jobs"]["problems"] == [
        f"Collections sync (run {run['id']}) failed: {run['error']}"
    ]
    assert after["status"] == "healthy" and after["jobs"]["problems"] == []


def test_a_rule_that_does_not_load_makes_health_degraded_and_says_which(store, tmp_path):
    library = generate("XS")
    spec = PluginHost.create().emulators().specs["radarr"]
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    (rules_dir / "keep.yaml").write_text(
        'name: keep\nkind: protect\nmedia: movie\nwhen: lables contains "keep"\n'
    )
    with spec.factory(library, "k" * 32, Faults()) as radarr:
        host = PluginHost.create()
        config = host.load_config(
            {
                "PRUNERR_DATA_DIR": str(tmp_path),
                "PRUNERR_RULES_DIR": str(rules_dir),
                **spec.env(radarr.url, "k" * 32),
            }
        )
        api = make_api(store, config, host.services(config))
        client = Client(create_app(api), api.keys.current())
        data = client.get("/api/health").json["data"]
        (rules_dir / "keep.yaml").unlink()
        client.post("/api/rules/reload")
        fixed = client.get("/api/health").json["data"]
    assert data["status"] == "degraded"
    assert data["brokenRules"] == [
        {"rule": "keep", "message": "unknown field `lables`", "stopsDeletion": True}
    ]
    assert fixed["status"] == "healthy" and fixed["brokenRules"] == []
