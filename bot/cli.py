"""`chanwatch <command>` and `python -m bot <command>`: one program.

Each command lives in `bot/commands/<name>.py` with `register(subparsers)` and `run(args)`.
Command modules import nothing heavy at import time, so `match` starts fast.

A QUERY may start with `-` (`chanwatch match -шахед`, `chanwatch search -ППО --limit 5`):
argparse would take such a token for an unknown option, so `main` first moves it behind a
`--` (`query_argv`). For a command with a QUERY argument, a token that starts with `-` is the
query unless it is one of that command's own options (exactly, as `--opt=value`, as `-oVALUE`
for a short option that takes a value, or a long option's unambiguous abbreviation), a value
of the option before it, or looks like an unknown long option (`--` and an ASCII letter,
which argparse then reports).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from typing import Any

from bot.errors import ChanwatchError

COMMAND_MODULES = (
    "run",
    "login",
    "backfill",
    "match",
    "check_query",
    "search",
    "reindex",
    "import_export",
    "export",
)

QUERY_DEST = "query"
"""The destination of a command's positional QUERY (see `bot.commands._common`)."""

_LONG_OPTION = re.compile(r"--[A-Za-z]")


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that remembers the arguments declared on it (public API only), so
    that `query_argv` knows each command's options; sub-commands get the same class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.declared: list[argparse.Action] = []
        self.commands: dict[str, argparse.ArgumentParser] = {}
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.declared.append(action)
        return action

    @property
    def takes_query(self) -> bool:
        """True when the command has a positional QUERY."""
        return any(not a.option_strings and a.dest == QUERY_DEST for a in self.declared)


class _Options:
    """The option strings of one parser, and how many values each option takes."""

    def __init__(self, parser: CommandParser) -> None:
        self.by_string = {s: a for a in parser.declared for s in a.option_strings}
        self.allow_abbrev = parser.allow_abbrev

    def find(self, token: str) -> tuple[argparse.Action | None, bool]:
        """The option ``token`` names and whether it carries its value (``--opt=value``)."""
        if token in self.by_string:
            return self.by_string[token], False
        if not token.startswith("--"):
            # `-iFILE`: a short option that takes a value, with the value attached (argparse
            # reads it so; a one-token query starting with `-` has no positive term anyway)
            action = self.by_string.get(token[:2])
            if action is not None and action.nargs != 0:
                return action, True
            return None, False
        name, equals, _ = token.partition("=")
        if name in self.by_string:
            return self.by_string[name], bool(equals)
        if self.allow_abbrev and len(name) > 2:
            found = {
                action
                for string, action in self.by_string.items()
                if string.startswith("--") and string.startswith(name)
            }
            if len(found) == 1:
                return found.pop(), bool(equals)
        return None, False


def _values_taken(action: argparse.Action, rest: Sequence[str]) -> int:
    """How many of the tokens after option ``action`` argparse gives it as values."""
    nargs = action.nargs
    if nargs is None:
        return min(1, len(rest))
    if isinstance(nargs, int):
        return min(nargs, len(rest))
    if nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE, argparse.ONE_OR_MORE):
        count = 0
        for token in rest:
            if token.startswith("-") or (nargs == argparse.OPTIONAL and count == 1):
                break
            count += 1
        return count
    return len(rest)  # REMAINDER or PARSER: everything after is its own


def _command_index(parser: CommandParser, argv: Sequence[str]) -> int | None:
    """Where the command name is in ``argv`` (after the program's own options)."""
    options = _Options(parser)
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return None
        if token.startswith("-") and len(token) > 1:
            action, inline = options.find(token)
            i += 1
            if action is not None and not inline:
                i += _values_taken(action, argv[i:])
            continue
        return i
    return None


def _query_tail(command: CommandParser, tail: Sequence[str]) -> list[str]:
    """The command's arguments with every positional token, including a query that starts
    with `-`, moved after one `--`; unchanged when no such query is there."""
    options = _Options(command)
    kept: list[str] = []
    positionals: list[str] = []
    moved = False
    i = 0
    while i < len(tail):
        token = tail[i]
        if token == "--":
            positionals.extend(tail[i + 1 :])
            break
        if token.startswith("-") and len(token) > 1:
            action, inline = options.find(token)
            if action is not None:
                count = 0 if inline else _values_taken(action, tail[i + 1 :])
                kept.extend(tail[i : i + 1 + count])
                i += 1 + count
                continue
            if _LONG_OPTION.match(token):
                kept.append(token)  # an unknown option: argparse says so
                i += 1
                continue
            moved = True
        positionals.append(token)
        i += 1
    if not moved:
        return list(tail)
    return [*kept, "--", *positionals]


def query_argv(parser: CommandParser, argv: Sequence[str]) -> list[str]:
    """``argv`` with a query that starts with `-` made positional (behind `--`) for the
    commands that take a QUERY, so argparse does not read it as an unknown option."""
    index = _command_index(parser, argv)
    if index is None:
        return list(argv)
    command = parser.commands.get(argv[index])
    if not isinstance(command, CommandParser) or not command.takes_query:
        return list(argv)
    return [*argv[: index + 1], *_query_tail(command, argv[index + 1 :])]


def build_parser() -> CommandParser:
    """The argument parser with every command registered."""
    parser = CommandParser(
        prog="chanwatch",
        description="Telegram channel monitor: archive, alerts, search.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logging on errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"bot.commands.{name}")
        module.register(subparsers)
    parser.commands = dict(subparsers.choices)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 ok, 1 runtime failure, 2 usage/config/query)."""
    parser = build_parser()
    args = parser.parse_args(query_argv(parser, sys.argv[1:] if argv is None else argv))
    debug = bool(getattr(args, "debug", False))
    try:
        status: int = args.run(args)
        return status
    except ChanwatchError as exc:
        if debug:
            _print_traceback()
        print(_redact(str(exc)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if debug:
            _print_traceback()
        print(
            _redact(f"chanwatch: unexpected error: {exc.__class__.__name__}: {exc} ")
            + "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def _redact(text: str) -> str:
    from bot.logging_setup import redact  # imported on an error only: `match` starts fast

    return redact(text)


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


def entry_point() -> None:
    """Console script entry."""
    sys.exit(main())
