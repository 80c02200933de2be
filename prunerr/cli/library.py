"""`prunerr sync`, `prunerr emulate` and `prunerr plugins`."""

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

from prunerr.app import Prunerr
from prunerr.emulation import Faults, generate
from prunerr.emulation.synthetic import DAY, NOW, SIZES
from prunerr.plugins import PluginHost
from prunerr.sync import SyncService

# the present of an emulated library unless --now says: a fixed midnight, so the outputs a
# document shows are the same any day (and its dates whole days)
EMULATED_NOW = NOW // DAY * DAY


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp(text: str) -> int:
    """An ISO date or date and time (UTC unless it says), or `today` (its midnight, UTC)."""
    if text == "today":
        return int(time.time()) // 86400 * 86400
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
    library = generate(args.size, args.seed, now=args.now)
    faults = Faults(latency_ms=args.latency, error_rate=args.fault_rate, seed=args.seed)
    running, out = [], {}
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
        print(json.dumps(out), flush=True)

        def print_counts(*_):  # SIGUSR1, and at exit: requests served so far, per service
            counts = {name: e.request_total for name, e in zip(wanted, running, strict=False)}
            print(json.dumps({"requests": counts}), flush=True)

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGUSR1, print_counts)
        with contextlib.suppress(KeyboardInterrupt):
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
    p = commands.add_parser("sync", help="sync the library from the configured services")
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

    p = commands.add_parser("emulate", help="run emulators of the upstream services")
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

    p = commands.add_parser("plugins", help="list loaded plugins")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_plugins)
