"""`chanwatch match QUERY [--input FILE] [--explain]`: which JSON Lines posts a query matches.

Reads posts ``{"id", "channel", "text"}`` (only ``text`` required), one JSON object a line,
from FILE or stdin, and prints the ``id`` of every matching post as given (a string raw,
anything else as JSON; the 1-based line number when there is no ``id``), in input order.
Imports the query engine only when run, so the command starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.query import CompiledQuery, Hit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `match` command."""
    p = subparsers.add_parser(
        "match",
        help="print the ids of JSON Lines posts that match a query",
        description=(
            'Read posts as JSON Lines ({"id", "channel", "text"}; only text is required) '
            "and print the id of every post the query matches, one per line, in input order "
            "(the line number when a post has no id). Exit 0 also when nothing matches, "
            "2 on an invalid query or input."
        ),
    )
    p.add_argument("query", metavar="QUERY", help="the query (see `chanwatch check-query`)")
    p.add_argument(
        "--input", "-i", metavar="FILE", default=None, help="read posts from FILE (default: stdin)"
    )
    p.add_argument(
        "--explain", action="store_true", help="after each id, show which words matched and why"
    )
    p.set_defaults(run=run)


@dataclass(frozen=True, slots=True)
class MatchedPost:
    """A matching post: its id as printed, and the hits when asked for."""

    label: str
    hits: tuple[Hit, ...] = ()


def _label(post: dict[str, Any], line_no: int) -> str:
    value = post.get("id")
    if value is None:
        return str(line_no)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _channel_keys(channel: Any) -> frozenset[str]:
    from bot.query import channel_keys

    if channel is None:
        return frozenset()
    if isinstance(channel, list):
        return channel_keys([str(c) for c in channel if c is not None])
    if isinstance(channel, int) and not isinstance(channel, bool):
        return channel_keys(channel_id=channel)
    return channel_keys([str(channel)])


def read_posts(lines: Iterable[str], source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, post)`` of each non-blank line; UsageError naming a malformed line."""
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            post = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{source}: line {line_no}: invalid JSON: {exc.msg}") from None
        if not isinstance(post, dict):
            raise UsageError(f"{source}: line {line_no}: expected a JSON object")
        if "text" not in post:
            raise UsageError(f'{source}: line {line_no}: missing "text"')
        if not isinstance(post["text"], str):
            raise UsageError(f'{source}: line {line_no}: "text" must be a string')
        yield line_no, post


def match_posts(
    compiled: CompiledQuery, lines: Iterable[str], source: str, *, explain: bool = False
) -> Iterator[MatchedPost]:
    """The posts of ``lines`` that ``compiled`` matches, in input order (the code path of
    `chanwatch match`)."""
    from bot.query import Document, get_normalizer

    normalizer = get_normalizer()
    for line_no, post in read_posts(lines, source):
        doc = Document(post["text"], _channel_keys(post.get("channel")))
        analysis = normalizer.analyse(doc.text)
        if compiled.matches(doc, analysis):
            hits = tuple(compiled.explain(doc, analysis)) if explain else ()
            yield MatchedPost(_label(post, line_no), hits)


def format_hit(hit: Hit) -> str:
    """One `--explain` line: the text matched, where, which term and why."""
    where = "" if hit.start < 0 else f" [{hit.start}:{hit.end}]"
    detail = f" ({hit.detail})" if hit.detail else ""
    return f"  «{hit.token}»{where} <- {hit.term}: {hit.reason}{detail}"


def _open(path: str | None) -> tuple[TextIO, str, bool]:
    if path is None or path == "-":
        return sys.stdin, "stdin", False
    try:
        return open(path, encoding="utf-8"), path, True
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    """Print the ids of the matching posts; 0 also when nothing matches."""
    from bot.query import compile_query

    compiled = compile_query(args.query)
    stream, source, owned = _open(getattr(args, "input", None))
    out = sys.stdout
    try:
        for post in match_posts(
            compiled, stream, source, explain=bool(getattr(args, "explain", False))
        ):
            out.write(post.label + "\n")
            for hit in post.hits:
                out.write(format_hit(hit) + "\n")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source}: not UTF-8 text ({exc.reason})") from None
    finally:
        if owned:
            stream.close()
    out.flush()
    return 0
