"""`prunerr queue list|process` and `prunerr evaluate`: the queue and rule runs from a shell
(or cron), through the same services as the scheduled jobs."""

from __future__ import annotations

import json
import logging
import sys

from pony.orm import db_session

from prunerr.activity import Actor
from prunerr.app import Prunerr
from prunerr.queue import Queue

ACTOR = Actor("user", "command line")


def cmd_list(args) -> int:
    app = Prunerr.from_environment()
    now = app.clock()
    with db_session:
        entries = Queue(app.store).entries()
    for e in sorted(entries, key=lambda e: e.delete_after):
        print(
            f"{e.id:>6} {e.state:<10} {e.days_remaining(now):>3}d {e.action:<22} "
            f"{e.size / 1e9:>8.1f} GB  {e.title}"
        )
    print(f"{len(entries)} queued")
    return 0


def cmd_process(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    app = Prunerr.from_environment()
    report = app.processor.process(
        force=args.force, dry_run=True if args.dry_run else None, actor=ACTOR
    )
    summary = report.as_dict()
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"deleted {summary['deleted']}, failed {summary['failed']}, skipped "
            f"{summary['skipped']}, deferred {summary['deferred']}; freed "
            f"{summary['freedSpaceFormatted']}{' (dry run)' if report.dry_run else ''}"
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
        line = run.as_dict()
        state = "STOPPED by the circuit breaker" if run.tripped else f"queued {run.queued}"
        print(
            f"{line['name']}: {state}, matched {run.matched}, protected {run.protected}, "
            f"unknown {run.unknown}, released {run.released}"
        )
    return 0


def register(commands) -> None:
    queue = commands.add_parser("queue", help="the deletion queue")
    sub = queue.add_subparsers(dest="queue_command", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="the live entries, soonest first")
    listing.set_defaults(handler=cmd_list)
    process = sub.add_parser("process", help="delete what is past its grace period now")
    process.add_argument("--force", action="store_true", help="ignore grace periods")
    process.add_argument("--dry-run", action="store_true", help="record, change nothing")
    process.add_argument("--format", choices=("text", "json"), default="text")
    process.set_defaults(handler=cmd_process)
    evaluate = commands.add_parser(
        "evaluate", help="evaluate delete rules now and queue their matches"
    )
    evaluate.add_argument("rules", nargs="*", help="rule ids (default: the scheduled ones)")
    evaluate.add_argument(
        "--confirm", action="store_true", help="queue even past the circuit breaker"
    )
    evaluate.set_defaults(handler=cmd_evaluate)
