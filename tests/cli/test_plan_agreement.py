"""One plan: `prunerr rules plan`, the API's preview and a run agree on what a rule would queue,
on SQLite and PostgreSQL, with a live entry, a deletion the library still lists, a collection
protected after the API read the library, and a protect rule created through the API."""

from __future__ import annotations

import json

import falcon.testing
import pytest
from pony.orm import db_session

from prunerr.api import create_app
from prunerr.cli import main
from prunerr.queue import QueueOptions
from prunerr.store.activity import USER

pytestmark = pytest.mark.slow


WHEN = "size > 1 MB"
BY_HAND = QueueOptions("delete_files_only", grace_days=3)


def test_the_cli_plan_the_preview_and_a_run_queue_the_same_items(synced, capsys):
    app = synced
    movies = sorted(
        (i for i in app.library.snapshot().items if i.fields["type"] == "movie" and i.size > 2e6),
        key=lambda i: i.id,
    )
    queued, deleted, in_collection, ruled_out = movies[:4]
    assert len(movies) > 8
    (app.rules_dir / "large.yaml").write_text(f"name: Large\nmedia: movie\nwhen: {WHEN}\n")
    assert len(app.evaluator.queue_by_hand([queued.id, deleted.id], BY_HAND, USER).queued) == 2
    with db_session:
        app.store.execute(
            "UPDATE queue_entry SET state='deleted' WHERE item=? AND state='queued'",
            (deleted.id,),
        )
        app.store.execute(
            "UPDATE item SET collections=? WHERE id=?", ('["Keepers"]', in_collection.id)
        )
    app.library.invalidate()
    api = app.api()
    client = falcon.testing.TestClient(create_app(api))
    headers = {"X-Api-Key": api.keys.current()}

    def post(path: str, body: dict) -> dict:
        result = client.simulate_post(path, json=body, headers=headers)
        assert result.status_code in (200, 201), result.json
        return result.json["data"]

    protect = {"name": "Keep one", "mediaType": "movie", "kind": "protect"}
    post("/api/rules", {**protect, "when": f"title == {json.dumps(ruled_out.title)}"})
    post("/api/rules/preview", {"name": "Large", "mediaType": "movie", "when": WHEN})  # reads
    with db_session:  # after the API read the library: its snapshot does not know
        app.store.execute(
            "INSERT INTO collection (title, protected, synced_at, created_at) "
            "VALUES ('Keepers', TRUE, 0, 0)"
        )

    preview = post("/api/rules/preview", {"name": "Large", "mediaType": "movie", "when": WHEN})
    assert main(["rules", "plan", "large", "--format", "json", "--explain", "100000"]) == 0
    (cli,) = json.loads(capsys.readouterr().out)["rules"]
    app.book.reload()
    (run,) = app.evaluator.run(confirm=True)

    assert (cli["alreadyQueued"], preview["alreadyPending"], run.already_queued) == (1, 1, 1)
    assert (cli["deletedBefore"], preview["wouldSkipDeleted"], run.deleted_before) == (1, 1, 1)
    assert cli["protected"] == preview["wouldSkipProtected"] == run.protected >= 2
    assert cli["wouldQueue"] == preview["wouldQueue"] == run.queued > 0
    with db_session:  # the run's entries (those queued by hand have no rule)
        entries = app.store.read(
            "SELECT item FROM queue_entry WHERE state='queued' AND rule IS NOT NULL"
        )
    assert {e["id"] for e in cli["explained"]} == {item for (item,) in entries}
    assert not {queued.id, deleted.id, in_collection.id, ruled_out.id} & {
        e["id"] for e in cli["explained"]
    }


def test_a_broken_protect_rule_created_through_the_api_stops_deletion_in_the_plan(synced, capsys):
    """It may be what shields an item: the CLI plan says deletion is stopped, as a run would."""
    app = synced
    (app.rules_dir / "large.yaml").write_text(f"name: Large\nmedia: movie\nwhen: {WHEN}\n")
    broken = "name: Keep\nmedia: movie\nkind: protect\nwhen: no_such_field > 1\n"
    with db_session:
        app.store.execute(
            "INSERT INTO rule (source, path, name, definition, created_at, updated_at) "
            "VALUES ('api', 'api/77', 'Keep', ?, 0, 0)",
            (broken,),
        )
    assert main(["rules", "plan", "--format", "json"]) == 0
    out = capsys.readouterr()
    planned = json.loads(out.out)
    assert planned["deletionStopped"] is True
    assert [b["id"] for b in planned["broken"]] == ["api/77"]
    assert "deletion is stopped" in out.err
