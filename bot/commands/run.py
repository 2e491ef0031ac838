"""`chanwatch run`: start everything the config enables until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal

from bot.commands._common import add_config_argument, settings_from
from bot.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `run` command."""
    parser = subparsers.add_parser(
        "run",
        help="run the monitor (listener, scheduler, bot)",
        description="Run the monitor until SIGINT or SIGTERM; then stop cleanly and exit 0.",
    )
    add_config_argument(parser)
    parser.set_defaults(run=run)


async def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import App

    settings = settings_from(args)
    missing = settings.missing_for_run()
    if missing:
        raise ConfigError("; ".join(missing))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = App(settings)
    await app.serve(stop)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run until a stop signal; exit 0 after a clean shutdown."""
    import asyncio

    return asyncio.run(_serve(args))
