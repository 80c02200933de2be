"""An API app on a real database, and a client that checks every response against the
OpenAPI document the app serves."""

from __future__ import annotations

import re
from functools import cache

import falcon.testing
import jsonschema
import pytest

from prunerr.api import Api, create_app
from prunerr.api.auth import ApiKeys
from prunerr.api.openapi import document
from prunerr.app import Prunerr
from prunerr.config import Config
from prunerr.jobs import create_huey
from prunerr.jobs.tasks import Tasks
from prunerr.plugins import PluginHost
from prunerr.sdk import ServiceList
from tests.support import LIBRARY, emulated


@cache
def _validator(path: str, method: str, status: int) -> jsonschema.Draft202012Validator:
    doc = document()
    operation = doc["paths"][path][method.lower()]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def _template(path: str) -> str:
    # static segments win over parameters, as in the router (/api/library/sync)
    for template in sorted(document()["paths"], key=lambda t: t.count("{")):
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in the OpenAPI document")


class Client:
    def __init__(self, app, key: str | None):
        self.client = falcon.testing.TestClient(app)
        self.key = key

    def request(self, method: str, path: str, *, key: str | None = "default", **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        key = self.key if key == "default" else key
        if key is not None:
            headers["X-Api-Key"] = key
        result = self.client.simulate_request(method, path, headers=headers, **kwargs)
        template = _template(path)
        _validator(template, method, result.status_code).validate(result.json)
        return result

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)


def make_api(store, config, services=None, keys=None) -> Api:
    """The API of a Prunerr on this database, with the rules of `config`'s rules directory."""
    app = Prunerr(PluginHost.create(), config, store=store, services=services or ServiceList())
    return app.api(keys or ApiKeys(store, None))


@pytest.fixture
def api(store, tmp_path) -> Api:
    config = Config.load(PluginHost.create().config_schema(), {"PRUNERR_DATA_DIR": str(tmp_path)})
    return make_api(store, config)


@pytest.fixture
def client(api) -> Client:
    return Client(create_app(api), api.keys.current())


def live_client(store, tmp_path, env: dict) -> tuple[Client, Prunerr]:
    """An API over the emulators `env` names, with `tmp_path` as its data directory (and its
    empty rules.d), synced through `POST /api/library/sync`; jobs run in Huey's immediate
    mode."""
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir(exist_ok=True)
    host = PluginHost.create()
    config = host.load_config(
        {**env, "PRUNERR_DATA_DIR": str(tmp_path), "PRUNERR_RULES_DIR": str(rules_dir)}
    )
    services = host.services(config)
    for service in services.services:
        service.http.retries = 0
    app = Prunerr(host, config, store=store, services=services)
    api = app.api(tasks=Tasks(app, create_huey(config, immediate=True)))
    client = Client(create_app(api), api.keys.current())
    assert client.post("/api/library/sync").status_code == 202
    return client, app


@pytest.fixture
def live(store, tmp_path):
    """(client, app, emulators): `live_client` over the emulators serving
    `tests.support.LIBRARY`."""
    with emulated(LIBRARY) as (env, emulators):
        client, app = live_client(store, tmp_path, env)
        yield client, app, emulators
