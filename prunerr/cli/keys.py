"""`prunerr api-key`: the API key for the web API, shown or rotated from a shell on the server
(what `prunerr serve` points a new user to when no PRUNERR_API_KEY is set)."""

from __future__ import annotations

import sys

from prunerr.app import Prunerr


def cmd_api_key(args) -> int:
    from prunerr.api.auth import ApiKeys  # here: the API's imports only when this command runs

    app = Prunerr.from_environment()
    keys = ApiKeys(app.store, app.config["api_key"])
    if args.regenerate:
        if keys.from_environment:
            print("prunerr: the key is set by PRUNERR_API_KEY: change it there", file=sys.stderr)
            return 1
        print(keys.regenerate())
        return 0
    print(keys.current())
    return 0


def register(commands) -> None:
    p = commands.add_parser(
        "api-key",
        help="print the API key (send it as X-Api-Key)",
        description="Print the API key, generated and stored in the database on first use "
        "unless PRUNERR_API_KEY sets it.",
        epilog='curl -H "X-Api-Key: $(prunerr api-key)" http://localhost:3000/api/stats\n'
        "prunerr api-key --regenerate",
    )
    p.add_argument(
        "--regenerate", action="store_true", help="replace it; the old key stops working at once"
    )
    p.set_defaults(handler=cmd_api_key)
