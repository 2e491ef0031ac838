"""`chanwatch search QUERY`: the archive, with the same query language as subscriptions."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from bot.commands._common import add_config_argument, add_query_argument
from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.search import SearchHit, SearchResult

EXCERPT_CHARS = 240


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `search` command."""
    parser = subparsers.add_parser(
        "search",
        help="search the archive (same query language as subscriptions)",
        description=(
            "Newest posts first whose current text matches QUERY, exactly as a subscription "
            "with that query would match them. Dates are UTC, bounds inclusive."
        ),
    )
    add_config_argument(parser)
    add_query_argument(parser)
    parser.add_argument("--channel", action="append", help="only this channel (repeatable)")
    parser.add_argument("--since", help="from this date or ISO time (UTC), inclusive")
    parser.add_argument("--until", help="up to this date or ISO time (UTC), inclusive")
    parser.add_argument("--limit", type=int, default=20, help="at most N posts (default 20)")
    parser.add_argument("--json", action="store_true", help="JSON Lines, one post per line")
    parser.set_defaults(run=run)


def parse_when(value: str, option: str, *, end_of_day: bool) -> datetime:
    """A date (`2026-11-01`, `20261101`, any ISO date) or ISO time (`2026-11-01T10:00`), taken
    as UTC if it has no zone. A date is its whole day: from its start, or with `end_of_day`
    (an --until bound) to its end."""
    try:
        moment = datetime.combine(date.fromisoformat(value), time.max if end_of_day else time.min)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(
                f"{option}: expected a date (2026-11-01) or ISO time (2026-11-01T10:00), "
                f"got {value!r}"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def excerpt(
    text: str, hits: list[tuple[int, int]], width: int = EXCERPT_CHARS
) -> tuple[str, list[tuple[int, int]]]:
    """A window of the text around the first match, and the match spans within it."""
    if not text:
        return "", []
    first = min((start for start, _ in hits), default=0)
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    window = text[start:end].replace("\n", " ")
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    spans = [
        (s - start + len(prefix), e - start + len(prefix))
        for s, e in hits
        if s >= start and e <= end
    ]
    return prefix + window + suffix, spans


def _json_line(hit: SearchHit) -> str:
    post = hit.post
    return json.dumps(
        {
            "channel": hit.channel.username,
            "channel_title": hit.channel.title,
            "channel_id": hit.channel.telegram_id,
            "message_id": post.message_id,
            "link": hit.link,
            "date": post.date.isoformat().replace("+00:00", "Z"),
            "text": post.text,
            "edited": post.edited,
            "deleted": post.deleted_at is not None,
            "deleted_at": post.deleted_at.isoformat().replace("+00:00", "Z")
            if post.deleted_at
            else None,
            "matches": [{"start": h.start, "end": h.end, "text": h.token} for h in hit.hits],
        },
        ensure_ascii=False,
    )


def _print_result(result: SearchResult, *, as_json: bool) -> None:
    from bot.search import channel_label

    if as_json:
        for hit in result.hits:
            sys.stdout.write(_json_line(hit) + "\n")
    elif sys.stdout.isatty():
        _print_rich(result)
    else:
        for hit in result.hits:
            text, _ = excerpt(hit.post.text, [(h.start, h.end) for h in hit.hits])
            flags = "".join(
                f" [{flag}]"
                for flag, on in (("edited", hit.post.edited), ("deleted", hit.post.deleted_at))
                if on
            )
            when = hit.post.date.strftime("%Y-%m-%d %H:%M")
            label = channel_label(hit.channel)
            sys.stdout.write(f"{when}\t{label}\t{hit.link}{flags}\t{text}\n")
    if result.stopped_early:
        print(budget_notice(result), file=sys.stderr)


def budget_notice(result: SearchResult) -> str:
    """The line that says a search stopped at its time budget, and how to narrow it."""
    why = (
        "most posts the index found for this query do not match it; narrow it with --channel "
        "or --since"
        if result.used_index
        else "this query cannot use the index; narrow it with a word, --channel or --since"
    )
    return f"search stopped after {result.examined} posts (time budget): {why}"


def _print_rich(result: SearchResult) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from bot.search import channel_label

    table = Table(show_lines=True)
    table.add_column("date (UTC)", no_wrap=True)
    table.add_column("channel / link", no_wrap=True)
    table.add_column("excerpt")
    for hit in result.hits:
        text, spans = excerpt(hit.post.text, [(h.start, h.end) for h in hit.hits])
        rich_text = Text(text)
        for start, end in spans:
            rich_text.stylize("bold yellow", start, end)
        if hit.post.deleted_at:
            rich_text.append("  [deleted]", style="red")
        elif hit.post.edited:
            rich_text.append("  [edited]", style="cyan")
        table.add_row(
            hit.post.date.strftime("%Y-%m-%d %H:%M"),
            Text(f"{channel_label(hit.channel)}\n{hit.link}"),  # a title is text, not markup
            rich_text,
        )
    console = Console()
    if result.hits:
        console.print(table)
    elif result.stopped_early:
        console.print(
            f"no match in the {result.examined} posts examined before the time budget ran out",
            highlight=False,
        )
    else:
        console.print("no posts match")


async def _search(args: argparse.Namespace) -> int:
    from bot.commands._archive import open_archive
    from bot.query import compile_query
    from bot.search import ArchiveSearch, SearchFilters
    from storage import channels as channel_repo

    if args.limit <= 0:
        raise UsageError(f"--limit: must be a positive integer, got {args.limit}")
    compiled = compile_query(args.query)  # a QueryError exits 2 before touching the archive
    since = parse_when(args.since, "--since", end_of_day=False) if args.since is not None else None
    until = parse_when(args.until, "--until", end_of_day=True) if args.until is not None else None
    db = await open_archive(args)
    try:
        channel_ids: tuple[int, ...] | None = None
        if args.channel:
            ids = []
            async with db.read() as conn:
                for name in args.channel:
                    channel = await channel_repo.find_channel_by_key(conn, name)
                    if channel is None:
                        raise UsageError(f"--channel: no channel {name!r} in the archive")
                    ids.append(channel.id)
            channel_ids = tuple(ids)
        result = await ArchiveSearch(db).search(
            compiled,
            filters=SearchFilters(channel_ids=channel_ids, since=since, until=until),
            limit=args.limit,
        )
    finally:
        await db.close()
    _print_result(result, as_json=args.json)
    return 0


def run(args: argparse.Namespace) -> int:
    """Search the archive."""
    import asyncio

    return asyncio.run(_search(args))
