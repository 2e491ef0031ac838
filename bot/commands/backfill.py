"""`chanwatch backfill CHANNEL --limit N`: bring a channel's history into the archive."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.commands._common import add_config_argument, settings_from
from bot.errors import ConfigError, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `backfill` command."""
    parser = subparsers.add_parser(
        "backfill",
        help="fetch a channel's older posts into the archive (never alerts)",
        description="Fetch up to --limit of a channel's newest posts through the Telegram account.",
    )
    add_config_argument(parser)
    parser.add_argument("channel", help="@username, t.me link or username")
    parser.add_argument("--limit", type=int, default=1000, help="posts to fetch (default 1000)")
    parser.set_defaults(run=run)


async def _backfill(args: argparse.Namespace) -> int:
    from bot.ingest import Ingestor
    from bot.models import ChannelRef, to_epoch, username_from_link, utc_now
    from bot.sources.telegram import TelegramCatchUp, WatchedChannels, build_client
    from storage import channels as channel_repo
    from storage.db import Database

    if args.limit <= 0:
        raise UsageError(f"--limit: must be a positive integer, got {args.limit}")
    settings = settings_from(args)
    missing = [m for m in settings.missing_for_run() if m.startswith(("telegram", "no Telegram"))]
    if missing:
        raise ConfigError("; ".join(missing))
    username = username_from_link(args.channel)
    db = Database(settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms)
    await db.open()
    client = build_client(settings.telegram)
    try:
        await client.connect()
        if not await client.is_user_authorized():
            raise ConfigError("the Telegram session is not logged in: run `chanwatch login`")
        ingestor = Ingestor(db)
        catchup = TelegramCatchUp(
            client, db, ingestor, WatchedChannels(), settings.telegram.catchup
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


def run(args: argparse.Namespace) -> int:
    """Backfill one channel."""
    return asyncio.run(_backfill(args))
