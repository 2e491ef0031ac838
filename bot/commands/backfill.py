"""`chanwatch backfill CHANNEL --limit N`: bring a channel's history into the archive."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.commands._common import add_config_argument, settings_from
from bot.errors import ConfigError, RuntimeFailure, UsageError

if TYPE_CHECKING:
    from bot.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `backfill` command."""
    parser = subparsers.add_parser(
        "backfill",
        help="fetch a channel's older posts into the archive (never alerts)",
        description=(
            "Fetch up to --limit of a channel's newest posts: through the Telegram account, "
            "or from the public web preview (no account needed)."
        ),
    )
    add_config_argument(parser)
    parser.add_argument("channel", help="@username, t.me link or username")
    parser.add_argument("--limit", type=int, default=1000, help="posts to fetch (default 1000)")
    parser.add_argument(
        "--source",
        choices=("telegram", "web"),
        default=None,
        help="where to read from (default: telegram when [telegram] is enabled, else web)",
    )
    parser.set_defaults(run=run)


async def _backfill_telegram(args: argparse.Namespace, settings: Settings, username: str) -> int:
    from bot.app import build_ingestor
    from bot.models import ChannelRef, to_epoch, utc_now
    from bot.sources.telegram import TelegramCatchUp, WatchedChannels, build_client
    from storage import channels as channel_repo
    from storage.db import Database

    missing = settings.missing_for_telegram()
    if missing:
        raise ConfigError("; ".join(missing))
    db = Database(settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms)
    await db.open()
    client = build_client(settings.telegram)
    try:
        await client.connect()
        if not await client.is_user_authorized():
            raise ConfigError("the Telegram session is not logged in: run `chanwatch login`")
        catchup = TelegramCatchUp(
            client, db, build_ingestor(db), WatchedChannels(), settings.telegram.catchup
        )
        async with db.write() as conn:
            channel = await channel_repo.find_channel_by_key(conn, username)
            if channel is None:
                channel = await channel_repo.ensure_channel(
                    conn, ChannelRef(username=username), now=to_epoch(utc_now())
                )
        if channel.access_hash is None:
            await catchup.resolve_channel(channel)
            async with db.read() as conn:
                refreshed = await channel_repo.get_channel(conn, channel.id)
            if refreshed is None or refreshed.access_hash is None:
                raise UsageError(f"{args.channel}: could not resolve the channel")
            channel = refreshed
        stored = await catchup.backfill(channel, limit=args.limit)
        print(f"{stored} new post(s) stored from @{channel.username}", file=sys.stderr)
    finally:
        await client.disconnect()
        await db.close()
    return 0


async def _backfill_web(args: argparse.Namespace, settings: Settings, username: str) -> int:
    import aiohttp

    from bot.app import build_ingestor
    from bot.sources.web import WebFetchError, WebPoller
    from storage.db import Database

    db = Database(settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms)
    await db.open()
    try:
        async with aiohttp.ClientSession() as session:
            poller = WebPoller(db, build_ingestor(db), settings.web, session=session)
            try:
                stored = await poller.backfill(username, limit=args.limit)
            except WebFetchError as exc:
                raise RuntimeFailure(f"@{username}: {exc}") from None
    finally:
        await db.close()
    print(f"{stored} new post(s) stored from @{username} (web preview)", file=sys.stderr)
    return 0


async def _backfill(args: argparse.Namespace) -> int:
    from bot.models import is_valid_username, username_from_link

    if args.limit <= 0:
        raise UsageError(f"--limit: must be a positive integer, got {args.limit}")
    settings = settings_from(args)
    username = username_from_link(args.channel)
    if not is_valid_username(username):
        raise UsageError(f"{args.channel}: not a channel username or t.me link")
    if (args.source or settings.default_source) == "web":
        return await _backfill_web(args, settings, username)
    return await _backfill_telegram(args, settings, username)


def run(args: argparse.Namespace) -> int:
    """Backfill one channel."""
    import asyncio

    return asyncio.run(_backfill(args))
