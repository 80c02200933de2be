"""What every built-in upstream plugin promises, checked alike through its emulator and the
service the plugin host configures from the environment: a listing is whole or an error, never
partial, whatever the upstream does wrong; a timeout ends it quickly; a refused key is an error
that does not show the key. Each plugin's own tests cover what is particular to it."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest

from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.sdk import Service, ServiceError

LIBRARY = generate("XS", seed=3)
KEY = "0123456789abcdef0123456789abcdef"
WRONG = "fedcba9876543210fedcba9876543210"
# plugin -> what its service says when the upstream refuses the key
REFUSED = {
    "plex": "HTTP 401",
    "radarr": "HTTP 401",
    "sonarr": "HTTP 401",
    "tautulli": "the API key was refused",
    "seerr": "HTTP 403",
}
PLUGINS = sorted(REFUSED)
FAULTS = {  # what an upstream does wrong -> the emulator's fault
    "server error": "error_rate",
    "rate limit": "rate_limit_rate",
    "truncated body": "truncate_rate",
    "malformed body": "malformed_rate",
}


def listing(service: Service) -> tuple:
    """Everything the service lists, in each of its roles."""
    found = []
    if "media_server" in service.roles:
        found += [item for library in service.libraries() for item in service.items(library)]
    if "library_manager" in service.roles:
        found += service.items()
    if "watch_history" in service.roles:
        found += service.plays()
    if "requests" in service.roles:
        found += service.requests()
    return tuple(found)


@contextmanager
def served(plugin: str, faults: Faults | None = None, key: str = KEY, **http):
    """The plugin's emulator of LIBRARY, injecting `faults`, and the service the plugin host
    configures for it with `key`; its HTTP client retries at once and takes `http`'s settings
    (`retries`, `timeout`)."""
    host = PluginHost.create()
    spec = host.emulators().specs[plugin]
    emulator = spec.factory(LIBRARY, KEY, faults or Faults())
    url = emulator.start()
    try:
        (service,) = host.services(host.load_config(spec.env(url, key))).services
        service.http.backoff = 0.0
        for name, value in http.items():
            setattr(service.http, name, value)
        yield emulator, service
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def complete() -> dict[str, tuple]:
    """Each plugin's listing of LIBRARY from an emulator without faults."""
    found = {}
    for plugin in PLUGINS:
        with served(plugin) as (_, service):
            found[plugin] = listing(service)
        assert found[plugin], plugin
    return found


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_transient_faults_are_retried_to_the_whole_listing_or_an_error(plugin, fault, complete):
    faults = Faults(**{FAULTS[fault]: 0.4}, retry_after_s=0, seed=7)
    outcomes = []
    with served(plugin, faults, retries=4) as (emulator, service):
        for _ in range(4):
            try:
                outcomes.append(listing(service) == complete[plugin])
            except ServiceError as exc:
                assert KEY not in str(exc)
                outcomes.append("error")
        assert emulator.request_total > 8  # faults were injected, and retried
    assert False not in outcomes and True in outcomes, outcomes


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_an_upstream_that_keeps_failing_gives_an_error_naming_it_not_a_listing(plugin, fault):
    faults = Faults(**{FAULTS[fault]: 1.0}, retry_after_s=0)
    with served(plugin, faults, retries=2) as (emulator, service):
        url = emulator.url
        with pytest.raises(ServiceError) as caught:
            listing(service)
    assert url in str(caught.value) and KEY not in str(caught.value)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_timeout_ends_in_an_error_quickly(plugin):
    faults = Faults(timeout_rate=1.0, timeout_s=0.5)
    with served(plugin, faults, retries=1, timeout=0.1) as (_, service):
        started = time.perf_counter()
        with pytest.raises(ServiceError, match="the request timed out"):
            listing(service)
        assert time.perf_counter() - started < 2


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_refused_key_is_an_error_that_does_not_show_the_key(plugin):
    with served(plugin, key=WRONG) as (_, service):
        with pytest.raises(ServiceError, match=REFUSED[plugin]) as caught:
            listing(service)
        health = service.health()
    assert WRONG not in str(caught.value)
    assert not health.ok and WRONG not in health.message
