"""`chanwatch export QUERY`: every archived post matching a query, for citing.

Each post comes with its link, its current text, its earlier versions (the texts it had
before each stored edit) and the time its deletion was recorded. CSV has one row per post,
the earlier versions in one column as JSON; JSON Lines has one object per post with the
same fields (versions as a list). Newest posts first, as `chanwatch search` lists them.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bot.commands._common import add_config_argument, add_query_argument
from bot.commands.search import parse_when
from bot.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from bot.query import CompiledQuery
    from bot.search import ArchiveSearch, SearchFilters, SearchHit
    from storage.db import Database

PAGE = 500

FIELDS = (
    "channel",
    "channel_id",
    "message_id",
    "link",
    "date",
    "edited",
    "edit_date",
    "deleted_at",
    "media_kind",
    "text",
    "versions",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `export` command."""
    parser = subparsers.add_parser(
        "export",
        help="write every post matching a query, with edits and deletions, as CSV or JSONL",
        description=(
            "All archived posts whose current text matches QUERY (the subscription query "
            "language), newest first, with their earlier versions and deletion times. "
            "Times are ISO 8601 UTC; --since/--until bounds are inclusive."
        ),
    )
    add_config_argument(parser)
    add_query_argument(parser)
    parser.add_argument(
        "--format", required=True, choices=("csv", "jsonl"), help="csv or jsonl (JSON Lines)"
    )
    parser.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--channel", action="append", help="only this channel (repeatable)")
    parser.add_argument("--since", help="from this date or ISO time (UTC), inclusive")
    parser.add_argument("--until", help="up to this date or ISO time (UTC), inclusive")
    parser.set_defaults(run=run)


def iso(value: datetime | int | None) -> str | None:
    """ISO 8601 UTC with a `Z`, from a datetime or epoch seconds; None stays None."""
    from bot.models import from_epoch

    moment = from_epoch(value) if isinstance(value, int) else value
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def record(hit: SearchHit, versions: Sequence[Any]) -> dict[str, Any]:
    """One exported post: the same fields in CSV and JSONL (versions: oldest first)."""
    post = hit.post
    return {
        "channel": hit.channel.username,
        "channel_id": hit.channel.telegram_id,
        "message_id": post.message_id,
        "link": hit.link,
        "date": iso(post.date),
        "edited": post.edited,
        "edit_date": iso(post.edit_date),
        "deleted_at": iso(post.deleted_at),
        "media_kind": post.media_kind.value,
        "text": post.text,
        "versions": [
            {
                "version": v.version,
                "text": v.text,
                "media_kind": v.media_kind.value,
                "written_at": iso(v.edit_date),  # null: the text as first posted
                "replaced_at": iso(v.replaced_at),
            }
            for v in versions
        ],
    }


class Writer:
    """CSV or JSON Lines rows onto a text stream."""

    def __init__(self, stream: IO[str], fmt: str) -> None:
        self._stream = stream
        self._format = fmt
        self._csv = csv.writer(stream) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(FIELDS)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if self._csv is not None:
                self._csv.writerow([_csv_cell(key, row[key]) for key in FIELDS])
            else:
                self._stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._stream.flush()


def _csv_cell(key: str, value: Any) -> str:
    if key == "versions":
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def matching_hits(
    search: ArchiveSearch,
    query: CompiledQuery,
    filters: SearchFilters,
    *,
    page: int | None = None,
) -> AsyncIterator[list[SearchHit]]:
    """Every post matching `query`, newest first, one page at a time, until exhausted.

    Pages are keyed by time: the next page asks for posts up to the last page's oldest
    second and skips those of that second already given, so posts stored meanwhile
    (newer) neither shift nor repeat the pages.
    """
    size = page or PAGE
    until = filters.until
    given: set[int] = set()
    per_second: Counter[int] = Counter()
    skip = 0
    while True:
        result = await search.search(
            query, filters=replace(filters, until=until), limit=size, offset=skip
        )
        if result.stopped_early:
            raise RuntimeFailure(
                f"export stopped after {result.examined} posts (time budget): narrow the "
                "query with a word, --channel or --since"
            )
        fresh = [hit for hit in result.hits if hit.post.id not in given]
        for hit in fresh:
            given.add(hit.post.id)
            per_second[int(hit.post.date.timestamp())] += 1
        if fresh:
            yield fresh
        if len(result.hits) < size or not fresh:
            return
        until = result.hits[-1].post.date
        skip = per_second[int(until.timestamp())]


async def export_posts(
    db: Database,
    query: CompiledQuery,
    filters: SearchFilters,
    write: Callable[[Sequence[dict[str, Any]]], None],
    *,
    page: int | None = None,
) -> int:
    """Write every matching post (with versions and deletion time); how many were written."""
    import asyncio

    from bot.search import ArchiveSearch
    from storage import posts as post_repo

    search = ArchiveSearch(db, time_budget_seconds=float("inf"))
    count = 0
    async for hits in matching_hits(search, query, filters, page=page):
        rows = []
        async with db.read() as conn:
            for hit in hits:
                versions = await post_repo.versions(conn, hit.post.id) if hit.post.version else []
                rows.append(record(hit, versions))
        await asyncio.to_thread(write, rows)
        count += len(rows)
    return count


async def _channel_ids(db: Database, names: Sequence[str]) -> tuple[int, ...]:
    from storage import channels as channel_repo

    ids = []
    async with db.read() as conn:
        for name in names:
            channel = await channel_repo.find_channel_by_key(conn, name)
            if channel is None:
                raise UsageError(f"--channel: no channel {name!r} in the archive")
            ids.append(channel.id)
    return tuple(ids)


async def _export(args: argparse.Namespace, stream: IO[str]) -> int:
    from bot.commands._archive import open_archive
    from bot.query import compile_query
    from bot.search import SearchFilters

    compiled = compile_query(args.query)  # a QueryError exits 2 before touching the archive
    since = parse_when(args.since, "--since", end_of_day=False) if args.since is not None else None
    until = parse_when(args.until, "--until", end_of_day=True) if args.until is not None else None
    db = await open_archive(args)
    try:
        channel_ids = await _channel_ids(db, args.channel) if args.channel else None
        writer = Writer(stream, args.format)
        return await export_posts(
            db,
            compiled,
            SearchFilters(channel_ids=channel_ids, since=since, until=until),
            writer.write,
        )
    finally:
        await db.close()


def run(args: argparse.Namespace) -> int:
    """Export matching posts to stdout or --out (written whole, or not at all)."""
    import asyncio

    if args.out is None:
        count = asyncio.run(_export(args, sys.stdout))
        print(f"exported {count} post(s)", file=sys.stderr)
        return 0
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out: {out} is a directory")
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            count = asyncio.run(_export(args, stream))
        os.replace(partial, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise RuntimeFailure(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    print(f"exported {count} post(s) to {out}", file=sys.stderr)
    return 0
