import re
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
