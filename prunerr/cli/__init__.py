"""The `prunerr` command line, and what its commands share: help that ends with examples,
tables, and naming one thing by its id or by a piece of its title."""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from prunerr import __version__
from prunerr.config import ConfigError
from prunerr.rules.rulebook import ProtectionBroken
from prunerr.store.activity import Actor
from prunerr.store.database import NewerSchemaError

ACTOR = Actor("user", "command line")  # who the activity log says acted
T = TypeVar("T")
SHOWN = 20  # candidates listed when a title names several


class Parser(argparse.ArgumentParser):
    """Every parser of the command line (subparsers are made of the parent's class). Its
    `epilog` holds examples, one command a line (`# ...` may comment one): help ends with them
    under "examples:", their lines kept; descriptions wrap as usual."""

    def format_help(self) -> str:
        if not self.epilog:
            return super().format_help()
        plain = copy.copy(self)
        plain.epilog = None
        lines = "".join(f"  {line.strip()}\n" for line in self.epilog.strip().splitlines())
        return f"{super(Parser, plain).format_help()}\nexamples:\n{lines}"


def build_parser() -> argparse.ArgumentParser:
    # here, not at the top: the command modules import this module's helpers
    from . import config, demo, doctor, keys, library, queue, rules, serve, settings

    parser = Parser(
        prog="prunerr",
        description="Keep media libraries lean with rules written as code.",
        epilog="prunerr sync\nprunerr rules plan\nprunerr queue list\nprunerr serve",
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
    settings.register(commands)
    doctor.register(commands)
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


def print_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Columns padded to their widest cell, the last one left ragged."""
    lines = [[str(v) for v in row] for row in [header, *rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def pick(
    text: str,
    candidates: Sequence[T],
    *,
    by_id: Callable[[int], T | None],
    names: Callable[[T], Iterable[str]],
    describe: Callable[[T], str],
    what: str,
) -> T | None:
    """What ITEM names: `#N` the thing with that id (`by_id`); else the one candidate a name of
    which contains `text`, case-insensitively (a whole name wins over parts of others); an
    all-digit `text` names the thing with that id, unless a title has it as a word (then
    those are listed and neither is chosen: `prunerr unprotect 1917` must not act on the wrong
    one). When none or several match, says so on stderr, listing them, and answers None."""
    if text.startswith("#") and text[1:].isdigit():
        found = by_id(int(text[1:]))
        if found is None:
            print(f"prunerr: no {what} has the id {text[1:]}", file=sys.stderr)
        return found
    needle = text.casefold()
    matches = [c for c in candidates if any(needle in n.casefold() for n in names(c))]
    if text.isdigit() and (found := by_id(int(text))) is not None:
        # a number in a title ("Atlas 9", "1917"), not a year's digits, makes it ambiguous
        clashing = [c for c in matches if any(text in n.split() for n in names(c))]
        if not clashing:
            return found
        matches = clashing
        print(
            f"prunerr: {text!r} is an id and is in titles too; name the one you mean as #ID:",
            file=sys.stderr,
        )
        for candidate in [found, *matches[:SHOWN]]:
            print(f"  {describe(candidate)}", file=sys.stderr)
        return None
    exact = [c for c in matches if any(needle == n.casefold() for n in names(c))]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        has = "that id or a title containing it" if text.isdigit() else "a title containing it"
        print(f"prunerr: nothing matches {text!r}: no {what} has {has}", file=sys.stderr)
        return None
    print(
        f"prunerr: {len(matches)} {what} titles contain {text!r}; name the one you mean as #ID:",
        file=sys.stderr,
    )
    for candidate in matches[:SHOWN]:
        print(f"  {describe(candidate)}", file=sys.stderr)
    if len(matches) > SHOWN:
        print(f"  ... and {len(matches) - SHOWN} more", file=sys.stderr)
    return None
