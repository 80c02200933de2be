"""`prunerr queue list|process|keep|cancel` and `prunerr evaluate`: the queue and rule runs
from a shell (or cron), through the same services as the API and the scheduled jobs."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pony.orm import db_session

from prunerr import wire
from prunerr.app import Prunerr
from prunerr.dsl.units import format_size
from prunerr.planning import protection
from prunerr.queue import Queue
from prunerr.store.queue_entries import LIVE, Entry

from . import ACTOR, pick, print_table


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _due(days: int) -> str:
    return "due" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"


def _rows(app: Prunerr, entries: list[Entry], now: float) -> list[dict]:
    """The entries as `queue list --format json` prints them (stable keys)."""
    zone = ZoneInfo(str(app.config["tz"]))
    rows = []
    for e in entries:
        book_rule = app.book.get(e.rule) if e.rule is not None else None
        rows.append(
            {
                "id": e.id,
                "itemId": e.item,
                "title": e.title,
                "ruleId": e.rule,
                "rule": book_rule.rule.name if book_rule else None,
                "action": e.action,
                "size": e.size,
                "queuedAt": _iso(e.queued_at),
                "deleteAt": _iso(e.delete_after),
                "dueDate": datetime.fromtimestamp(e.delete_after, zone).date().isoformat(),
                "daysRemaining": e.days_remaining(now),
                "state": e.state,
            }
        )
    return rows


def cmd_list(args) -> int:
    app = Prunerr.from_environment()
    now = app.clock()
    with db_session:
        entries = sorted(Queue(app.store).entries(LIVE), key=lambda e: (e.delete_after, e.id))
    rows = _rows(app, entries, now)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("the queue is empty")
        return 0
    if app.config["dry_run"]:
        print("dry run: nothing is deleted until it is off (`prunerr settings set dry_run false`)")
    print_table(
        ("ID", "ITEM", "RULE", "ACTION", "SIZE", "DUE", "STATE"),
        (
            (
                r["id"],
                r["title"],
                r["rule"] or ("by hand" if r["ruleId"] is None else f"rule {r['ruleId']}"),
                r["action"],
                format_size(r["size"]),
                f"{r['dueDate']} ({_due(r['daysRemaining'])})",
                r["state"],
            )
            for r in rows
        ),
    )
    total = sum(r["size"] for r in rows)
    print(f"{len(rows)} in the queue, {format_size(total)}")
    return 0


def _entry(queue: Queue, text: str) -> Entry | None:
    """The queued entry ITEM names (an entry id, or a piece of a live entry's title); None, said
    on stderr, when there is none, several, or it is not queued."""
    entry = pick(
        text,
        queue.entries(LIVE),
        by_id=queue.entry,
        names=lambda e: (e.title, e.item_title or ""),
        describe=lambda e: f"{e.id:>6}  {e.title}  ({e.state})",
        what="queue entry",
    )
    if entry is not None and entry.state != "queued":
        print(
            f"prunerr: queue entry {entry.id} ({entry.title}) is {entry.state}, not queued",
            file=sys.stderr,
        )
        return None
    return entry


def cmd_cancel(args) -> int:
    app = Prunerr.from_environment()
    with db_session:
        queue = Queue(app.store, app.clock)
        entry = _entry(queue, args.item)
        if entry is None:
            return 1
        if not queue.cancel(entry.id, ACTOR):
            print(f"prunerr: queue entry {entry.id} is no longer queued", file=sys.stderr)
            return 1
    print(f"cancelled queue entry {entry.id}: {entry.title}")
    print(
        "a rule that still matches it may queue it again; "
        f"`prunerr queue keep {entry.id}` also protects it"
    )
    return 0


def cmd_keep(args) -> int:
    app = Prunerr.from_environment()
    queue = Queue(app.store, app.clock)
    with db_session:
        entry = _entry(queue, args.item)
        if entry is None:
            return 1
        if not queue.cancel(entry.id, ACTOR, "kept by a user: cancelled and protected"):
            print(f"prunerr: queue entry {entry.id} is no longer queued", file=sys.stderr)
            return 1
    reason = args.reason or "kept from the queue"
    ended = protection.protect(app.library, queue, entry.item, reason, ACTOR)
    print(f"cancelled queue entry {entry.id}: {entry.title}")
    if ended is None:
        print(
            f"prunerr: item {entry.item} is no longer in the library: not protected",
            file=sys.stderr,
        )
        return 1
    print(f"protected item {entry.item} ({reason}): rules will not queue it again")
    for other in ended:
        print(f"  queue entry {other.id} ended as protected: {other.title}")
    return 0


def cmd_process(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    app = Prunerr.from_environment()
    report = app.processor.process(
        force=args.force, dry_run=True if args.dry_run else None, actor=ACTOR
    )
    if args.format == "json":
        print(json.dumps(wire.plain(wire.process_report(report)), indent=2))
    else:
        print(
            f"deleted {len(report.deleted)}, failed {len(report.failed)}, skipped "
            f"{len(report.skipped)}, deferred {report.deferred}; freed "
            f"{format_size(report.freed)}{' (dry run)' if report.dry_run else ''}"
        )
    return 1 if report.failed else 0


def cmd_evaluate(args) -> int:
    app = Prunerr.from_environment()
    ids = None
    if args.rules:
        by_path = {b.rule.id: b.id for b in app.book.contents().rules.values()}
        unknown = [r for r in args.rules if r not in by_path]
        if unknown:
            print(f"prunerr: no valid rule with id {unknown[0]!r}")
            return 1
        ids = [by_path[r] for r in args.rules]
    for broken in app.book.contents().broken.values():
        print(f"skipped {broken.id}: it does not load: {broken.message}", file=sys.stderr)
    for run in app.evaluator.run(ids, actor=ACTOR, confirm=args.confirm):
        state = "STOPPED by the circuit breaker" if run.tripped else f"queued {run.queued}"
        print(
            f"{run.name}: {state}, matched {run.matched}, protected {run.protected}, "
            f"unknown {run.unknown}, released {run.released}"
        )
    return 0


def register(commands) -> None:
    queue = commands.add_parser(
        "queue",
        help="the deletion queue",
        epilog="prunerr queue list\nprunerr queue keep 12\nprunerr queue process --dry-run",
    )
    sub = queue.add_subparsers(dest="queue_command", metavar="COMMAND", required=True)
    listing = sub.add_parser(
        "list",
        help="the live entries, soonest first",
        epilog="prunerr queue list\nprunerr queue list --format json",
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(handler=cmd_list)
    keep = sub.add_parser(
        "keep",
        help="take an entry out of the queue and protect its item, so no rule queues it again",
        epilog='prunerr queue keep 12\nprunerr queue keep "blade runner" --reason "a classic"',
    )
    keep.add_argument("item", metavar="ITEM", help="#ID (an entry id), or a piece of its title")
    keep.add_argument("--reason", metavar="TEXT", help="why it is kept (shown with the item)")
    keep.set_defaults(handler=cmd_keep)
    cancel = sub.add_parser(
        "cancel",
        help="take an entry out of the queue (a rule may queue its item again)",
        epilog='prunerr queue cancel 12\nprunerr queue cancel "blade runner"',
    )
    cancel.add_argument("item", metavar="ITEM", help="#ID (an entry id), or a piece of its title")
    cancel.set_defaults(handler=cmd_cancel)
    process = sub.add_parser(
        "process",
        help="delete what is past its grace period now",
        epilog="prunerr queue process --dry-run\nprunerr queue process --format json",
    )
    process.add_argument("--force", action="store_true", help="ignore grace periods")
    process.add_argument("--dry-run", action="store_true", help="record, change nothing")
    process.add_argument("--format", choices=("text", "json"), default="text")
    process.set_defaults(handler=cmd_process)
    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate delete rules now and queue their matches",
        epilog="prunerr evaluate\nprunerr evaluate movies/never-watched-90d --confirm",
    )
    evaluate.add_argument("rules", nargs="*", help="rule ids (default: the scheduled ones)")
    evaluate.add_argument(
        "--confirm", action="store_true", help="queue even past the circuit breaker"
    )
    evaluate.set_defaults(handler=cmd_evaluate)
