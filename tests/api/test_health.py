from prunerr.api import create_app
from prunerr.emulation import Faults, generate
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
