"""`prunerr settings show|set`: the settings that may change while Prunerr runs, saved in the
database as `PUT /api/settings` saves them (the environment and prunerr.yaml still win). A new
installation starts in dry run; `prunerr settings set dry_run false` lets it delete."""

from __future__ import annotations

import sys

from pony.orm import db_session

from prunerr.app import Prunerr
from prunerr.config import settings


def cmd_show(args) -> int:
    app = Prunerr.from_environment()
    app.refresh_config()
    shown = app.config.public()
    for key in settings.EDITABLE:
        print(f"{key:<24} {_text(shown[key]):<20} ({app.config.sources.get(key, 'default')})")
    return 0


def _text(value: object) -> str:
    if value is None:  # a schedule turned off
        return "off"
    return str(value).lower() if isinstance(value, bool) else str(value)


def cmd_set(args) -> int:
    app = Prunerr.from_environment()
    app.refresh_config()
    setting = app.config.schema.settings.get(args.key)
    if setting is None or args.key not in settings.EDITABLE:
        print(
            f"prunerr settings: {args.key} cannot be set here; these can: "
            f"{', '.join(settings.EDITABLE)}",
            file=sys.stderr,
        )
        return 2
    try:
        value = setting.parse(args.value)  # the command line's strings, as the environment's
    except ValueError as exc:
        print(f"prunerr settings: {args.key}: {exc}", file=sys.stderr)
        return 1
    try:
        with db_session:
            settings.save(app.store, app.config, {args.key: value})
    except settings.Refused as exc:
        print(f"prunerr settings: {exc}", file=sys.stderr)
        return 1
    app.refresh_config()
    print(f"{args.key} = {_text(app.config.public()[args.key])} (saved in the database)")
    if args.key == "dry_run":
        print(
            "dry run is on: processing records what it would delete and changes nothing"
            if value
            else "dry run is off: queued items are deleted once their grace period is over"
        )
    return 0


def register(commands) -> None:
    p = commands.add_parser("settings", help="show or change the settings saved in the database")
    p.epilog = "prunerr settings show\nprunerr settings set dry_run false  # start deleting"
    sub = p.add_subparsers(dest="settings_command", metavar="COMMAND", required=True)
    show = sub.add_parser(
        "show",
        help="each setting that may change while Prunerr runs",
        epilog="prunerr settings show",
    )
    show.set_defaults(handler=cmd_show)
    change = sub.add_parser(
        "set",
        help="save a setting (e.g. `dry_run false` to start deleting)",
        description="Save a setting in the database, as PUT /api/settings does; running "
        "Prunerr processes apply it before their next job. The environment and prunerr.yaml "
        "win over saved settings.",
        epilog="prunerr settings set dry_run false  # start deleting\n"
        "prunerr settings set default_grace_days 14",
    )
    change.add_argument("key", metavar="KEY", help=f"one of {', '.join(settings.EDITABLE)}")
    change.add_argument("value", metavar="VALUE")
    change.set_defaults(handler=cmd_set)
