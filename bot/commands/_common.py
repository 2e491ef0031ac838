"""Helpers shared by command modules (light imports only)."""

from __future__ import annotations

import argparse

from bot.config import Settings, load_settings
from bot.logging_setup import configure_logging


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


def settings_from(args: argparse.Namespace) -> Settings:
    """Load the settings named by --config and set up logging that masks their secrets."""
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
