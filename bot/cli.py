"""`chanwatch <command>` and `python -m bot <command>`: one program.

Each command lives in `bot/commands/<name>.py` with `register(subparsers)` and `run(args)`.
Command modules import nothing heavy at import time, so `match` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from bot.errors import ChanwatchError
from bot.logging_setup import redact

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 ok, 1 runtime failure, 2 usage/config/query)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        status: int = args.run(args)
        return status
    except ChanwatchError as exc:
        if debug:
            traceback.print_exc()
        print(redact(str(exc)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            redact(f"chanwatch: unexpected error: {exc.__class__.__name__}: {exc} ")
            + "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def entry_point() -> None:
    """Console script entry."""
    sys.exit(main())
