"""The `prunerr` command line."""

from __future__ import annotations

import argparse
import sys

from prunerr import __version__
from prunerr.config import ConfigError
from prunerr.database import NewerSchemaError
from prunerr.rulebook import ProtectionBroken

from . import config, demo, keys, library, queue, rules, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prunerr", description="Keep media libraries lean with rules written as code."
    )
    parser.add_argument("--version", action="version", version=f"prunerr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    rules.register(commands)
    library.register(commands)
    config.register(commands)
    serve.register(commands)
    keys.register(commands)
    queue.register(commands)
    demo.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"prunerr: invalid configuration: {exc}", file=sys.stderr)
        return 1
    except (NewerSchemaError, ProtectionBroken) as exc:
        print(f"prunerr: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `prunerr rules fields | head`
        sys.stderr.close()
        return 0
