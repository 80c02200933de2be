"""Sync benchmark: a full sync from the emulators, an incremental re-sync, and a rules plan.

    python bench/sync.py [--size M] [--seed 1] [--database-url URL] [--rules 20]

Prints one table: durations, upstream requests (the media servers' detail fetches by key,
`/library/metadata/{ids}`, apart), items and history rows, peak RSS. Targets
(issue #3): full sync of M <= 30 s and of L <= 120 s with peak RSS <= 1 GB on the 2-core machine,
re-sync <= 25% of the full sync, `rules plan` of 20 rules over L <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pony.orm import db_session

from prunerr.config import Config
from prunerr.dsl import EvalContext
from prunerr.emulation.synthetic import SIZES
from prunerr.planning import plan
from prunerr.plugins import PluginHost
from prunerr.rules import load_rules
from prunerr.store.database import open_store
from prunerr.store.items import availability, load_items
from prunerr.sync import SyncService

REPO = Path(__file__).resolve().parent.parent


class Emulators:
    """`prunerr emulate` in its own process, so this process's RSS is Prunerr's alone."""

    def __init__(self, size: str, seed: int):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prunerr", "emulate", "--size", size, "--seed", str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.services = json.loads(self.process.stdout.readline())

    def requests(self) -> int:
        self.process.send_signal(signal.SIGUSR1)
        return sum(json.loads(self.process.stdout.readline())["requests"].values())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class DetailRequests:
    """Counts the media servers' requests for items by key (`/library/metadata/...`), client
    side: the emulators count only totals."""

    def __init__(self, services):
        self.count = 0
        for service in services.with_role("media_server"):
            http = getattr(service, "http", None)
            if http is not None:
                http.request = self._counting(http.request)

    def _counting(self, request):
        def counted(method, path, **kwargs):
            if path.startswith("/library/metadata/") and method == "GET":
                self.count += 1
            return request(method, path, **kwargs)

        return counted


class DetailTimer:
    """Times the sync's detail fetches (run after a media server's listing is written, while
    the other sources are written)."""

    def __init__(self, sync: SyncService):
        self.seconds = 0.0
        fetch = sync._fetch_details

        def timed(server):
            t = time.perf_counter()
            try:
                return fetch(server)
            finally:
                self.seconds += time.perf_counter() - t

        sync._fetch_details = timed


def _details(report, requests: int, fetch_s: float) -> str:
    """The detail fetches of a sync: items, requests by key, time to fetch them."""
    parts = [
        f"{r.source.partition(':')[0]} {r.records:,} items{'' if r.ok else ' FAILED'}"
        for r in report.results
        if r.source.endswith(":media_details")
    ]
    return f"{', '.join(parts) or 'none'}: {requests:,} requests by key, fetched in {fetch_s:.1f} s"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _by_source(report) -> str:
    def name(source: str) -> str:
        service, _, role = source.partition(":")
        return f"{service} details" if role == "media_details" else service

    return ", ".join(f"{name(r.source)} {r.seconds:.1f} s" for r in report.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="M")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--rules", type=int, default=20, help="rules in the plan")
    args = parser.parse_args()

    started = time.perf_counter()
    emulators = Emulators(args.size, args.seed)
    startup_s = time.perf_counter() - started
    env = {k: v for service in emulators.services.values() for k, v in service["env"].items()}
    host = PluginHost.create()
    data_dir = Path(tempfile.mkdtemp(prefix="prunerr-bench-"))
    config = Config.load(host.config_schema(), {**env, "PRUNERR_DATA_DIR": str(data_dir)})
    services = host.services(config)
    store = open_store(args.database_url, data_dir)
    sync = SyncService(store, services)
    detail_requests = DetailRequests(services)
    detail_timer = DetailTimer(sync)
    try:
        t = time.perf_counter()
        first = sync.run()
        full_s = time.perf_counter() - t
        full_requests = emulators.requests()
        full_details, full_details_s = detail_requests.count, detail_timer.seconds
        t = time.perf_counter()
        second = sync.run()
        resync_s = time.perf_counter() - t
        resync_requests = emulators.requests() - full_requests
        resync_details = detail_requests.count - full_details
        resync_details_s = detail_timer.seconds - full_details_s
    finally:
        emulators.stop()
    sync_rss = peak_rss_mb()

    base = load_rules([REPO / "rules.d"]).rules
    rules = [base[i % len(base)] for i in range(args.rules)]
    watch = services.watch_history()
    ctx = EvalContext(datetime.now(UTC))
    t = time.perf_counter()
    available = availability(store, services, watch.name if watch else None)
    types = {rule.media for rule in rules}
    items = load_items(store, available, watch.name if watch else None, types=types)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    plans = plan(rules, items, ctx, all_rules=base)
    plan_s = time.perf_counter() - t
    with db_session:
        plays = store.read("SELECT COUNT(*) FROM play")[0][0]

    movies, shows, episodes, history, users = SIZES[args.size]
    rows = [
        (
            "library",
            f"{args.size}: {movies:,} movies, {shows:,} shows, ~{episodes:,} episodes, "
            f"{history:,} history rows, {users} users (emulators up in {startup_s:.1f} s)",
        ),
        ("database", store.dialect.name),
        (
            "full sync",
            f"{full_s:.1f} s, {full_requests:,} requests, {'ok' if first.ok else 'PARTIAL'}",
        ),
        ("full sync by source", _by_source(first)),
        ("details of the full sync", _details(first, full_details, full_details_s)),
        ("re-sync by source", _by_source(second)),
        ("details of the re-sync", _details(second, resync_details, resync_details_s)),
        (
            "re-sync (no changes)",
            f"{resync_s:.1f} s ({resync_s / full_s:.0%} of full), "
            f"{resync_requests:,} requests, "
            f"{'ok' if second.ok else 'PARTIAL'}",
        ),
        ("items / plays stored", f"{len(items):,} / {plays:,}"),
        ("load items for rules", f"{load_s:.2f} s"),
        (
            f"plan of {len(rules)} rules",
            f"{plan_s:.2f} s (load + plan {load_s + plan_s:.2f} s), "
            f"{sum(p.matched for p in plans):,} matches",
        ),
        ("peak RSS of the sync", f"{sync_rss:.0f} MB (after the plan: {peak_rss_mb():.0f} MB)"),
        ("machine", f"{platform.machine()}, Python {platform.python_version()}"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
