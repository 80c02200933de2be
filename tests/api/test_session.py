"""A request is one unit of work: what it wrote is kept when it succeeds and undone when it
fails (no half-written state), and a resource that commits at steps of its own runs outside."""

from __future__ import annotations

import falcon
import falcon.testing
import pytest
from pony.orm import db_session
from pony.orm.core import local

from prunerr.api import errors
from prunerr.api.session import RequestSession
from prunerr.store import settings


class Writes:
    """Saves two settings, then fails when the request asks it to."""

    def __init__(self, store):
        self.store = store

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        settings.save(self.store, {"first": 1})
        settings.save(self.store, {"second": 2})
        if req.get_param_as_bool("fail"):
            raise errors.ApiError(409, "refused after writing")
        errors.ok(resp, "saved")


class OwnSessions:
    own_sessions = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        errors.ok(resp, local.db_session is not None)


@pytest.fixture
def client(store):
    app = falcon.App(middleware=[RequestSession()])
    errors.install(app)
    app.add_route("/writes", Writes(store))
    app.add_route("/own", OwnSessions())
    return falcon.testing.TestClient(app)


def saved(store) -> dict:
    with db_session:
        return settings.saved(store, ("first", "second"))


def test_a_request_that_fails_after_writing_leaves_nothing_written(client, store):
    answer = client.simulate_post("/writes", params={"fail": "true"})
    assert answer.status_code == 409 and saved(store) == {}


def test_a_request_that_succeeds_keeps_all_it_wrote(client, store):
    assert client.simulate_post("/writes").status_code == 200
    assert saved(store) == {"first": 1, "second": 2}


def test_a_resource_with_sessions_of_its_own_runs_outside_the_requests(client):
    assert client.simulate_get("/own").json["data"] is False
    assert local.db_session is None  # and no request leaves one open on its thread
