"""Every command's `--help` ends with examples, and every example is a command line that parses,
so a new command cannot go without them and an old one cannot drift from them."""

from __future__ import annotations

import argparse
import shlex

import pytest

from prunerr.cli import build_parser


def parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("prunerr",)):
    """(command path, parser) of the parser and every subcommand under it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*path, name))


ALL = list(parsers(build_parser()))
SHELL = {">", ">>", "<", "|", "||", "&&", ";", "&"}


def words(line: str) -> list[str]:
    """A shell line's words up to its first redirection or operator, comments left out."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found = []
    for word in lexer:
        if word in SHELL:
            break
        found.append(word)
    return found


def test_the_daily_commands_are_all_there():
    names = {" ".join(path[1:]) for path, _ in ALL}
    assert names >= {
        *(f"rules {c}" for c in ("check", "test", "eval", "explain", "fields", "functions")),
        *("rules plan", "rules schema", "sync", "emulate", "plugins", "config", "api-key"),
        *(f"queue {c}" for c in ("list", "process", "keep", "cancel")),
        *("evaluate", "protect", "unprotect", "openapi", "serve", "worker", "demo"),
    }


@pytest.mark.parametrize(("path", "parser"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_ends_with_examples_that_parse(path, parser):
    text = parser.format_help()
    assert "\nexamples:\n" in text, f"`{' '.join(path)} --help` has no examples"
    examples = text.split("\nexamples:\n", 1)[1].splitlines()
    commands = [words(line) for line in examples]
    own = [command for command in commands if command[:1] == ["prunerr"]]
    assert own, f"`{' '.join(path)} --help` shows no prunerr command"
    assert any(command[: len(path)] == list(path) for command in own)
    for command in own:
        build_parser().parse_args(command[1:])  # exits (fails) on a bad example
