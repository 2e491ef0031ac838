"""`chanwatch reindex`: rebuild the search index after a change of dictionaries or rules."""

from __future__ import annotations

import argparse
import sys

from bot.commands._common import add_config_argument, settings_from


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `reindex` command."""
    parser = subparsers.add_parser(
        "reindex",
        help="rebuild the archive's search index (after an upgrade of the normaliser)",
        description=(
            "Re-normalise posts indexed by an older normaliser version (or all of them with "
            "--all), in batches on a process pool; an interrupted run resumes where it stopped."
        ),
    )
    add_config_argument(parser)
    parser.add_argument("--all", action="store_true", help="reindex every post")
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.set_defaults(run=run)


async def _reindex(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from bot.query import NORMALIZER_VERSION
    from bot.search_index import reindex
    from storage import search as search_repo
    from storage.db import Database
    from storage.posts import count_posts

    settings = settings_from(args)
    db = Database(settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms)
    await db.open()
    try:
        async with db.read() as conn:
            count = (
                await count_posts(conn)
                if args.all
                else await search_repo.count_pending(conn, version=NORMALIZER_VERSION)
            )
        with Progress(disable=not sys.stderr.isatty(), transient=True) as progress:
            task = progress.add_task("reindexing", total=count)
            done = await reindex(
                db,
                everything=args.all,
                workers=args.workers,
                progress=lambda n: progress.advance(task, n),
            )
    finally:
        await db.close()
    print(f"reindexed {done} post(s) (normaliser version {NORMALIZER_VERSION})", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Rebuild the search index."""
    import asyncio

    return asyncio.run(_reindex(args))
