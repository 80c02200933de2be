"""What the Radarr and Sonarr tests share: the API key, the emulator fixtures, plain HTTP requests,
fake upstreams, and the contract, auth and wiring checks that hold for both apps (the fault
checks, which hold for every plugin, are in test_conformance.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from prunerr.config import Config
from prunerr.emulation import SyntheticLibrary, generate
from prunerr.plugins import PluginHost
from prunerr_plugins.arr.client import ArrClient
from prunerr_plugins.arr.emulator import ArrEmulator
from tests.plugins.openapi import assert_like_fixture, assert_matches_spec

KEY = "0123456789abcdef0123456789abcdef"
API = "/api/v3"
WRONG_KEYS = [  # (headers, query parameters) an *arr refuses
    ({}, {}),
    ({"X-Api-Key": "wrong"}, {}),
    ({"Authorization": "Bearer wrong"}, {}),
    ({"X-Api-Key": KEY}, {"apikey": "wrong"}),  # the query parameter is read first
]

COMMON_ENDPOINTS = (  # (path, query) of the JSON endpoints of both apps
    ("/system/status", {}),
    ("/tag", {}),
    ("/tag/detail", {}),
    ("/diskspace", {}),
    ("/rootfolder", {}),
)

ClientFor = Callable[..., ArrClient]
Upstream = Callable[[httpx.Request], httpx.Response]


def emulator_fixtures(emulator_class: type[ArrEmulator]):
    """The `library`, `served` and `emulator` fixtures of one app's tests; assign them to those
    names in the test module."""

    @pytest.fixture(scope="module")
    def library():
        return generate("XS", seed=3)

    @pytest.fixture(scope="module")
    def served(library):
        """An emulator for the tests that change nothing (stopping one takes a while)."""
        with emulator_class(library, KEY) as emulator:
            yield emulator

    @pytest.fixture
    def emulator(library):
        """A fresh emulator, for tests that change its state or its faults."""
        with emulator_class(library, KEY) as emulator:
            yield emulator

    return library, served, emulator


def arr_client(
    client_class: type[ArrClient], emulator: ArrEmulator, key: str = KEY, **options
) -> ArrClient:
    """A client of the emulator, named after its service, that retries without waiting."""
    options = {"backoff": 0.0, "sleep": lambda s: None, **options}
    return client_class(emulator.service, emulator.url, key, **options)


def get(emulator: ArrEmulator, path: str, **params) -> httpx.Response:
    return httpx.get(emulator.url + path, params=params, headers={"X-Api-Key": KEY})


def send(emulator: ArrEmulator, method: str, path: str, body=None, **params) -> httpx.Response:
    return httpx.request(
        method, emulator.url + path, params=params, json=body, headers={"X-Api-Key": KEY}
    )


def assert_refused(served: ArrEmulator, path: str, headers: dict, params: dict) -> None:
    """GET the path with these credentials: 401 with an empty body."""
    response = httpx.get(f"{served.url}{API}{path}", headers=headers, params=params)
    assert (response.status_code, response.content) == (401, b"")


def fake_upstream_client(client_class: type[ArrClient], upstream: Upstream) -> ArrClient:
    """A client whose upstream is a function from request to response."""
    name = client_class.app_name.lower()
    return client_class(name, f"http://{name}", KEY, transport=httpx.MockTransport(upstream))


def json_by_path(bodies: dict[str, object]) -> Upstream:
    """An upstream answering each path with its JSON body."""
    return lambda request: httpx.Response(200, json=bodies[request.url.path])


def assert_endpoints_match_spec(emulator: ArrEmulator, spec: str, endpoints) -> None:
    """GET each (path, query) of COMMON_ENDPOINTS and `endpoints`: 200 with a non-empty JSON
    body that the spec allows."""
    for path, params in (*COMMON_ENDPOINTS, *endpoints):
        response = get(emulator, API + path, **params)
        assert response.status_code == 200, path
        assert response.json(), path
        assert_matches_spec(spec, API + path, response.json())


def assert_like_recorded(served: ArrEmulator, spec: str, recorded) -> None:
    """GET the path of each (fixture, path, first) of `recorded`: the body (its first element
    with `first`) has the fields of the recorded fixture."""
    for fixture, path, first in recorded:
        body = get(served, API + path).json()
        assert_like_fixture(fixture, body[0] if first else body, spec, API + path)


def listing_requests(client_for: ClientFor, served: ArrEmulator) -> Counter:
    """The requests one listing makes."""
    served.reset_counts()
    client_for(served).items()
    return served.requests


def listed_quickly(
    client_for: ClientFor,
    emulator_class: type[ArrEmulator],
    library: SyntheticLibrary,
    listing_s: float,
) -> list:
    """The items of an emulator of the library, built within 2.5 s and listed within `listing_s`
    in two requests."""
    started = time.perf_counter()
    emulator = emulator_class(library, KEY)
    built = time.perf_counter() - started
    with emulator:
        started = time.perf_counter()
        items = client_for(emulator).items()
        listed = time.perf_counter() - started
        assert emulator.request_total == 2
    assert built < 2.5 and listed < listing_s, (built, listed)
    return items


def configured_service(served: ArrEmulator) -> tuple[ArrClient, Config]:
    """The service the plugin host configures from the environment of the emulator's spec, and
    that configuration."""
    host = PluginHost.create()
    config = host.load_config(host.emulators().specs[served.service].env(served.url, KEY))
    (service,) = [s for s in host.services(config).services if s.name == served.service]
    return service, config
