import re

import pytest

from prunerr.api import create_app
from prunerr.api.auth import ApiKeys
from tests.api.conftest import Client, make_api


def test_every_api_call_needs_the_key(client):
    result = client.get("/api/settings", key=None)
    assert result.status_code == 401
    assert result.json == {
        "success": False,
        "error": "Invalid or missing API key (send it as X-Api-Key)",
    }
    assert client.get("/api/settings", key="wrong").status_code == 401


@pytest.mark.parametrize("how", ["header", "query", "bearer"])
def test_the_key_is_accepted_as_header_query_or_bearer_token(client, how):
    key = client.key
    kwargs = {
        "header": {"headers": {"X-Api-Key": key}},
        "query": {"params": {"apikey": key}},
        "bearer": {"headers": {"Authorization": f"Bearer {key}"}},
    }[how]
    assert client.get("/api/settings", key=None, **kwargs).status_code == 200


def test_the_key_is_generated_once_and_kept(api):
    first = api.keys.current()
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert ApiKeys(api.store, None).current() == first


def test_regenerating_invalidates_the_old_key_at_once(client):
    old = client.key
    result = client.post("/api/settings/api-key/regenerate")
    new = result.json["data"]["apiKey"]
    assert result.status_code == 200 and new != old
    assert client.get("/api/settings", key=old).status_code == 401
    assert client.get("/api/settings", key=new).status_code == 200


def test_a_key_from_the_environment_wins_and_cannot_be_regenerated(api):
    api = make_api(api.store, api.config, keys=ApiKeys(api.store, "from-env-key"))
    client = Client(create_app(api), "from-env-key")
    assert client.get("/api/settings/api-key").json["data"] == {
        "apiKey": "from-env-key",
        "fromEnvironment": True,
    }
    result = client.post("/api/settings/api-key/regenerate")
    assert result.status_code == 409
    assert "PRUNERR_API_KEY" in result.json["error"]


def test_health_and_the_openapi_document_are_public(client):
    public = client.get("/api/health", key=None)
    assert public.status_code == 200 and "services" not in public.json["data"]
    assert client.get("/api/openapi.json", key=None).json["openapi"] == "3.1.0"


def test_settings_never_show_secrets(api, tmp_path):
    from prunerr.config import Config
    from prunerr.plugins import PluginHost

    env = {
        "PRUNERR_DATA_DIR": str(tmp_path),
        "PLEX_URL": "http://plex:32400",
        "PLEX_TOKEN": "plex-token-secret",
        "PRUNERR_DATABASE_URL": "postgres://u:pw@db/x",
    }
    config = Config.load(PluginHost.create().config_schema(), env)
    api = make_api(api.store, config, keys=api.keys)
    client = Client(create_app(api), api.keys.current())
    body = client.get("/api/settings").text
    assert "plex-token-secret" not in body and "pw@db" not in body
    data = client.get("/api/settings").json["data"]
    assert data["plex"] == [{"name": "plex", "url": "http://plex:32400", "token": "********"}]
    # the original's sections, which its client reads: a service with a URL and a (masked)
    # secret is configured, one without is `{}`
    assert data["services"]["plex"] == {"url": "http://plex:32400", "token": "********"}
    assert data["services"]["radarr"] == {} and data["services"]["tracearr"] == {}
    assert data["watchHistory"] == {"provider": "plex"}
    assert data["schedule"] == {
        "enabled": True,
        "autoProcess": True,
        "interval": "daily",
        "time": "03:30",
    }
    assert data["notifications"] == {"discordEnabled": False}


def test_unknown_endpoints_and_methods_answer_in_the_envelope(client):
    missing = client.client.simulate_get("/api/nothing", headers={"X-Api-Key": client.key})
    assert (missing.status_code, missing.json) == (
        404,
        {"success": False, "error": "Endpoint not found"},
    )
    wrong = client.client.simulate_delete("/api/settings", headers={"X-Api-Key": client.key})
    assert wrong.status_code == 405 and wrong.json["success"] is False


def test_settings_mask_credentials_in_service_urls(api, tmp_path):
    """`RADARR_URL=http://admin:pw@host` and keys in query strings were returned as they are."""
    from prunerr.config import Config
    from prunerr.plugins import PluginHost

    env = {
        "PRUNERR_DATA_DIR": str(tmp_path),
        "RADARR_URL": "http://admin:radarr-pw@radarr:7878",
        "RADARR_API_KEY": "k",
        "PLEX_URL": "http://plex:32400/?X-Plex-Token=plex-token",
        "PLEX_TOKEN": "t",
    }
    config = Config.load(PluginHost.create().config_schema(), env)
    api = make_api(api.store, config, keys=api.keys)
    client = Client(create_app(api), api.keys.current())
    for answer in (
        client.get("/api/settings"),
        client.request("PUT", "/api/settings", json={"reminder_days": 2}),
    ):
        assert "radarr-pw" not in answer.text and "plex-token" not in answer.text
        assert answer.json["data"]["radarr"][0]["url"] == "http://********@radarr:7878"
        assert answer.json["data"]["plex"][0]["url"] == "http://plex:32400/?X-Plex-Token=********"
