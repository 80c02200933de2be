"""`prunerr serve`: the HTTP API on a production WSGI server (waitress), with an embedded job
consumer; `prunerr worker`: a job consumer alone, for scale-out."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import threading
from logging.handlers import RotatingFileHandler
from typing import TYPE_CHECKING

from prunerr.app import Prunerr

if TYPE_CHECKING:
    from prunerr.jobs.tasks import Tasks

# The API, the jobs and the WSGI server are imported by the handlers that use them: every
# `prunerr` command builds the whole parser, and the others start in half the time without them.

log = logging.getLogger(__name__)


def _malloc_policy() -> None:
    """How glibc's malloc keeps memory (glibc only; call before threads start):
    - two arenas for the whole process, as MALLOC_ARENA_MAX=2 sets: by default each thread
      that allocates gets an arena of its own (8 per core), and each keeps what it freed, so
      every one of the API's threads would hold on to the memory of the largest answer it built
      (75 MB more at L, measured with bench/e2e.py);
    - blocks of 128 KB and more always mapped on their own, and unmapped when freed: by default
      the threshold rises to the largest block freed, so the parts of a long answer (the whole
      queue at L: 10 MB, in parts of 300 KB) land in the arenas, and fragment them: 40 polls of
      the queue grew the API by 38 MB, 16 MB with the threshold fixed."""
    with contextlib.suppress(OSError, AttributeError):  # another C library: no such arenas
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD, which also stops it from rising


# SQLite's caches of all the API's threads together (each thread has its connection, with a
# 2 MB cache by default): bench/e2e.py at L peaked at 473 MB with it, 482-490 MB without
API_SQLITE_MEMORY = 8 * 2**20


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _logging(app: Prunerr, name: str) -> None:
    """Log to standard error and to `logs/NAME.log` in the data directory (5 MB, 5 old files
    kept), as the *arr apps keep theirs in /config/logs."""
    logs = app.config.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        handlers=[
            logging.StreamHandler(),
            RotatingFileHandler(
                logs / f"{name}.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
            ),
        ],
    )


def cmd_serve(args) -> int:
    from waitress.server import create_server

    from prunerr.api import create_app
    from prunerr.jobs import Supervisor

    _malloc_policy()
    app = Prunerr.from_environment()
    _logging(app, "prunerr")
    app.check_rules_dir()
    app.store.share_sqlite_memory(API_SQLITE_MEMORY)
    tasks = _tasks(app)
    api = app.api(tasks=tasks)
    api.keys.current()  # generated and stored on first start
    consumer = supervisor = None
    if not args.no_worker:
        processes = args.worker_type == "process"
        if processes:
            # Process workers by default: a thread parsing one 30 MB Radarr listing holds the
            # GIL for a third of a second, and the API must never wait for the jobs. They are
            # new processes (`prunerr worker --embedded`), not forks of this one: a SQLite
            # connection must never cross a fork, and this one holds connections in every
            # thread by the time a worker is restarted.
            supervisor = tasks.supervisor = Supervisor(_worker_command(), args.workers)
            supervisor.start()
        # this process's own consumer schedules the periodic jobs, and with thread workers runs
        # the jobs too
        consumer = tasks.huey.create_consumer(
            workers=0 if processes else args.workers,
            periodic=not args.no_periodic,
            worker_type="thread",
            shutdown_timeout=30,
        )
        consumer.start()
        if not args.no_periodic:  # the consumer that schedules the jobs syncs at start
            tasks.sync_at_start()
        # the consumer installs handlers of its own; here the server decides when to stop
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGHUP, _interrupt)
    threading.Thread(target=api.library.snapshot, name="library-warm-up", daemon=True).start()
    server = create_server(
        create_app(api),
        host=args.host,
        port=app.config["port"],
        threads=8,
        ident="prunerr",
        send_bytes=1,  # send what the app yields at once: server-sent events are small
        max_request_body_size=app.config["max_request_body"],  # the app answers 413 below it
    )
    signal.signal(signal.SIGTERM, _interrupt)  # `docker stop` stops it like Ctrl-C
    log.info(
        "Prunerr API on http://%s:%s (API key: %s)",
        args.host,
        server.effective_port,
        "PRUNERR_API_KEY"
        if app.config["api_key"]
        else "run `prunerr api-key` on this machine with the same data directory",
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if supervisor is not None:
            supervisor.stop()
        if consumer is not None:
            consumer.stop(graceful=True)
    return 0


def _worker_command() -> list[str]:
    """One worker process of `prunerr serve`: one job at a time, scheduling nothing."""
    return [sys.executable, "-m", "prunerr", "worker", "--embedded", "--workers", "1"]


def _stop_with_the_server() -> None:
    """An embedded worker stops when the server's end of its standard input closes."""
    while os.read(0, 512):  # the file descriptor: a buffered reader's lock would outlive us
        pass
    log.info("the server is gone: stopping")
    os.kill(os.getpid(), signal.SIGINT)  # the consumer's graceful stop


def _tasks(app: Prunerr) -> Tasks:
    from prunerr.jobs import create_huey
    from prunerr.jobs.tasks import Tasks

    return Tasks(app, create_huey(app.config))


def cmd_worker(args) -> int:
    _malloc_policy()
    app = Prunerr.from_environment()
    _logging(app, "prunerr" if args.embedded else f"worker-{socket.gethostname()}")
    app.check_rules_dir()
    tasks = _tasks(app)
    periodic = not (args.no_periodic or args.embedded)
    consumer = tasks.huey.create_consumer(
        workers=args.workers, periodic=periodic, worker_type=args.worker_type
    )
    log.info(
        "Prunerr worker: %d %s, %s",
        args.workers,
        "thread(s)" if args.worker_type == "thread" else "process(es)",
        "schedules periodic jobs" if periodic else "no periodic jobs",
    )
    if periodic:  # the consumer that schedules the jobs syncs at start
        tasks.sync_at_start()
    if args.worker_type == "process":
        app.store.disconnect()  # the consumer forks its workers: each opens its own
    if args.embedded:
        tasks.huey.pending_count()  # the queue answers too
        threading.Thread(target=_stop_with_the_server, name="server-watch", daemon=True).start()
        print("ready", flush=True)  # to the server's supervisor
    consumer.run()  # until SIGINT or SIGTERM
    return 0


def _consumer_options(parser, workers: int) -> None:
    parser.add_argument(
        "--workers", type=int, default=workers, help=f"job workers (default {workers})"
    )
    parser.add_argument(
        "--no-periodic",
        action="store_true",
        help="do not schedule periodic jobs (exactly one consumer of a deployment should)",
    )


def cmd_openapi(args) -> int:
    from prunerr.api import openapi

    print(json.dumps(openapi.document(), indent=2))
    return 0


def register(commands) -> None:
    o = commands.add_parser("openapi", help="print the API's OpenAPI 3.1 document")
    o.epilog = "prunerr openapi > openapi.json"
    o.set_defaults(handler=cmd_openapi)
    p = commands.add_parser("serve", help="serve the HTTP API (port from PORT, default 3000)")
    p.epilog = "prunerr serve\nprunerr serve --no-worker  # jobs run in `prunerr worker`s"
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    p.add_argument(
        "--no-worker", action="store_true", help="run no job consumer (when workers run them)"
    )
    _consumer_options(p, 2)
    p.add_argument(
        "--worker-type",
        choices=("process", "thread"),
        default="process",
        help="how the embedded consumer runs jobs (default: processes, so they never slow the API)",
    )
    p.set_defaults(handler=cmd_serve)
    w = commands.add_parser("worker", help="run background jobs (scale-out: one or more)")
    w.epilog = "prunerr worker\nprunerr worker --no-periodic  # beside one that schedules jobs"
    _consumer_options(w, 4)
    w.add_argument("--worker-type", choices=("thread", "process"), default="thread")
    # a worker process of `prunerr serve`, started by its supervisor
    w.add_argument("--embedded", action="store_true", help=argparse.SUPPRESS)
    w.set_defaults(handler=cmd_worker)
