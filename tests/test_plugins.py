import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from prunerr import hookspecs
from prunerr.dsl import UNKNOWN, EvalContext, compile_condition
from prunerr.hookspecs import hookimpl
from prunerr.plugins import PluginHost

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


class ScorePlugin:
    @hookimpl
    def prunerr_register_dsl(self, dsl):
        dsl.field("example.score", "number?", "Score from the example service.")
        dsl.function(
            "example.double", ["number"], "number", lambda ctx, item, x: 2 * x, "Twice a number."
        )


def host_with(plugin: object, name: str) -> PluginHost:
    host = PluginHost.create(load_entry_points=False)
    host.register(plugin, name)
    return host


def test_a_plugin_field_and_function_can_be_used_in_rules():
    language = host_with(ScorePlugin(), "example").catalog()
    assert language.fields["example.score"].source == "example"
    program = compile_condition("example.double(example.score) > 5", language).program
    ctx = EvalContext.current()
    assert program.evaluate({"example.score": 3}, ctx) is True
    assert program.evaluate({"example.score": None}, ctx) is UNKNOWN
    assert program.evaluate({}, ctx) is UNKNOWN


def test_plugin_names_must_be_namespaced_by_the_plugin():
    class Rogue:
        @hookimpl
        def prunerr_register_dsl(self, dsl):
            dsl.field("size", "number", "Shadows the core field.")

    with pytest.raises(ValueError, match=r"rogue\.<name>"):
        host_with(Rogue(), "rogue").catalog()


def test_every_hook_is_documented():
    documented = set(re.findall(r"^### `(prunerr_\w+)\(", DOCS.read_text(), re.MULTILINE))
    hooks = {name for name in dir(hookspecs) if name.startswith("prunerr_")}
    assert hooks == documented


LOADED_EMULATION = """
import json, sys

from prunerr import jobs
from prunerr.jobs import tasks
from prunerr.app import Prunerr
from prunerr.plugins import PluginHost


def emulation():
    return sorted(
        name
        for name in sys.modules
        if name.startswith("prunerr.emulation.")
        or (name.startswith("prunerr_plugins.") and name.endswith(".emulator"))
    )


app = Prunerr.from_environment(json.loads(sys.argv[1]))
assert len(app.services.services) == 8, app.services.services
app.catalog
serving = emulation()

from prunerr.emulation import Faults, generate

library = generate("XS", seed=1)
for spec in PluginHost.create().emulators().specs.values():
    spec.factory(library, "k" * 32, Faults())
print(json.dumps({"serving": serving, "emulating": emulation()}))
"""


def test_emulators_are_imported_only_when_emulating(tmp_path):
    """A process that serves, with every built-in service configured, loads no emulator and no
    synthetic library; one that builds the emulators loads them."""
    env = {
        "PRUNERR_DATA_DIR": str(tmp_path),
        "PLEX_URL": "http://plex:32400",
        "PLEX_TOKEN": "token",
        **{f"{kind}_URL": "http://upstream" for kind in ("RADARR", "SONARR", "TAUTULLI")},
        **{f"{kind}_API_KEY": "key" for kind in ("RADARR", "SONARR", "TAUTULLI")},
        "OVERSEERR_URL": "http://seerr:5055",
        "OVERSEERR_API_KEY": "key",
        "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/token",
        "WEBHOOK_URL": "http://hooks/prunerr",
        "WEBHOOK_SECRET": "secret",
        "APPRISE_URLS": "json://localhost/notify",
    }
    script = [sys.executable, "-c", LOADED_EMULATION, json.dumps(env)]
    result = subprocess.run(script, capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    assert loaded["serving"] == []
    built_ins = ("plex", "radarr", "sonarr", "tautulli", "seerr", "discord", "webhook", "apprise")
    assert {"prunerr.emulation.synthetic", "prunerr.emulation.server"} <= set(loaded["emulating"])
    assert {f"prunerr_plugins.{name}.emulator" for name in built_ins} <= set(loaded["emulating"])
