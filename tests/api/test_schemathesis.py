"""Schemathesis over every operation of the OpenAPI document, against the real app on a library
synced from the emulators: no server errors, and every status, content type, header and body as
the document says. SQLite only, to stay fast; the other API tests cover both backends."""

from __future__ import annotations

import pytest
import schemathesis
from falcon.testing import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from prunerr.api import create_app
from prunerr.api.openapi import document
from prunerr.app import Prunerr
from prunerr.jobs import create_huey
from prunerr.jobs.tasks import Tasks
from prunerr.plugins import PluginHost
from prunerr.store.database import open_store
from tests.api.conftest import Client
from tests.support import LIBRARY, REPO, emulated

pytestmark = pytest.mark.slow


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    ignored_auth,
]


class AppUnderTest:
    """The WSGI app the fixture builds; schemathesis holds this stand-in from import time, for
    the requests it sends itself (the unauthenticated probes of `ignored_auth`)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


APP = AppUnderTest()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The API over a synced SQLite library, the emulators up for the whole run (health checks,
    syncs and deletions reach them), the jobs in Huey's immediate mode."""
    tmp_path = tmp_path_factory.mktemp("schemathesis")
    store = open_store(f"sqlite:///{tmp_path / 'prunerr.db'}", tmp_path)
    host = PluginHost.create()
    try:
        with emulated(LIBRARY) as (env, _):
            config = host.load_config(
                {
                    **env,
                    "PRUNERR_DATA_DIR": str(tmp_path),
                    "PRUNERR_RULES_DIR": str(REPO / "rules.d"),
                }
            )
            services = host.services(config)
            for service in services.services:
                service.http.retries = 0
            prunerr = Prunerr(host, config, store=store, services=services)
            api = prunerr.api(tasks=Tasks(prunerr, create_huey(config, immediate=True)))
            APP.app = create_app(api)
            synced = TestClient(APP.app).simulate_post("/api/library/sync", headers=_auth(api))
            assert synced.status_code == 202
            yield api
    finally:
        APP.app = None
        store.disconnect()


def _auth(api) -> dict:
    # read the key per call: POST /api/settings/api-key/regenerate replaces it mid-run
    return {"X-Api-Key": api.keys.current()}


# The test sends the key itself; security parameters schemathesis made up (a malformed bearer
# token beside a valid X-Api-Key) would only test which alternative wins (tests/api/test_auth.py).
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"with-security-parameters": False},
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", "404", "409", "503"]}},
    }
)
# A rule's `when` is a program, a setting may be a cron expression or a time zone: no schema
# says which strings are valid, so schema-valid bodies may rightly be refused (400).
PROGRAMS = {
    "POST /api/rules",
    "POST /api/rules/preview",
    "PUT /api/rules/{rule_id}",
    "PUT /api/settings",
}
schema = schemathesis.openapi.from_dict(document(), config=CONFIG)
schema.app = APP


@schema.parametrize()
@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_document(case, api):
    checks = CHECKS
    if case.operation.label in PROGRAMS:
        checks = [c for c in CHECKS if c is not positive_data_acceptance]
    case.call_and_validate(headers=_auth(api), checks=checks)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/activity?page=334199191160432885760", None, "page"),
        ("GET", "/api/activity?eventTypes=a&eventTypes=b", None, "eventTypes"),
        ("GET", "/api/activity?search=a%00b", None, "search"),
        ("POST", "/api/library/1/mark-deletion", {"gracePeriodDays": 1e300}, "gracePeriodDays"),
        (
            "POST",
            "/api/library/bulk/mark-deletion",
            {"ids": [1], "resetOverseerr": None},
            "resetOverseerr",
        ),
        ("POST", "/api/library/1/protect", "null", "body"),
        (
            "POST",
            "/api/rules",
            {"name": "a\x00", "mediaType": "movie", "when": "size > 1 GiB"},
            "name",
        ),
        ("POST", "/api/rules", {"name": "a", "gracePeriodDays": 1e300}, "gracePeriodDays"),
    ],
)
def test_inputs_schemathesis_found_are_400s_naming_the_field(api, method, path, body, field):
    """Each was a 500, a 200 or a crash later on (a queue entry no one could list)."""
    client = Client(APP.app, api.keys.current())
    path, _, query = path.partition("?")
    kwargs = {"body": body} if isinstance(body, str) else {"json": body}
    answer = client.request(method, path, query_string=query, **kwargs)
    assert answer.status_code == 400
    assert answer.json["details"][0]["field"] == field


@pytest.mark.parametrize(
    "path",
    [
        "/api/collections/73832084203594474892296192",  # past the databases' ids
        "/api/library/%C2%B2",  # a digit to str.isdigit(), not to int()
        "/api/library/-1",
        "/api/library/plex-libraries/exclusions",  # the original's routes this API lacks
        "/api/queue/later",
        "/api/rules/1/flip",
    ],
)
def test_a_path_that_is_no_route_is_404_not_a_bad_id(api, path):
    client = Client(APP.app, api.keys.current()).client  # not checked against the document
    for method in ("GET", "POST", "DELETE"):
        answer = client.simulate_request(method, path, headers={"X-Api-Key": api.keys.current()})
        assert answer.status_code == 404, (method, answer.json)
        assert answer.json == {"success": False, "error": "Endpoint not found"}


def test_an_empty_or_integral_decimal_query_value_is_accepted(api):
    client = Client(APP.app, api.keys.current())
    assert client.get("/api/library", query_string="type=&limit=").status_code == 200
    assert client.get("/api/queue", query_string="limit=120.0").status_code == 200
