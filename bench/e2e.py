"""End-to-end benchmark: the whole loop on a generated library, through the API.

    python bench/e2e.py [--size L] [--deletions 1000]

Everything runs in processes of its own, talking over loopback: `prunerr emulate` (a generated
library), `prunerr serve` (the API with its embedded job consumer, SQLite and SqliteHuey in a temp
data directory, or PostgreSQL and Redis when PRUNERR_DATABASE_URL and PRUNERR_QUEUE_URL are set),
and two `prunerr worker` processes. It syncs, evaluates the example rules, previews a rule,
deletes `--deletions` movies queued with no grace period, and load-tests the API, then prints one
table: durations, upstream requests, latencies and peak RSS. Targets: `GET /api/stats` p95 <= 50
ms while a sync and an evaluation run (issue #5), 1,000 deletions by two workers <= 60 s (issue
#5), preview p50 <= 300 ms, library page p95 <= 50 ms, >= 300 stats requests/s (issue #4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from api import PREVIEW, QUERIES, free_port, wait_for_api  # bench/api.py: the same requests

KEY = "bench-e2e-key-0123456789abcdef0123"
PRUNERR = str(Path(sys.executable).parent / "prunerr")
RULES = Path(__file__).resolve().parent.parent / "rules.d"


def emulators(size: str, work: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    env_file = work / "emulators.env"
    process = subprocess.Popen(
        [PRUNERR, "emulate", "--size", size, "--env-file", str(env_file)],
        stdout=subprocess.PIPE,  # the request counts, on SIGUSR1 and at exit
        stderr=subprocess.DEVNULL,
        text=True,
    )
    while not env_file.exists() or not env_file.read_text().strip():
        time.sleep(0.2)
    pairs = (line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return process, {k: v.strip().strip("'\"") for k, v in pairs}


def wait_job(client: httpx.Client, name: str, since: int, latencies: list[float]) -> float:
    """Poll /api/stats (timing it) until job `name` has a finished run newer than `since`."""
    started = time.perf_counter()
    while True:
        t = time.perf_counter()
        response = client.get("/api/stats")
        assert response.status_code == 200, response.text
        latencies.append((time.perf_counter() - t) * 1000)
        jobs = {j["name"]: j for j in client.get("/api/jobs").json()["data"]}
        last = jobs[name]["lastRun"]
        if last and last["id"] > since and last["state"] != "running":
            assert last["state"] == "ok", last
            return time.perf_counter() - started
        time.sleep(0.05)


def last_run(client: httpx.Client, name: str) -> int:
    jobs = {j["name"]: j for j in client.get("/api/jobs").json()["data"]}
    return (jobs[name]["lastRun"] or {"id": 0})["id"]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(call, times: int) -> list[float]:
    """Milliseconds of each of `times` calls."""
    result = []
    for _ in range(times):
        t = time.perf_counter()
        call()
        result.append((time.perf_counter() - t) * 1000)
    return result


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def stats_throughput(base: str, seconds: float, clients: int = 8) -> tuple[float, int]:
    counts, errors = [0] * clients, [0] * clients
    stop = time.perf_counter() + seconds

    def hammer(n: int) -> None:
        with httpx.Client(base_url=base, headers={"X-Api-Key": KEY}) as c:
            while time.perf_counter() < stop:
                ok = c.get("/api/stats").status_code == 200
                counts[n] += ok
                errors[n] += not ok

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds, sum(errors)


def mark(client: httpx.Client, wanted: int) -> int:
    """Queue `wanted` movies by hand with no grace period (those nothing protects)."""
    ready, page = 0, 1
    while ready < wanted:
        data = client.get(
            "/api/library",
            params={"type": "movie", "status": "monitored", "limit": "200", "page": str(page)},
        ).json()["data"]
        ids = [m["id"] for m in data["items"] if m["radarrId"] and m["size"]]
        if ids:
            marked = client.post(
                "/api/library/bulk/mark-deletion",
                json={"ids": ids[: wanted - ready], "gracePeriodDays": 0},
            ).json()["data"]
            ready += len(marked["success"])
        if page >= data["totalPages"]:
            break
        page += 1
    return ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="L", choices=("XS", "S", "M", "L"))
    parser.add_argument("--deletions", type=int, default=1000)
    parser.add_argument(
        "--keep", action="store_true", help="keep the data directory (database, env) to inspect"
    )
    parser.add_argument(
        "--worker-type",
        choices=("process", "thread"),
        default="process",
        help="how the API's embedded consumer runs jobs",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="prunerr-bench-e2e-"))
    rows: list[tuple[str, str]] = []
    started = time.perf_counter()
    emulate, services = emulators(args.size, work)
    rows.append(("emulators up", f"{time.perf_counter() - started:.1f} s"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **services,
        "PORT": str(port),
        "PRUNERR_DATA_DIR": str(work),
        "PRUNERR_RULES_DIR": str(RULES),
        "PRUNERR_API_KEY": KEY,
        "PRUNERR_CIRCUIT_BREAKER": "1",  # a synthetic library: queue what the rules match
        "PRUNERR_DRY_RUN": "false",  # a new installation's dry run: the bench deletes
        "PRUNERR_MAX_DELETIONS_PER_RUN": str(args.deletions),
        "PRUNERR_MAX_GB_PER_RUN": "1000000",
    }
    processes = [emulate]
    try:
        serve = subprocess.Popen(
            [
                PRUNERR,
                "serve",
                "--host",
                "127.0.0.1",
                "--no-periodic",
                "--worker-type",
                args.worker_type,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(Path(tempfile.gettempdir()) / "prunerr-bench-e2e-serve.log").open("w"),
        )
        processes.append(serve)
        client = httpx.Client(base_url=base, headers={"X-Api-Key": KEY}, timeout=300)
        wait_for_api(client)
        quiet = timed(lambda: client.get("/api/stats"), 100)

        busy: list[float] = []
        before = last_run(client, "sync")
        assert client.post("/api/jobs/sync").status_code == 202
        sync_s = wait_job(client, "sync", before, busy)
        rows.append(("full sync (embedded consumer)", f"{sync_s:.1f} s"))
        phases = [("sync", peak_rss_mb(serve.pid))]
        before = last_run(client, "evaluate")
        assert client.post("/api/jobs/evaluate").status_code == 202
        evaluate_s = wait_job(client, "evaluate", before, busy)
        queued = client.get("/api/queue", params={"limit": "1"}).json()["total"]
        rules = len(client.get("/api/rules").json()["data"])
        rows.append((f"evaluate {rules} example rules", f"{evaluate_s:.1f} s, {queued:,} queued"))
        phases.append(("evaluation", peak_rss_mb(serve.pid)))
        rows.append(
            (
                "/api/stats idle | during sync+evaluation",
                f"p95 {p95(quiet):.1f} ms | p50 {statistics.median(busy):.1f} ms, "
                f"p95 {p95(busy):.1f} ms ({len(busy)} requests)",
            )
        )
        previews = timed(lambda: client.post("/api/rules/preview", json=PREVIEW), 15)
        rows.append(("/api/rules/preview, 5 clauses", f"p50 {statistics.median(previews):.0f} ms"))
        phases.append(("previews", peak_rss_mb(serve.pid)))

        ready = mark(client, args.deletions)
        phases.append(("marking", peak_rss_mb(serve.pid)))
        workers = [
            subprocess.Popen(
                [PRUNERR, "worker", "--no-periodic"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        processes += workers
        started = time.perf_counter()
        assert client.post("/api/jobs/process").status_code == 202
        while client.get("/api/queue").json()["summary"]["readyForDeletion"]:
            time.sleep(0.2)
        deletion_s = time.perf_counter() - started
        recorded = client.get(
            "/api/activity", params={"eventTypes": "deletion", "limit": "1"}
        ).json()["data"]["total"]
        rows.append(
            (f"{ready:,} deletions, two workers", f"{deletion_s:.1f} s ({recorded:,} recorded)")
        )
        phases.append(("deletions", peak_rss_mb(serve.pid)))

        listing = []
        for query in QUERIES:
            params = {"limit": "50", **query}
            listing += timed(lambda q=params: client.get("/api/library", params=q), 20)
        rows.append(
            (
                "/api/library, page of 50",
                f"p50 {statistics.median(listing):.1f} ms, p95 {p95(listing):.1f} ms",
            )
        )
        rate, errors = stats_throughput(base, 5.0)
        rows.append(("/api/stats, 8 clients, 5 s", f"{rate:,.0f} requests/s, {errors} errors"))
        rss = [peak_rss_mb(p.pid) for p in (serve, *workers)]
        rows.append(("peak RSS: API process | workers", f"{rss[0]:.0f} MB | {max(rss[1:]):.0f} MB"))
        rows.append(
            (
                "API peak RSS after each phase",
                ", ".join(f"{phase} {mb:.0f} MB" for phase, mb in phases),
            )
        )
        emulate.send_signal(signal.SIGUSR1)
        for line in emulate.stdout:  # the service URLs first, then the counts
            counts = json.loads(line).get("requests")
            if counts is not None:
                rows.insert(1, ("upstream requests, whole run", f"{sum(counts.values()):,}"))
                break
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    print(
        f"size {args.size}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"embedded consumer: {args.worker_type} workers"
    )
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
