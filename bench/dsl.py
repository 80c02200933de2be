"""Rule-language benchmark: parse+check+compile time per rule, and evaluation throughput.

    python bench/dsl.py [--items 100000] [--repeat 5] [--seed 1]

Prints medians. The target (issue #2) is the whole 100k items in <= 100 ms for a 5-clause rule on
the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from prunerr.dsl import EvalContext, compile_condition
from prunerr.dsl.parser import lark_parser
from prunerr.rules import load_rules

FIVE_CLAUSES = (
    'resolution == "2160p" and size > 20 GB and last_watched ?? added < 6 months ago '
    'and play_count < 3 and genres contains any ["Horror", "Comedy"]'
)
GENRES = ("Action", "Comedy", "Drama", "Horror", "Sci-Fi", "Documentary", "Animation")


def synthetic_items(count: int, now: float, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    items = []
    for _ in range(count):
        watched = rnd.random() < 0.6
        items.append(
            {
                "type": "movie",
                "size": int(rnd.lognormvariate(23, 0.8)),
                "resolution": rnd.choice(("720p", "1080p", "1080p", "2160p")),
                "added": now - rnd.uniform(0, 5 * 365 * 86400),
                "last_watched": now - rnd.uniform(0, 3 * 365 * 86400) if watched else None,
                "play_count": rnd.randint(1, 6) if watched else 0,
                "genres": tuple(rnd.sample(GENRES, rnd.randint(1, 3))),
            }
        )
    return items


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    lark_parser()
    grammar_ms = (time.perf_counter() - start) * 1000

    rules_dir = Path(__file__).resolve().parent.parent / "rules.d"
    texts = [rule.when for rule in load_rules([rules_dir]).rules] + [FIVE_CLAUSES]
    per_rule = [
        median_time(lambda t=t: compile_condition(t, media="movie"), args.repeat) for t in texts
    ]

    ctx = EvalContext(datetime(2026, 6, 1, tzinfo=UTC))
    items = synthetic_items(args.items, ctx.now_ts, args.seed)
    program = compile_condition(FIVE_CLAUSES, media="movie").program
    evaluate = program.bind(ctx)
    matched = sum(1 for item in items if evaluate(item) is True)
    eval_s = median_time(lambda: [evaluate(item) for item in items], args.repeat)

    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"grammar build (once per process):     {grammar_ms:8.1f} ms")
    print(
        f"parse+check+compile per rule, median: {statistics.median(per_rule) * 1000:8.2f} ms "
        f"({len(texts)} rules, max {max(per_rule) * 1000:.2f} ms)"
    )
    print(
        f"5-clause rule over {args.items:,} items:  {eval_s * 1000:8.1f} ms median of "
        f"{args.repeat} ({args.items / eval_s:,.0f} items/s, {matched:,} matched)"
    )


if __name__ == "__main__":
    main()
