"""`prunerr config`: the effective configuration, secrets masked, and where each value is from."""

from __future__ import annotations

import json

from prunerr.plugins import PluginHost


def cmd_config(args) -> int:
    config = PluginHost.create().load_config()
    shown = config.public()
    if args.format == "json":
        print(json.dumps({"values": shown, "sources": config.sources}, indent=2, default=str))
        return 0
    width = max(map(len, [*config.sources, *config.instances]))
    for key, source in config.sources.items():
        print(f"{key:<{width}} {shown[key]!s:<40} ({source})")
    for kind in config.instances:
        for instance in shown[kind]:
            details = ", ".join(f"{k}={v}" for k, v in instance.items() if k != "name")
            print(f"{kind:<{width}} {instance['name']}: {details}")
    return 0


def register(commands) -> None:
    p = commands.add_parser(
        "config",
        help="show the effective configuration (secrets masked)",
        epilog="prunerr config\nprunerr config --format json",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_config)
