"""The JSON Schema of a rule file, generated from the loader's key table so the two agree."""

from __future__ import annotations

import json

from .model import KEYS

SCHEMA_ID = "https://prunerr.dev/schemas/rule.schema.json"


def rule_schema() -> dict:
    properties = {
        name: {"description": key.description, **key.schema} for name, key in KEYS.items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Prunerr rule",
        "description": "One Prunerr rule: rules.d/<id>.yaml. See grammar/README.md for `when`.",
        "type": "object",
        "properties": properties,
        "required": [name for name, key in KEYS.items() if key.required],
        "additionalProperties": False,
    }


def rule_schema_json() -> str:
    return json.dumps(rule_schema(), indent=2) + "\n"
