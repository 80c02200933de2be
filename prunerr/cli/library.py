"""`prunerr sync`, `prunerr protect|unprotect`, `prunerr emulate` and `prunerr plugins`."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from pony.orm import db_session

from prunerr import emulation  # its names load on use: `emulate` alone needs them
from prunerr.app import Prunerr
from prunerr.dsl.units import DAY
from prunerr.emulation.synthetic import NOW, SIZES
from prunerr.planning import protection
from prunerr.plugins import PluginHost
from prunerr.queue import Queue
from prunerr.store.items import LibraryItem
from prunerr.sync import SyncService

from . import ACTOR, pick

# the present of an emulated library unless --now says: a fixed midnight, so the outputs a
# document shows are the same any day (and its dates whole days)
EMULATED_NOW = NOW // DAY * DAY


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp(text: str) -> int:
    """An ISO date or date and time (UTC unless it says), or `today` (its midnight, UTC)."""
    if text == "today":
        return int(time.time()) // DAY * DAY
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r}") from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def cmd_sync(args) -> int:
    app = Prunerr.from_environment()
    sync = SyncService(
        app.store, app.services, watch_source=app.config["watch_history"], full=args.full
    )
    configured = sorted(s.name for s in app.services.services)
    unknown = [name for name in args.source or () if name not in configured]
    if unknown:
        close = difflib.get_close_matches(unknown[0], configured, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        print(
            f"prunerr: no configured service named {unknown[0]!r}: {hint}"
            f"configured: {', '.join(configured) or 'none'}",
            file=sys.stderr,
        )
        return 2
    report = sync.run(args.source or None)
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for result in report.results:
            state = "ok" if result.ok else "FAILED"
            print(
                f"{result.source:<32} {state:<7} {result.records:>9} "
                f"{'' if result.ok else result.message}"
            )
        print(f"sync {'complete' if report.ok else 'partial'} in {report.seconds:.1f}s")
    return 0 if report.ok else 1


def _library_item(app: Prunerr, text: str) -> LibraryItem | None:
    """The synced item ITEM names: an item id, or a piece of a movie's or a show's title."""
    snapshot = app.library.snapshot(fresh=True)
    return pick(
        text,
        [i for i in snapshot.items if i.fields["type"] in ("movie", "show")],
        by_id=snapshot.by_id.get,
        names=lambda i: (i.title, i.display_title),
        describe=lambda i: f"{i.id:>6}  {i.fields['type']:<7}  {i.display_title}",
        what="library item",
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def cmd_protect(args) -> int:
    app = Prunerr.from_environment()
    item = _library_item(app, args.item)
    if item is None:
        return 1
    reason = args.reason or "protected by a user"
    ended = protection.protect(app.library, Queue(app.store, app.clock), item.id, reason, ACTOR)
    if ended is None:
        print(f"prunerr: item {item.id} is no longer in the library", file=sys.stderr)
        return 1
    kind = item.fields["type"]
    print(f"protected {kind} {item.id}: {item.display_title} ({reason})")
    under = [i for i in app.library.snapshot().items if item.id in i.ancestors]
    if under:
        counts = {t: sum(i.fields["type"] == t for i in under) for t in ("season", "episode")}
        print(
            "  and with it "
            + " and ".join(_plural(n, t) for t, n in counts.items() if n)
            + " under it"
        )
    if item.ancestors:
        print(f"  its {'season and show' if kind == 'episode' else 'show'} are kept too")
    for entry in ended:
        print(f"  queue entry {entry.id} ended as protected: {entry.title}")
    if not ended:
        print("  no queued entry ended")
    return 0


def cmd_unprotect(args) -> int:
    app = Prunerr.from_environment()
    item = _library_item(app, args.item)
    if item is None:
        return 1
    if not app.library.set_protection(item.id, False, None, ACTOR):
        print(f"prunerr: item {item.id} is no longer in the library", file=sys.stderr)
        return 1
    print(f"unprotected {item.fields['type']} {item.id}: {item.display_title}")
    with db_session:
        still = Queue(app.store).protected_items([item.id])
    if still:
        print(
            "  still protected through a collection it is in, or its show or season, or a "
            "season or episode it holds"
        )
    else:
        print("  rules may queue it again")
    return 0


def cmd_emulate(args) -> int:
    host = PluginHost.create()
    specs = host.emulators().specs
    wanted = args.services or sorted(specs)
    unknown = [s for s in wanted if s not in specs]
    if unknown:
        print(
            f"prunerr: no emulator for {unknown[0]!r} (have: {', '.join(sorted(specs))})",
            file=sys.stderr,
        )
        return 2
    # the same library for the same size, seed and --now, whatever the day it is served on
    library = emulation.generate(args.size, args.seed, now=args.now)
    faults = emulation.Faults(latency_ms=args.latency, error_rate=args.fault_rate, seed=args.seed)
    running, out = [], {}

    def print_counts(*_):  # SIGUSR1, and at exit: requests served so far, per service
        counts = {name: e.request_total for name, e in zip(wanted, running, strict=False)}
        print(json.dumps({"requests": counts}), flush=True)

    # before the emulators are announced, so whoever read the announcement can stop them; Ctrl-C
    # stops them even where they were started with SIGINT ignored (`nohup ... &`)
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, print_counts)
    try:
        for offset, name in enumerate(wanted):
            key = f"{name}-key-{args.seed:04d}".ljust(32, "0")[:32]
            emulator = specs[name].factory(library, key, faults)
            port = args.port_base + offset if args.port_base else 0
            url = emulator.start(port=port)
            running.append(emulator)
            out[name] = {"url": url, "key": key, "env": specs[name].env(url, key)}
        if args.env_file:  # written whole once every emulator is up, for `set -a; . FILE`
            lines = [f"{k}={v}\n" for s in out.values() for k, v in s["env"].items()]
            partial = Path(args.env_file + ".partial")
            partial.write_text("".join(lines))
            partial.replace(args.env_file)
        # Ctrl-C from the moment the announcement may have been read is a clean stop
        with contextlib.suppress(KeyboardInterrupt):
            print(json.dumps(out), flush=True)
            stop.wait()
        print_counts()
    finally:
        for emulator in running:
            emulator.stop()
    return 0


def cmd_plugins(args) -> int:
    infos = PluginHost.create().describe()
    if args.format == "json":
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return 0
    for info in infos:
        services = (
            ", ".join(
                f"{kind} ({', '.join(roles) or '-'})" for kind, roles in info.services.items()
            )
            or "-"
        )
        print(f"{info.name} {info.version}")
        print(f"  services: {services}")
        print(
            f"  fields: {', '.join(info.fields) or '-'}; functions: "
            f"{', '.join(info.functions) or '-'}; emulators: {', '.join(info.emulators) or '-'}"
        )
    return 0


def register(commands) -> None:
    p = commands.add_parser(
        "sync",
        help="sync the library from the configured services",
        epilog="prunerr sync\nprunerr sync --source radarr --full\nprunerr sync --format json",
    )
    p.add_argument(
        "--source", action="append", metavar="NAME", help="only this service (repeatable)"
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="list every item again (otherwise only what changed, and in full daily)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_sync)

    p = commands.add_parser(
        "emulate",
        help="run emulators of the upstream services",
        epilog="prunerr emulate --size XS --env-file emulators.env\nprunerr emulate plex radarr",
    )
    p.add_argument("services", nargs="*", metavar="SERVICE")
    p.add_argument("--size", choices=sorted(SIZES), default="S")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--now",
        type=_timestamp,
        default=EMULATED_NOW,
        metavar="DATE",
        help=f"the library's present: its dates lie before it (default {_iso(EMULATED_NOW)}); "
        "`today` is the current day",
    )
    p.add_argument("--port-base", type=int, default=0, help="first port (default: any free)")
    p.add_argument("--fault-rate", type=float, default=0.0, help="share of requests failing 5xx")
    p.add_argument("--latency", type=float, default=0.0, metavar="MS")
    p.add_argument(
        "--env-file", metavar="PATH", help="also write the services' environment variables to PATH"
    )
    p.set_defaults(handler=cmd_emulate)

    p = commands.add_parser(
        "plugins",
        help="list loaded plugins",
        epilog="prunerr plugins\nprunerr plugins --format json",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_plugins)

    item_help = "#ID, or a piece of a movie's or a show's title (seasons, episodes: #ID)"
    p = commands.add_parser(
        "protect",
        help="protect a library item (a show with its seasons and episodes) from deletion",
        epilog='prunerr protect "blade runner" --reason "a classic"\nprunerr protect 1234',
    )
    p.add_argument("item", metavar="ITEM", help=item_help)
    p.add_argument("--reason", metavar="TEXT", help="why (default: protected by a user)")
    p.set_defaults(handler=cmd_protect)

    p = commands.add_parser(
        "unprotect",
        help="remove a library item's protection",
        epilog='prunerr unprotect "blade runner"\nprunerr unprotect 1234',
    )
    p.add_argument("item", metavar="ITEM", help=item_help)
    p.set_defaults(handler=cmd_unprotect)
