"""Helpers shared by command modules (light imports only)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config PATH` (default ./config.toml, or $CHANWATCH_CONFIG)."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="config file (default: $CHANWATCH_CONFIG, else ./config.toml)",
    )
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks and debug logs"
    )


QUERY_HELP = (
    "the query (see `chanwatch check-query`); it may start with - (e.g. -word) where that is "
    "not an option of this command, and `-- QUERY` also works"
)


def add_query_argument(parser: argparse.ArgumentParser) -> None:
    """The positional QUERY (``args.query``); `bot.cli.query_argv` lets it start with `-`."""
    parser.add_argument("query", metavar="QUERY", help=QUERY_HELP)


def settings_from(args: argparse.Namespace) -> Settings:
    """Load the settings named by --config and set up logging that masks their secrets.

    The config module (pydantic) is imported here, not at import time: every command module
    is imported to build the parser, and `chanwatch match` must not pay for it.
    """
    from bot.config import load_settings
    from bot.logging_setup import configure_logging

    settings = load_settings(args.config)
    secrets = [
        s.get_secret_value()
        for s in (
            settings.bot.token,
            settings.telegram.api_hash,
            settings.telegram.session_string,
        )
        if s is not None
    ]
    configure_logging(debug=bool(getattr(args, "debug", False)), secrets=secrets)
    return settings
