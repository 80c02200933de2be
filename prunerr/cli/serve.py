"""`prunerr serve`: the HTTP API on a production WSGI server (waitress)."""

from __future__ import annotations

import logging
import signal
import threading

from waitress.server import create_server

from prunerr.api import create_app
from prunerr.app import Prunerr

log = logging.getLogger(__name__)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def cmd_serve(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Prunerr.from_environment()
    api = app.api()
    api.keys.current()  # generated and stored on first start
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
    return 0


def register(commands) -> None:
    p = commands.add_parser("serve", help="serve the HTTP API (port from PORT, default 3000)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    p.set_defaults(handler=cmd_serve)
