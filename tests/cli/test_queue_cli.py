"""`prunerr queue list|keep|cancel` against a synced emulated library, on SQLite and
PostgreSQL: what is listed, and what keeping and cancelling leave in the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pony.orm import db_session

from prunerr.cli import main
from prunerr.queue import Queue, QueueOptions
from prunerr.store.activity import USER

pytestmark = pytest.mark.slow


BY_HAND = QueueOptions("delete_files_only", grace_days=3)


def movies(app, count: int) -> list:
    """Movies with distinct titles, none a part of another's."""
    chosen: list = []
    for item in sorted(app.library.snapshot().items, key=lambda i: i.id):
        title = item.title.casefold()
        if item.fields["type"] != "movie" or not title:
            continue
        others = [i for i in app.library.snapshot().items if i is not item]
        if any(title in o.title.casefold() or title in o.display_title.casefold() for o in others):
            continue
        chosen.append(item)
        if len(chosen) == count:
            return chosen
    raise AssertionError("not enough movies with titles of their own")


def queue(app, *items) -> list[int]:
    result = app.evaluator.queue_by_hand([i.id for i in items], BY_HAND, USER)
    assert not result.skipped and not result.already
    return result.queued


def entry_state(app, entry_id: int) -> str:
    with db_session:
        return Queue(app.store).entry(entry_id).state


def protected(app, item_id: int) -> bool:
    with db_session:
        return bool(Queue(app.store).protected_items([item_id]))


def test_an_empty_queue_says_so(synced, capsys):
    assert main(["queue", "list"]) == 0
    assert capsys.readouterr().out == "the queue is empty\n"
    assert main(["queue", "list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_queue_list_shows_every_live_entry_with_its_rule_and_due_date(synced, capsys):
    app = synced
    ruled, by_hand = movies(app, 2)
    (app.rules_dir / "one-movie.yaml").write_text(
        "name: That one movie\nmedia: movie\ngrace_period: 1d\n"
        f"deletion_action: unmonitor_only\nwhen: title == {json.dumps(ruled.title)}\n"
    )
    assert main(["evaluate", "one-movie"]) == 0
    assert "That one movie: queued 1" in capsys.readouterr().out
    (hand_entry,) = queue(app, by_hand)

    assert main(["queue", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["itemId"] for r in rows] == [ruled.id, by_hand.id]  # soonest first
    assert all(
        set(r)
        == {
            "id",
            "itemId",
            "title",
            "ruleId",
            "rule",
            "action",
            "size",
            "queuedAt",
            "deleteAt",
            "dueDate",
            "daysRemaining",
            "state",
        }
        for r in rows
    )
    rule_row, hand_row = rows
    assert rule_row["rule"] == "That one movie" and rule_row["action"] == "unmonitor_only"
    assert rule_row["daysRemaining"] == 1 and rule_row["state"] == "queued"
    assert hand_row["id"] == hand_entry and hand_row["rule"] is None
    assert hand_row["ruleId"] is None and hand_row["daysRemaining"] == 3
    assert hand_row["title"] == by_hand.display_title and hand_row["size"] == by_hand.size
    with db_session:
        deadline = Queue(app.store).entry(hand_entry).delete_after
    assert hand_row["dueDate"] == datetime.fromtimestamp(deadline, UTC).date().isoformat()

    assert main(["queue", "list"]) == 0
    header, first, second, total = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "ITEM", "RULE", "ACTION", "SIZE", "DUE", "STATE"]
    assert "That one movie" in first and "(in 1 day)" in first
    assert "by hand" in second and "(in 3 days)" in second and "delete_files_only" in second
    assert second.split()[0] == str(hand_entry) and by_hand.display_title in second
    assert total.startswith("2 in the queue, ")


def test_the_due_date_is_the_configured_time_zones(synced, capsys, monkeypatch):
    (movie,) = movies(synced, 1)
    (entry_id,) = queue(synced, movie)
    with db_session:
        deadline = Queue(synced.store).entry(entry_id).delete_after
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11
        monkeypatch.setenv("TZ", zone)
        assert main(["queue", "list", "--format", "json"]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        local = datetime.fromtimestamp(deadline, ZoneInfo(zone)).date()
        assert row["dueDate"] == local.isoformat()


def test_cancel_ends_the_entry_only_and_says_a_rule_may_queue_it_again(synced, capsys):
    (movie,) = movies(synced, 1)
    (entry_id,) = queue(synced, movie)
    assert main(["queue", "cancel", str(entry_id)]) == 0
    out = capsys.readouterr().out
    assert f"cancelled queue entry {entry_id}" in out and "may queue it again" in out
    assert entry_state(synced, entry_id) == "cancelled"
    assert not protected(synced, movie.id)

    # it is no longer queued: a second cancel says so and changes nothing
    assert main(["queue", "cancel", str(entry_id)]) == 1
    assert f"queue entry {entry_id} " in (err := capsys.readouterr().err)
    assert "is cancelled, not queued" in err
    assert entry_state(synced, entry_id) == "cancelled"


def test_keep_by_title_cancels_the_entry_and_protects_the_item(synced, capsys):
    app = synced
    (movie,) = movies(app, 1)
    (entry_id,) = queue(app, movie)
    assert main(["queue", "keep", movie.title.upper(), "--reason", "a favourite"]) == 0
    out = capsys.readouterr().out
    assert f"cancelled queue entry {entry_id}" in out and "will not queue it again" in out
    assert entry_state(app, entry_id) == "cancelled"
    assert protected(app, movie.id)
    with db_session:
        reason = app.store.read("SELECT protection_reason FROM item WHERE id=?", (movie.id,))[0][0]
    assert reason == "a favourite"
    # and nothing queues it again
    again = app.evaluator.queue_by_hand([movie.id], BY_HAND, USER)
    assert again.skipped == {movie.id: "protected"}


def test_a_title_that_names_several_entries_lists_them_and_changes_nothing(synced, capsys):
    app = synced
    items = [i for i in app.library.snapshot().items if i.fields["type"] == "movie" and i.title]
    # a word in two titles, neither of which is just that word
    word, sharing = next(
        (w, s)
        for w in sorted({w.casefold() for i in items for w in i.title.split()})
        if len(s := [i for i in items if w in i.title.casefold()]) >= 2
        and all(i.title.casefold() != w for i in s)
    )
    entries = queue(app, *sharing)
    assert main(["queue", "keep", word]) == 1
    err = capsys.readouterr().err
    assert f"titles contain {word!r}" in err and "as #ID" in err
    assert all(f"{e:>6}  " in err for e in entries)
    assert [entry_state(app, e) for e in entries] == ["queued"] * len(entries)
    assert not any(protected(app, i.id) for i in sharing)


def test_a_title_that_names_nothing_fails_clearly(synced, capsys):
    assert main(["queue", "cancel", "no such title anywhere"]) == 1
    assert "nothing matches 'no such title anywhere'" in capsys.readouterr().err
    assert main(["queue", "keep", "999999"]) == 1
    assert "no queue entry has that id or a title containing it" in capsys.readouterr().err
