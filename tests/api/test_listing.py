"""A listing answered as it is encoded (`ok_listing`, what `GET /api/queue` uses): one JSON
document in the original's envelope (the items as `data`, what is beside them next to it),
however many parts its items take, with what is beside the items worked out after them."""

from __future__ import annotations

import falcon
import falcon.testing
import pytest

from prunerr.api.errors import ok_listing


class Listing:
    def __init__(self, count: int):
        self.count = count

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        sent = []

        def items():
            for n in range(self.count):
                sent.append(n)
                yield {"id": n, "title": f"Item {n} — ü"}

        # what is beside the items is worked out once they are sent (GET /api/queue counts them)
        ok_listing(resp, items(), lambda: {"total": len(sent), "summary": {"dryRun": False}})


@pytest.mark.parametrize("count", [0, 1, 499, 500, 501, 1_234])
def test_a_listing_of_any_length_is_one_document_in_the_envelope(count):
    app = falcon.App()
    app.add_route("/listing", Listing(count))
    result = falcon.testing.TestClient(app).simulate_get("/listing")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/json")
    assert result.json == {
        "success": True,
        "data": [{"id": n, "title": f"Item {n} — ü"} for n in range(count)],
        "total": count,
        "summary": {"dryRun": False},
    }
