"""Contract checks: validate emulator responses against the upstream OpenAPI documents, and compare
them with responses recorded by upstream client libraries. Both are kept in the repository, under
tests/fixtures/ (specs/ and fixtures/ side by side; tests/fixtures/SOURCES.md says where each
file comes from and how it was trimmed)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import jsonschema
import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def specs_dir() -> Path:
    """The upstream API documents: OpenAPI specs and Tautulli's API reference."""
    return FIXTURES / "specs"


@cache
def load_spec(name: str) -> dict:
    path = specs_dir() / name
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _to_json_schema(node):
    """OpenAPI 3.0 schema objects to JSON Schema: `nullable: true` becomes a null type option."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out or "oneOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _operation(spec: dict, path: str, method: str) -> dict:
    paths = spec["paths"]
    if path in paths:
        return paths[path][method.lower()]
    for template, item in paths.items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()]
    raise KeyError(f"{method} {path} is not in the spec")


def response_schema(spec: dict, path: str, method: str = "GET", status: int = 200) -> dict:
    """The JSON Schema of a response, with the spec's components resolvable."""
    responses = _operation(spec, path, method)["responses"]
    response = responses.get(str(status)) or responses.get("default")
    content = response.get("content", {})
    media = content.get("application/json") or next(iter(content.values()))
    schema = _to_json_schema(media["schema"])
    schema["components"] = _to_json_schema(spec.get("components", {}))
    return schema


def fixtures_dir() -> Path:
    """Responses recorded by upstream client libraries' test suites, beside specs_dir() (where
    tests/plugins/test_seerr.py looks for them too)."""
    return specs_dir().parent / "fixtures"


@cache
def _validator(spec_name: str, path: str, method: str, status: int):
    schema = response_schema(load_spec(spec_name), path, method, status)
    return jsonschema.Draft202012Validator(schema)


def assert_matches_spec(
    spec_name: str, path: str, body: object, method: str = "GET", status: int = 200
) -> None:
    """`path` is the spec's path template or a concrete path matching one."""
    error = jsonschema.exceptions.best_match(
        _validator(spec_name, path, method.upper(), status).iter_errors(body)
    )
    if error is not None:
        raise error


def assert_like_fixture(
    fixture: str, body: object, spec: str, path: str, optional: tuple[str, ...] = ()
) -> None:
    """Every field of a recorded response that the current spec still defines is in ours too,
    with the same JSON type, recursively (`optional` names fields our item may lack, dotted)."""
    recorded = json.loads((fixtures_dir() / fixture).read_text(encoding="utf-8"))
    schema = response_schema(load_spec(spec), path)
    _compare(recorded, body, schema, schema["components"], "", optional)


def _resolve(schema: dict, components: dict) -> dict:
    while True:
        if "$ref" in schema:
            schema = components["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in schema:
            schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        else:
            return schema


def _compare(recorded, ours, schema: dict, components: dict, where: str, optional) -> None:
    schema = _resolve(schema, components)
    if isinstance(recorded, dict) and "items" in schema:  # one item of a listing
        schema = _resolve(schema["items"], components)
    if isinstance(recorded, list):
        assert isinstance(ours, list), where
        if recorded and ours:
            _compare(
                recorded[0], ours[0], schema.get("items", {}), components, f"{where}[]", optional
            )
    elif isinstance(recorded, dict):
        assert isinstance(ours, dict), where
        for key, value in recorded.items():
            name = f"{where}.{key}" if where else key
            if key not in schema.get("properties", {}) or name in optional:
                continue
            assert key in ours, f"{name} is missing"
            if value is not None:
                _compare(value, ours[key], schema["properties"][key], components, name, optional)
    else:
        numbers = (int, float)
        if isinstance(recorded, numbers) and not isinstance(recorded, bool):
            assert isinstance(ours, numbers) and not isinstance(ours, bool), where
        else:
            assert type(ours) is type(recorded), f"{where}: {type(ours).__name__}"
