"""`prunerr demo`: the whole loop on emulated services, in one process. A generated library is
served by every upstream emulator and an emulated Discord (whose messages are printed); a fresh
database and job queue live in the data directory; the example rules are synced, evaluated,
queued and, once their grace period is over, really deleted on the emulators; then the API and
the jobs are served until Ctrl-C, which stops everything."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pony.orm import db_session

from prunerr import (
    emulation,  # its names load on use
    example_rules,
    wire,
)
from prunerr.app import Prunerr
from prunerr.config import settings
from prunerr.dsl.units import DAY, format_duration, format_size
from prunerr.emulation.synthetic import SIZES
from prunerr.planning.evaluation import RuleRun
from prunerr.planning.library_index import stats
from prunerr.plugins import PluginHost
from prunerr.queue import Queue
from prunerr.rules import Rule, load_rules
from prunerr.store import activity
from prunerr.store.activity import Actor

if TYPE_CHECKING:
    from prunerr.emulation import Emulator
    from prunerr.jobs.tasks import Tasks

# The API, the jobs and the WSGI server are imported where they are used, as in `serve`: every
# `prunerr` command builds the whole parser, and the others start in half the time without them.

DEMO = Actor("user", "prunerr demo")
RECEIVER = "discord"  # the notification receiver the demo starts and prints
EVERY_MINUTE = "* * * * *"  # queue processing while serving, so due entries go within a minute
GRACE_LINE = re.compile(r"^grace_period:.*$", re.MULTILINE)
EXAMPLES = 3  # titles shown per rule
FIELDS = 5  # fields shown per Discord message
MORE = re.compile(r"^  - …: and (\d+) more$")  # the last field of a long list (notify.listed)


def _stop(*_) -> None:
    """SIGTERM (and SIGHUP while serving) stop the demo like Ctrl-C."""
    raise KeyboardInterrupt


class _Out:
    """Output shared by the main thread and the emulated Discord's request threads. While
    `holding()`, Discord's messages wait so a step's own summary comes first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[str] | None = None

    def __call__(self, *lines: str) -> None:
        with self._lock:
            for line in lines:
                print(line)
            sys.stdout.flush()

    def section(self, title: str) -> None:
        self("", f"== {title}")

    def table(self, header: tuple, rows: list[tuple], indent: str = "  ") -> None:
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        self(
            *(
                indent + "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                for r in [header, *rows]
            )
        )

    def discord(self, text: str) -> None:
        """A message the emulated Discord received, its list of fields cut to a few; what is
        left out is counted, with the items the message itself counts in its last field."""
        lines, fields, hidden = [""], 0, 0
        for line in [*text.splitlines(), ""]:
            more = MORE.match(line)
            if line.startswith("  - "):
                fields += 1
                if fields > FIELDS or more:
                    hidden += int(more[1]) if more else 1
                    continue
            else:
                if hidden:  # the first line after the fields left out
                    lines.append(f"    - … and {hidden} more")
                fields = hidden = 0
            lines.append(f"  {line}")
        lines.pop()  # the blank line that ended the last list of fields
        with self._lock:
            if self._held is not None:
                self._held.extend(lines)
                return
        self(*lines)

    @contextlib.contextmanager
    def holding(self):
        with self._lock:
            self._held = []
        try:
            yield
        finally:
            with self._lock:
                held, self._held = self._held or [], None
            self(*held)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _days(days: float) -> str:
    return f"{days:g} day{'' if days == 1 else 's'}"


def _copy_rules(source: Path, target: Path, rules: list[Rule], grace: float | None) -> int:
    """Copy rules.d into the data directory; with `grace`, set the grace period of every delete
    rule to it, in the copy. Returns the number of rule files rewritten."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    if grace is None:
        return 0
    rewritten = 0
    line = f"grace_period: {grace:g}d  # set by `prunerr demo --grace {grace:g}`"
    for rule in rules:
        if rule.kind != "delete":
            continue
        file = target / Path(rule.path).resolve().relative_to(source.resolve())
        text = file.read_text(encoding="utf-8")
        text, found = GRACE_LINE.subn(line, text)
        if not found:
            text = text.rstrip("\n") + f"\n{line}\n"
        file.write_text(text, encoding="utf-8")
        rewritten += 1
    return rewritten


def _check_copy(app: Prunerr, count: int, grace: float | None) -> str | None:
    """The copied rules all load (a rule left out would change what is protected) and every
    delete rule has the overridden grace period; else what is wrong."""
    contents = app.book.contents()
    for located in contents.diagnostics:
        if located.diagnostic.is_error:
            return f"the copied rules do not load:\n{located.render()}"
    if len(contents.rules) != count:
        return f"{count} rules in rules.d, {len(contents.rules)} in the demo's copy"
    if grace is not None:
        for book_rule in contents.rules.values():
            rule = book_rule.rule
            if rule.kind == "delete" and abs(rule.grace_period - grace * DAY) > 1:
                return f"{rule.id}: grace period not overridden in the copy"
    return None


def _start_emulators(size: str, seed: int, out: _Out) -> tuple[list[Emulator], dict[str, str]]:
    """Every upstream emulator and the emulated Discord over one generated library; the other
    notification receivers (webhook, apprise) would only repeat Discord's messages."""
    specs = PluginHost.create().emulators().specs
    library = emulation.generate(size, seed, now=int(time.time()) // DAY * DAY)
    running: list[Emulator] = []
    env: dict[str, str] = {}
    rows = []
    try:
        for name in sorted(specs):
            key = f"{name}-key-{seed:04d}".ljust(32, "0")[:32]
            emulator = specs[name].factory(library, key, emulation.Faults(seed=seed))
            is_receiver = hasattr(emulator, "received")
            if is_receiver and name != RECEIVER:
                continue
            if is_receiver:
                emulator.printer = out.discord
            url = emulator.start()
            running.append(emulator)
            variables = specs[name].env(url, key)
            env.update(variables)
            note = "notifications (printed below)" if is_receiver else ""
            rows.append((name, url, ", ".join(variables), note))
    except BaseException:
        for emulator in running:
            emulator.stop()
        raise
    out.table(("SERVICE", "URL", "CONFIGURED BY", ""), rows)
    return running, env


def _sync(tasks: Tasks, app: Prunerr, out: _Out) -> None:
    """Sync as the scheduled job does (every source, then collections), recorded as its run."""
    outcome = tasks.sync.call_local(DEMO.name)
    report = outcome["result"] if outcome else None
    if report is None:
        out("  sync did not run (another sync holds the lease)")
        return
    rows = [
        (s["source"], "ok" if s["ok"] else "FAILED", f"{s['records']:,}", s["message"])
        for s in report["sources"]
    ]
    out.table(("SOURCE", "STATE", "RECORDS", ""), rows)
    figures = stats(app.library.snapshot())
    counts = [
        (figures.movies, "movies"),
        (figures.shows, "shows"),
        (figures.seasons, "seasons"),
        (figures.episodes, "episodes"),
    ]
    total = sum(n for n, _ in counts)
    size = format_size(figures.storage or 0)
    out(
        f"  {', '.join(f'{n:,} {what}' for n, what in counts)} ({total:,} items, {size}) "
        f"synced in {report['seconds']:.1f}s"
    )


def _evaluate(tasks: Tasks, app: Prunerr) -> list[RuleRun]:
    """Every enabled delete rule, confirmed past the circuit breaker (the library is synthetic),
    recorded as a run of the evaluation job."""
    runs: list[RuleRun] = []

    def work(progress) -> dict:
        runs.extend(app.evaluator.run(actor=DEMO, confirm=True))
        return wire.evaluation_result(runs)

    from prunerr.jobs import JOBS

    tasks.runs.run(JOBS["evaluate"], DEMO.name, work)
    return runs


# what became of the matches besides queued, already queued and protected: (column, RuleRun
# attribute, meaning), shown when some rule has any
OTHER_OUTCOMES = (
    ("HELD", "held", "the circuit breaker stopped the run, so nothing was queued"),
    ("DELETED BEFORE", "deleted_before", "an earlier entry deleted it; it is not queued again"),
    ("GONE", "gone", "it left the library after the sync"),
)


def _plan_table(app: Prunerr, runs: list[RuleRun], out: _Out) -> None:
    """Each rule's matches by what became of them (the columns after MATCHED add up to it, as
    the evaluator counted them), with a total row."""
    by_id = app.book.contents().rules
    share = app.evaluator.breaker_share
    others = [o for o in OTHER_OUTCOMES if any(getattr(r, o[1]) for r in runs)]
    header = ("RULE", "MATCHED", "QUEUED", "ALREADY QUEUED", "PROTECTED")
    header += (*(o[0] for o in others), "UNKNOWN", "SIZE", "GRACE")

    def counts(run: RuleRun) -> tuple:
        outcomes = (run.queued, run.already_queued, run.protected)
        return (run.matched, *outcomes, *(getattr(run, o[1]) for o in others), run.unknown)

    rows = []
    for run in runs:
        rule = by_id[run.rule].rule
        rows.append(
            (
                rule.id + (" *" if run.confirmed else ""),
                *counts(run),
                format_size(run.queued_bytes),
                _days(rule.grace_period / DAY),
            )
        )
    if runs:
        total = [sum(column) for column in zip(*(counts(r) for r in runs), strict=True)]
        rows.append(("all rules", *total, format_size(sum(r.queued_bytes for r in runs)), ""))
    out.table(header, rows)
    with db_session:
        queue = Queue(app.store)
        for run in runs:
            if not run.entries:
                continue
            titles = [e.title for e in (queue.entry(i) for i in run.entries[:EXAMPLES]) if e]
            more = f", and {run.queued - len(titles)} more" if run.queued > len(titles) else ""
            out(f"  {by_id[run.rule].rule.id}: {run.name}", f"    {'; '.join(titles)}{more}")
    if any(r.confirmed for r in runs):
        out(
            f"  * would queue more than {share:.0%} of its candidates: the circuit breaker "
            "stops such a run until",
            "    it is confirmed; the demo confirms it, as the library is synthetic",
        )
    sums = " + ".join(("QUEUED", "ALREADY QUEUED", "PROTECTED", *(o[0] for o in others)))
    limit = int(app.config["max_deletions_per_run"])
    out(
        f"  MATCHED = {sums}: each match is counted once;",
        "  already queued: by a rule that ran before (by priority) or by an earlier run;",
        "  protected: a protect rule (rules.d/protect) or a user shields it;",
        *(f"  {o[0].lower()}: {o[2]};" for o in others),
        "  unknown: the data to decide is unavailable, so it is no match and nothing is queued;",
        "  an item matched by several rules counts in each row, but is queued once;",
        "  queued items are deleted once their grace period is over, at most",
        f"  {limit} deletions or {app.config['max_gb_per_run']} GB per run (see Deletions)",
    )


def _process(tasks: Tasks, app: Prunerr, out: _Out, serving: bool) -> None:
    """Process the entries whose grace period is over, as the processing job would."""
    reports = []

    def work(progress) -> dict:
        reports.append(app.processor.process(actor=DEMO))
        return wire.plain(wire.process_report(reports[0]))

    from prunerr.jobs import JOBS

    tasks.runs.run(JOBS["process"], DEMO.name, work)
    report = reports[0]
    # files deleted (the space freed may be unknown: a file Plex listed without its size)
    deleted = [d for d in report.deleted if d["action"] != "unmonitor_only"]
    unmonitored = len(report.deleted) - len(deleted)
    out(
        f"  deleted {len(deleted)} item(s), freed {format_size(report.freed)}"
        + (f"; unmonitored {unmonitored} (files kept)" if unmonitored else "")
        + (f"; {len(report.failed)} failed" if report.failed else "")
        + (f"; {len(report.skipped)} skipped" if report.skipped else "")
    )
    for d in report.deleted[:EXAMPLES]:
        out(f"    {d['title']} ({d['action']}, {format_size(d['size'])})")
    if len(report.deleted) > EXAMPLES:
        out(f"    … and {len(report.deleted) - EXAMPLES} more")
    if report.deleted:
        out("  upstream calls for the first:", *(f"    {c}" for c in report.deleted[0]["calls"]))
    if report.deferred:
        limit = int(app.config["max_deletions_per_run"])
        out(
            f"  {report.deferred} more wait for the next run: at most {limit} deletions or "
            f"{app.config['max_gb_per_run']} GB per run"
            + ("; while serving, the queue is processed every minute" if serving else "")
        )
    with db_session:
        _, recorded = activity.search(app.store, limit=1, event_types=("deletion",))
    out(f"  history: {recorded} deletion(s) recorded in the activity log")


def _announce_waiting(app: Prunerr, out: _Out, serving: bool) -> None:
    """When the entries still in their grace period will be deleted."""
    now = app.clock()
    with db_session:
        waiting = [e for e in Queue(app.store).entries(("queued",)) if e.delete_after > now]
    if not waiting:
        return
    first = min(e.delete_after for e in waiting)
    out(
        f"  {len(waiting)} queued item(s) wait for their grace period; the first deletion is due "
        f"{_when(first)} (in {format_duration(first - now)})"
    )
    if serving:
        out(
            "  while the demo runs, queue processing runs every minute and deletes what is due;",
            "  POST /api/queue/process?force=true deletes everything queued now (see below)",
        )
    else:
        out("  run the demo with --grace 0 to see the deletions at once")


def _curl(key: str, url: str, method: str = "") -> str:
    return f"curl {method}-H 'X-Api-Key: {key}' '{url}'"


def cmd_demo(args) -> int:
    rules_source = Path(args.rules_dir) if args.rules_dir else example_rules.directory()
    if not rules_source.is_dir():
        print(f"prunerr demo: no rules directory {str(rules_source)!r}", file=sys.stderr)
        return 2
    if args.data_dir and Path(args.data_dir).exists() and any(Path(args.data_dir).iterdir()):
        print(
            f"prunerr demo: {args.data_dir} is not empty; the demo needs a fresh data directory",
            file=sys.stderr,
        )
        return 2
    port = str(args.port or os.environ.get("PORT") or 3000)
    if args.grace is not None and args.grace < 0:
        print("prunerr demo: --grace must be 0 or more days", file=sys.stderr)
        return 2
    loaded = load_rules([rules_source], PluginHost.create().catalog())
    if loaded.errors:
        for located in loaded.errors:
            print(located.render(), file=sys.stderr)
        print(f"prunerr demo: {rules_source} has invalid rules", file=sys.stderr)
        return 1

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    out = _Out()
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="prunerr-demo-")).resolve()
    data.mkdir(parents=True, exist_ok=True)
    handled = [signal.SIGINT, signal.SIGTERM] + (
        [signal.SIGHUP] if hasattr(signal, "SIGHUP") else []
    )
    previous = {signum: signal.getsignal(signum) for signum in handled}
    signal.signal(signal.SIGTERM, _stop)
    emulators: list[Emulator] = []
    server = consumer = app = None
    try:
        kept = "kept" if args.data_dir else "removed at exit"
        out(
            f"Prunerr demo: a generated library (size {args.size}, seed {args.seed}) on "
            f"emulated services; data in {data} ({kept})"
        )
        out.section("Emulated services")
        emulators, env = _start_emulators(args.size, args.seed, out)

        out.section("Rules")
        rules_dir = data / "rules.d"
        rewritten = _copy_rules(rules_source, rules_dir, loaded.rules, args.grace)
        delete = sum(r.kind == "delete" for r in loaded.rules)
        out(
            f"  {rules_source} copied to {rules_dir}: {delete} delete rule(s), "
            f"{len(loaded.rules) - delete} protect rule(s)"
        )
        if args.grace is not None:
            out(
                f"  grace period overridden in the copy: {_days(args.grace)} for all "
                f"{rewritten} delete rule(s) (--grace {args.grace:g})"
            )
        env |= {
            "PRUNERR_DATA_DIR": str(data),
            "PRUNERR_RULES_DIR": str(rules_dir),
            "PORT": port,
            "PRUNERR_PROCESSING_SCHEDULE": EVERY_MINUTE,
        }
        app = Prunerr.from_environment(env)
        problem = _check_copy(app, len(loaded.rules), args.grace)
        if problem:
            print(f"prunerr demo: {problem}", file=sys.stderr)
            return 1
        with db_session:  # as a user would, once sure of the rules
            settings.save(app.store, app.config, {"dry_run": False})
        app.refresh_config()
        out(
            "  dry run turned off: the demo really deletes, on the emulators (a new installation "
            "starts in dry run until `prunerr settings set dry_run false`)"
        )
        from waitress.server import create_server

        from prunerr.api import create_app
        from prunerr.jobs import create_huey
        from prunerr.jobs.tasks import Tasks

        tasks = Tasks(app, create_huey(app.config))
        api = app.api(tasks=tasks)
        key = api.keys.current()

        serving = not args.no_serve
        if serving:  # bound now, so a port in use fails before the loop, not after it
            try:
                server = create_server(
                    create_app(api),
                    host=args.host,
                    port=app.config["port"],
                    threads=8,
                    ident="prunerr",
                )
            except OSError as exc:
                print(
                    f"prunerr demo: cannot listen on port {port}: {exc.strerror}", file=sys.stderr
                )
                return 1

        out.section("Sync")
        _sync(tasks, app, out)

        out.section("Evaluation: what the rules queued, and why")
        with out.holding():
            runs = _evaluate(tasks, app)
            _plan_table(app, runs, out)

        out.section("Deletions")
        if app.processor.due():
            with out.holding():
                _process(tasks, app, out, serving)
        elif not _queued(app):
            out("  nothing queued, nothing to delete")
        _announce_waiting(app, out, serving)

        if not serving:
            out("", "Not serving (--no-serve); stopping the emulators.")
            return 0

        assert server is not None
        consumer = tasks.huey.create_consumer(workers=2, periodic=True, worker_type="thread")
        consumer.start()
        # the consumer sets handlers meant for its own main loop; this process stops as a whole
        for signum in handled:
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else _stop)
        base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '') else args.host}"
        base += f":{server.effective_port}"
        out.section("API and jobs")
        out(f"  URL      {base}", f"  API key  {key}", "  try:")
        out(
            f"    {_curl(key, base + '/api/stats')}",
            f"    {_curl(key, base + '/api/queue')}",
            f"    {_curl(key, base + '/api/activity?eventTypes=deletion')}",
        )
        if _queued(app):
            out(f"    {_curl(key, base + '/api/queue/process?force=true', '-X POST ')}")
        out("", "Ctrl-C to stop.")
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        out("", "Stopping: API, jobs, emulators.")
        return 0
    except KeyboardInterrupt:
        out("", "Interrupted; stopping.")
        return 130
    finally:
        if server is not None:
            server.close()
        if consumer is not None:
            consumer.stop(graceful=True)
        for emulator in emulators:
            emulator.stop()
        if app is not None and "store" in vars(app):
            app.store.disconnect()
        for signum, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(signum, handler)
        if not args.data_dir:
            shutil.rmtree(data, ignore_errors=True)


def _queued(app: Prunerr) -> int:
    with db_session:
        return len(Queue(app.store).entries(("queued",)))


def register(commands) -> None:
    p = commands.add_parser(
        "demo",
        help="the whole loop on emulated services: sync, rules, queue, deletions, API",
        description="Start emulators over a generated library, sync it into a fresh database, "
        "evaluate the example rules, delete what is past its grace period, then serve the API "
        "and jobs until Ctrl-C.",
        epilog="prunerr demo\nprunerr demo --size XS --grace 0 --no-serve",
    )
    p.add_argument("--size", choices=sorted(SIZES), default="S", help="library size (default S)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated library")
    p.add_argument(
        "--data-dir", metavar="DIR", help="an empty directory to keep (default: a temp dir)"
    )
    p.add_argument(
        "--rules-dir",
        metavar="DIR",
        help="the rules to run (default: the example rules installed with Prunerr)",
    )
    p.add_argument(
        "--grace",
        type=float,
        metavar="DAYS",
        help="grace period of every delete rule, overriding the rule files (0: at once)",
    )
    p.add_argument(
        "--port", type=int, default=None, help="port of the API (default: PORT, else 3000)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: local)")
    p.add_argument(
        "--no-serve", action="store_true", help="run the loop once and exit, serving nothing"
    )
    p.set_defaults(handler=cmd_demo)
