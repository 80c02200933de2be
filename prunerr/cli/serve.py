"""`prunerr serve`: the HTTP API on a production WSGI server (waitress), with an embedded job
consumer; `prunerr worker`: a job consumer alone, for scale-out."""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
from logging.handlers import RotatingFileHandler

from waitress.server import create_server

from prunerr.api import create_app, openapi
from prunerr.app import Prunerr
from prunerr.jobs import create_huey
from prunerr.tasks import Tasks

log = logging.getLogger(__name__)


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
    app = Prunerr.from_environment()
    _logging(app, "prunerr")
    app.check_rules_dir()
    tasks = Tasks(app, create_huey(app.config))
    api = app.api(tasks=tasks)
    api.keys.current()  # generated and stored on first start
    consumer = None
    if not args.no_worker:
        # Process workers by default: a thread parsing one 30 MB Radarr listing holds the GIL
        # for a third of a second, and the API must never wait for the jobs. They are forked
        # now, before this process holds any database connection.
        app.store.disconnect()
        consumer = tasks.huey.create_consumer(
            workers=args.workers,
            periodic=not args.no_periodic,
            worker_type=args.worker_type,
            shutdown_timeout=30,
        )
        consumer.start()
        # the consumer installs handlers of its own; here the server decides when to stop
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGHUP, _interrupt)
    threading.Thread(target=api.library.snapshot, name="library-warm-up", daemon=True).start()
    server = create_server(
        create_app(api), host=args.host, port=app.config["port"], threads=8, ident="prunerr"
    )
    signal.signal(signal.SIGTERM, _interrupt)  # `docker stop` stops it like Ctrl-C
    log.info(
        "Prunerr API on http://%s:%s (key: GET /api/settings/api-key, or PRUNERR_API_KEY)",
        args.host,
        server.effective_port,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if consumer is not None:
            consumer.stop(graceful=True)
    return 0


def cmd_worker(args) -> int:
    app = Prunerr.from_environment()
    _logging(app, f"worker-{socket.gethostname()}")
    app.check_rules_dir()
    tasks = Tasks(app, create_huey(app.config))
    consumer = tasks.huey.create_consumer(
        workers=args.workers, periodic=not args.no_periodic, worker_type=args.worker_type
    )
    log.info(
        "Prunerr worker: %d thread(s), %s",
        args.workers,
        "schedules periodic jobs" if not args.no_periodic else "no periodic jobs",
    )
    consumer.run()  # until SIGINT or SIGTERM
    return 0


def _consumer_options(parser, workers: int) -> None:
    parser.add_argument(
        "--workers", type=int, default=workers, help=f"job threads (default {workers})"
    )
    parser.add_argument(
        "--no-periodic",
        action="store_true",
        help="do not schedule periodic jobs (exactly one consumer of a deployment should)",
    )


def cmd_openapi(args) -> int:
    print(json.dumps(openapi.document(), indent=2))
    return 0


def register(commands) -> None:
    o = commands.add_parser("openapi", help="print the API's OpenAPI 3.1 document")
    o.set_defaults(handler=cmd_openapi)
    p = commands.add_parser("serve", help="serve the HTTP API (port from PORT, default 3000)")
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
    _consumer_options(w, 4)
    w.add_argument("--worker-type", choices=("thread", "process"), default="thread")
    w.set_defaults(handler=cmd_worker)
