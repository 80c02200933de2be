import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from prunerr.rules import KEYS, parse_rule
from prunerr.rules.schema import rule_schema, rule_schema_json

REPO = Path(__file__).resolve().parents[2]
PUBLISHED = REPO / "docs" / "rule.schema.json"
EXAMPLES = sorted(
    p for p in (REPO / "rules.d").rglob("*.yaml") if not p.name.endswith(".test.yaml")
)


def test_published_schema_is_the_generated_one():
    assert PUBLISHED.read_text() == rule_schema_json(), (
        "docs/rule.schema.json is stale: run `prunerr rules schema > docs/rule.schema.json`"
    )


def test_schema_defaults_are_what_the_loader_uses():
    for name, key in KEYS.items():
        if "default" in key.schema:
            assert key.parse(key.schema["default"]) == key.default, name
        else:
            assert key.required, f"optional key {name} has no documented default"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_rules_satisfy_the_schema_and_point_editors_at_it(path: Path):
    jsonschema.validate(yaml.safe_load(path.read_text()), rule_schema())
    modeline = re.search(r"yaml-language-server: \$schema=(\S+)", path.read_text())
    assert modeline and (path.parent / modeline.group(1)).resolve() == PUBLISHED


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nmedia: movie\nwhen: size > 1 GB\ncolour: red\n",
        "name: x\nmedia: film\nwhen: size > 1 GB\n",
        "name: x\nmedia: movie\n",
        "name: x\nmedia: movie\nwhen: size > 1 GB\npriority: 101\n",
        "name: x\nmedia: movie\nwhen: size > 1 GB\ndeletion_action: nuke\n",
    ],
)
def test_schema_and_loader_reject_the_same_key_mistakes(text: str):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), rule_schema())
    assert parse_rule(text, "r.yaml", "r").errors


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(PUBLISHED.read_text()))
