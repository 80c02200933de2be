"""What a client sends is bounded: the size of a body (413 before it is read), the nesting of
its JSON (400), and every number, in a query string, a body or a setting (400 naming the field
and its range)."""

from __future__ import annotations

import io
import json

import pytest

from prunerr.api import create_app
from prunerr.config import Config
from prunerr.plugins import PluginHost
from tests.api.conftest import Client, make_api

RULE = {"name": "Big", "mediaType": "movie", "when": "size > 20 GiB"}


@pytest.fixture
def database_url(tmp_path):
    """Input is bounded before any query: one database backend is enough here."""
    return f"sqlite:///{tmp_path / 'prunerr.db'}"


class Unreadable(io.RawIOBase):
    """A request body that must not be read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")


class Endless(io.RawIOBase):
    """A chunked body that never ends, counting what was read of it."""

    def __init__(self):
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b" " * len(buffer)
        self.taken += len(buffer)
        return len(buffer)


def configured(api, tmp_path, **env) -> Client:
    config = Config.load(
        PluginHost.create().config_schema(), {"PRUNERR_DATA_DIR": str(tmp_path), **env}
    )
    api = make_api(api.store, config, keys=api.keys)
    return Client(create_app(api), api.keys.current())


def test_a_body_above_the_limit_is_a_413_before_anything_reads_it(client):
    """A 150 MB preview was read whole, then parsed."""
    answer = client.post(
        "/api/rules/preview",
        headers={"Content-Type": "application/json", "Content-Length": str(150 * 2**20)},
        extras={"wsgi.input": Unreadable()},
    )
    assert answer.status_code == 413
    assert answer.json["error"] == (
        "body: larger than the limit of 4194304 bytes (max_request_body)"
    )
    assert answer.json["details"][0]["field"] == "body"


def test_a_chunked_body_is_read_up_to_the_limit_and_no_further(client):
    body = Endless()
    answer = client.post(
        "/api/rules/preview",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        extras={"wsgi.input": body, "wsgi.input_terminated": True},
    )
    assert answer.status_code == 413 and answer.json["details"][0]["field"] == "body"
    assert body.taken <= 4 * 2**20 + 2**16  # the limit, and at most one buffer beyond it


def test_a_chunked_body_within_the_limit_is_parsed(client):
    answer = client.request(
        "PUT",
        "/api/settings",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        extras={"wsgi.input": io.BytesIO(b'{"reminder_days": 3}'), "wsgi.input_terminated": True},
    )
    assert answer.status_code == 200 and answer.json["data"]["reminder_days"] == 3


def test_the_limit_is_a_setting(api, tmp_path):
    client = configured(api, tmp_path, PRUNERR_MAX_REQUEST_BODY="1KiB")
    padded = {**RULE, "description": "x" * 2000}
    answer = client.post("/api/rules/preview", json=padded)
    assert answer.status_code == 413
    assert answer.json["error"] == "body: larger than the limit of 1024 bytes (max_request_body)"
    assert client.post("/api/rules/preview", json=RULE).status_code == 200


# Operations that parse a JSON body before they look anything up (`{rule}`: an API rule);
# POST /api/collections/{id}/queue parses its body in the same place, once the collection exists.
JSON_ENDPOINTS = [
    ("POST", "/api/rules"),
    ("POST", "/api/rules/preview"),
    ("PUT", "/api/rules/{rule}"),
    ("POST", "/api/rules/{rule}/run"),
    ("PUT", "/api/settings"),
    ("POST", "/api/library/1/mark-deletion"),
    ("POST", "/api/library/bulk/mark-deletion"),
    ("POST", "/api/library/1/protect"),
    ("PATCH", "/api/collections/1/protection"),
]


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize("depth", [101, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_problem(client, method, path, depth):
    """100,000 levels were a RecursionError (500) on every JSON endpoint."""
    if "{rule}" in path:
        rule = client.post("/api/rules", json=RULE).json["data"]["id"]
        path = path.format(rule=rule)
    for body in (
        nested(depth),
        json.dumps({"ids": [1], "x": 0})[:-1] + f', "y": {nested(depth)}}}',
    ):
        answer = client.request(
            method, path, body=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, body[:40]
        assert answer.json["error"] == "body: JSON nested more than 100 levels deep"
        assert answer.json["details"][0]["field"] == "body"


def test_json_up_to_the_depth_limit_is_parsed(client):
    # 100 levels: the body, then 99 lists
    answer = client.post("/api/rules/preview", json={**RULE, "libraries": json.loads(nested(99))})
    assert answer.status_code == 400 and answer.json["details"][0]["field"] == "libraries"


def test_a_condition_tree_sent_as_json_text_is_bounded_too(client):
    body = {"name": "Deep", "mediaType": "movie", "conditions": nested(100_000)}
    answer = client.post("/api/rules/preview", json=body)
    assert answer.status_code == 400
    assert answer.json["error"] == "conditions: JSON nested more than 100 levels deep"


def test_malformed_json_is_a_400_naming_the_body(client):
    answer = client.request(
        "POST", "/api/rules", body='{"name": ', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400 and answer.json["error"].startswith("body: invalid JSON")


@pytest.mark.parametrize(
    ("setting", "value", "range_"),
    [
        ("reminder_days", int("9" * 331), "from 0 to 36500"),
        ("reminder_days", 36_501, "from 0 to 36500"),
        ("default_grace_days", 10**20, "from 0 to 36500"),
        ("max_attempts", 101, "from 0 to 100"),
        ("max_deletions_per_run", 10**7, "from 0 to 1000000"),
        ("max_gb_per_run", 10**18, "from 0 to 1000000000"),
    ],
)
def test_settings_out_of_range_are_400s_naming_the_setting_and_range(
    client, setting, value, range_
):
    """A 331-digit reminder_days was saved, and every reminders job then failed."""
    answer = client.request("PUT", "/api/settings", json={setting: value})
    assert answer.status_code == 400
    assert answer.json["error"].startswith(f"{setting}: ") and range_ in answer.json["error"]
    assert answer.json["details"][0]["field"] == setting
    assert client.get("/api/settings").json["data"][setting] != value


def test_settings_at_the_ends_of_their_range_are_saved(client):
    ends = {"reminder_days": 36_500, "max_attempts": 100, "max_gb_per_run": 10**9}
    answer = client.request("PUT", "/api/settings", json=ends)
    assert answer.status_code == 200
    assert {k: answer.json["data"][k] for k in ends} == ends


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/library", "page=1e300"),
        ("/api/library", "page=2147483648"),
        ("/api/queue", "page=1e300&limit=10"),
        ("/api/queue", "page=99999999999999999999"),
        ("/api/activity", "limit=1e300"),
    ],
)
def test_query_numbers_out_of_range_are_400s_naming_the_parameter(client, path, query):
    """`page=1e300` was echoed back."""
    answer = client.get(path, query_string=query)
    name = query.split("=")[0]
    assert answer.status_code == 400
    assert answer.json["details"][0]["field"] == name
    assert "between 1 and" in answer.json["error"]


@pytest.mark.parametrize(
    "ids, problem",
    [
        ([10**30], "expected int <= 9223372036854775807 (at ids[0])"),
        ([1, -1], "expected int >= 0 (at ids[1])"),
        ([2**63], "expected int <= 9223372036854775807 (at ids[0])"),
        ([1.5], "expected int, got float (at ids[0])"),
        ([], "expected array of length >= 1"),
        ("1", "expected array, got str"),
    ],
)
def test_item_ids_in_a_body_are_bounded(client, ids, problem):
    answer = client.post("/api/library/bulk/mark-deletion", json={"ids": ids})
    assert answer.status_code == 400
    assert answer.json["details"] == [{"field": "ids", "message": problem}]


def test_a_required_field_left_out_is_named(client):
    answer = client.post("/api/library/bulk/mark-deletion", json={"gracePeriodDays": 1})
    assert answer.status_code == 400 and answer.json["error"] == "ids: is required"


def test_an_integral_decimal_item_id_is_an_id(client):
    """JSON Schema's integers include 2.0: schemathesis sent it, and it was refused."""
    answer = client.post("/api/library/bulk/mark-deletion", json={"ids": [2.0, 9e18]})
    assert answer.status_code == 200
    assert {s["id"] for s in answer.json["data"]["skipped"]} == {2, 9 * 10**18}
