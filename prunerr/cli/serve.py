"""`prunerr serve`: the HTTP API on a production WSGI server (waitress)."""

from __future__ import annotations

import logging
import signal
import threading

from waitress.server import create_server

from prunerr.api import Api, create_app
from prunerr.api.auth import ApiKeys
from prunerr.app import Prunerr
from prunerr.library import LibraryIndex

log = logging.getLogger(__name__)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def cmd_serve(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Prunerr.from_environment()
    keys = ApiKeys(app.store, app.config["api_key"])
    keys.current()  # generated and stored on first start
    index = LibraryIndex(app.store, app.services, app.catalog, app.config["watch_history"])
    rules = app.load_rules().rules  # read once; reloading comes with the rules endpoints
    api = Api(app.store, app.config, app.services, keys, index, lambda: rules)
    threading.Thread(target=index.snapshot, name="library-warm-up", daemon=True).start()
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
