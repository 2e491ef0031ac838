"""`chanwatch login`: create the Telegram session interactively (phone, code, 2FA)."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.commands._common import add_config_argument, settings_from
from bot.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `login` command."""
    parser = subparsers.add_parser(
        "login",
        help="log the listener's Telegram account in and save the session",
        description=(
            "Log in with a phone number, the code Telegram sends and the 2FA password if set. "
            "The session is saved to telegram.session; --print-session also prints it as a "
            "StringSession for CHANWATCH_SESSION (keep it secret: it is the account)."
        ),
    )
    add_config_argument(parser)
    parser.add_argument(
        "--print-session",
        action="store_true",
        help="print a StringSession to stdout (for containers)",
    )
    parser.set_defaults(run=run)


async def _login(args: argparse.Namespace) -> int:
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    settings = settings_from(args)
    tg = settings.telegram
    if tg.api_id is None or tg.api_hash is None:
        raise ConfigError(
            "telegram.api_id and telegram.api_hash are needed to log in: put them in the config "
            "file or set CHANWATCH_API_ID and CHANWATCH_API_HASH (from my.telegram.org)"
        )
    session: StringSession | str
    if tg.session_string is not None:
        session = StringSession(tg.session_string.get_secret_value())
    elif args.print_session:
        session = StringSession()
    else:
        session = tg.session
    client = TelegramClient(session, tg.api_id, tg.api_hash.get_secret_value())
    try:
        await client.start(
            phone=lambda: input("Phone number (international format): "),
            code_callback=lambda: input("Code Telegram sent you: "),
            password=lambda: getpass.getpass("2FA password: "),
        )
        me = await client.get_me()
        print(f"logged in as {getattr(me, 'username', None) or me.id}", file=sys.stderr)
        if args.print_session:
            print(StringSession.save(client.session))
        elif tg.session_string is None:
            print(f"session saved to {tg.session}", file=sys.stderr)
    finally:
        await client.disconnect()
    return 0


def run(args: argparse.Namespace) -> int:
    """Log in interactively."""
    import asyncio

    return asyncio.run(_login(args))
