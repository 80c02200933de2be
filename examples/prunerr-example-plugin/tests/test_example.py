"""The example plugin's tests: its field on its own, then in a rule over a library that Prunerr
syncs from its own emulators of Plex and Radarr, once with a Plex that fails."""

import json
import os
import subprocess
import sys

import pytest
from prunerr_example import decade

from prunerr.dsl import UNKNOWN
from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost

RULE = "name: Released before 1990\nmedia: movie\nwhen: example.decade < 1990\n"


def test_the_decade_of_a_year_null_and_unknown():
    assert decade({"year": 1994}) == 1990
    assert decade({"year": None}) is None
    assert decade({}) is UNKNOWN


def test_prunerr_loads_the_installed_plugin():
    field = PluginHost.create().catalog().fields["example.decade"]
    assert field.source == "example"


@pytest.fixture(scope="module")
def library():
    """The ground truth the emulators serve: 60 movies and 8 shows, the same for a seed."""
    return generate("XS", seed=1)


@pytest.fixture
def emulated(library):
    """Prunerr's emulators of Plex and Radarr on loopback ports, by service, and the environment
    variables that point Prunerr at them."""
    specs = PluginHost.create().emulators().specs
    running, env = {}, {}
    try:
        for service in ("plex", "radarr"):
            key = f"{service}-test-key"
            running[service] = specs[service].factory(library, key, Faults())
            env.update(specs[service].env(running[service].start(), key))
        yield running, env
    finally:
        for emulator in running.values():
            emulator.stop()


@pytest.fixture
def prunerr(tmp_path, emulated):
    """`prunerr ARGS` run as a user would, with the rule, configured for the emulators only."""
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "before-1990.yaml").write_text(RULE)
    specs = PluginHost.create().emulators().specs.values()
    others = {name for spec in specs for name in spec.env("http://unused", "unused")}
    env = {k: v for k, v in os.environ.items() if k not in others}
    env |= emulated[1]
    env |= {
        "PRUNERR_DATA_DIR": str(tmp_path / "data"),
        "PRUNERR_RULES_DIR": str(tmp_path / "rules.d"),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "prunerr", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True)

    return run


def plan(prunerr) -> dict:
    result = prunerr("rules", "plan", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_rule_on_the_field_matches_the_movies_released_before_1990(prunerr, library):
    assert prunerr("sync").returncode == 0
    (rule,) = plan(prunerr)["rules"]
    assert rule["candidates"] == len(library.movies) == 60
    assert rule["matched"] == sum(movie.year < 1990 for movie in library.movies) == 34
    assert rule["unknown"] == 0


def test_when_plex_fails_the_field_is_unknown_and_nothing_matches(prunerr, emulated):
    emulators, _ = emulated
    assert prunerr("sync").returncode == 0
    emulators["plex"].faults = Faults(error_rate=1.0)  # every request: 500, 502 or 503
    failed = prunerr("sync")
    assert failed.returncode == 1 and "plex:media_server" in failed.stdout
    report = plan(prunerr)
    assert report["available"]["media_server"] is False
    (rule,) = report["rules"]
    assert (rule["matched"], rule["unknown"]) == (0, 60)
