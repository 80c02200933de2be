"""API benchmark against a synced library: listing latency and stats throughput.

    python bench/api.py --data-dir DIR     # DIR: a data directory with a synced prunerr.db

(`bench/sync.py` leaves one in a `prunerr-bench-*` temp directory.) Set the services' variables
(PLEX_URL, ... as during the sync) so their data counts as available; they are not called.

Starts `prunerr serve` in its own process on the data directory and measures, from this process
over loopback: `GET /api/library` (page of 50, several filters and sorts) p50/p95 after the first
(snapshot-loading) request, `POST /api/rules/preview` of a 5-clause rule, and `GET /api/stats`
requests per second from 8 concurrent clients for 5 s. Targets (issue #4): library p95 <= 50 ms,
preview p50 <= 300 ms, >= 300 requests/s on stats without errors.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import httpx

QUERIES = [
    {},
    {"type": "movie", "sortBy": "size", "sortOrder": "desc"},
    {"status": "unwatched", "sortBy": "addedAt"},
    {"search": "the", "type": "tv"},
    {"sortBy": "lastWatched", "sortOrder": "desc", "page": "3"},
]
KEY = "bench-api-key-0123456789abcdef01"
PREVIEW = {  # a 5-clause rule
    "name": "bench",
    "mediaType": "movie",
    "when": "size > 4 GB and added < 60 days ago and (last_watched ?? added) < 120 days ago "
    'and resolution != "2160p" and play_count < 3',
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_api(client: httpx.Client, seconds: float = 30) -> None:
    """Until the server answers its health check (it is starting in another process)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.get("/api/health")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "PRUNERR_DATA_DIR": args.data_dir,
        "PRUNERR_API_KEY": KEY,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "prunerr", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, headers={"X-Api-Key": KEY}, timeout=120)
        wait_for_api(client)
        started = time.perf_counter()
        total = client.get("/api/library").json()["data"]["total"]
        first_ms = (time.perf_counter() - started) * 1000

        latencies = []
        for _ in range(20):
            for query in QUERIES:
                t = time.perf_counter()
                response = client.get("/api/library", params={"limit": "50", **query})
                latencies.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, response.text
        latencies.sort()

        previews = []
        for _ in range(15):
            t = time.perf_counter()
            response = client.post("/api/rules/preview", json=PREVIEW)
            previews.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.text
        matches = response.json()["data"]["totalMatches"]

        counts, errors = [0] * 8, [0] * 8
        stop = time.perf_counter() + args.seconds

        def hammer(n: int) -> None:
            with httpx.Client(base_url=base, headers={"X-Api-Key": KEY}) as c:
                while time.perf_counter() < stop:
                    if c.get("/api/stats").status_code == 200:
                        counts[n] += 1
                    else:
                        errors[n] += 1

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"library items (movies + shows)  {total:,}")
    print(f"first /api/library (loads)      {first_ms:.0f} ms")
    print(
        f"/api/library page of 50         p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {p95:.1f} ms ({len(latencies)} requests, {len(QUERIES)} filter/sort mixes)"
    )
    print(
        f"/api/rules/preview, 5 clauses    p50 {statistics.median(previews):.0f} ms, "
        f"max {max(previews):.0f} ms ({len(previews)} requests, {matches:,} matches)"
    )
    print(
        f"/api/stats, 8 clients, {args.seconds:.0f} s     {sum(counts) / args.seconds:.0f} "
        f"requests/s, {sum(errors)} errors"
    )


if __name__ == "__main__":
    main()
