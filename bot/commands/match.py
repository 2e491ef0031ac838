"""`chanwatch match QUERY [--input FILE] [--explain]`: which JSON Lines posts a query matches.

Reads posts ``{"id", "channel", "text"}`` (only ``text`` required), one JSON object a line,
from FILE or stdin, and prints the ``id`` of every matching post, one per line, in input
order, exactly as given: a number as its JSON source text (``1.50``, ``1e3``, ``-0``), a
string raw, unless it is empty or holds a line break (U+2028 and U+2029 included), another
control character or a lone surrogate: then JSON-encoded with those characters escaped (``"a\\nb"``),
so that every id stays on one line and can be decoded. A post with no ``id`` or with
``"id": null`` is named by its 1-based line number; any other id (object, array, boolean) is
an input error.

Input is UTF-8 (a byte-order mark at the start is skipped), decoded line by line, so a bad
line is named by its number, and the ids of the matches before it are already printed.
Imports the query engine only when run, so the command starts fast.
"""

from __future__ import annotations

import argparse
import codecs
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from bot.commands._common import add_query_argument
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
            "and print the id of every post the query matches, one per line, in input order: "
            "a number or string exactly as given (a string with a line break or other control "
            "character JSON-encoded), the line number when a post has no id. Input is UTF-8. "
            "Exit 0 also when nothing matches, 2 on an invalid query or input."
        ),
    )
    add_query_argument(p)
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


class _Sourced:
    """A JSON number that remembers its source text (``-0`` stays ``-0``, ``1.50`` stays
    ``1.50``): mixed into ``int`` and ``float``."""

    source: str

    def __new__(cls, text: str) -> Any:
        number = super().__new__(cls, text)  # type: ignore[call-arg]
        number.source = text
        return number


class _Int(_Sourced, int):
    """A JSON integer with its source text."""


class _Float(_Sourced, float):
    """A JSON number with a fraction or exponent (or NaN/Infinity), with its source text."""


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
"""What a string id may not print raw: line breaks, control characters, lone surrogates."""


def _escape(char: re.Match[str]) -> str:
    return f"\\u{ord(char.group()):04x}"


def _check_id(post: dict[str, Any], source: str, line_no: int) -> None:
    value = post.get("id")
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        raise UsageError(f"{source}: line {line_no}: id must be a string or a number")


def _label(post: dict[str, Any], line_no: int) -> str:
    """How a post is named in the output (see the module docstring)."""
    value = post.get("id")
    if value is None:
        return str(line_no)
    if isinstance(value, str):
        if value and not _UNPRINTABLE.search(value):
            return value  # (an empty id is printed as "", not as an empty line)
        return _UNPRINTABLE.sub(_escape, json.dumps(value, ensure_ascii=False))
    text = getattr(value, "source", None)
    return text if isinstance(text, str) else json.dumps(value)


def _channel_keys(channel: Any) -> frozenset[str]:
    from bot.query import channel_keys

    if channel is None:
        return frozenset()
    if isinstance(channel, list):
        return channel_keys([str(c) for c in channel if c is not None])
    if isinstance(channel, int) and not isinstance(channel, bool):
        return channel_keys(channel_id=channel)
    return channel_keys([str(channel)])


def _decode(line: str | bytes, source: str, line_no: int) -> str:
    """A line as text: bytes decoded strictly as UTF-8, a BOM dropped from the first line."""
    if isinstance(line, str):
        return line.removeprefix("\ufeff") if line_no == 1 else line
    if line_no == 1:
        line = line.removeprefix(codecs.BOM_UTF8)
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{source}: line {line_no}: not UTF-8 text") from None


def read_posts(
    lines: Iterable[str] | Iterable[bytes], source: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, post)`` of each non-blank line, as it is read; UsageError naming a
    malformed line. Lines may be bytes (decoded as UTF-8 one by one) or text."""
    each: Iterable[str | bytes] = lines
    for line_no, raw in enumerate(each, start=1):
        line = _decode(raw, source, line_no)
        if not line.strip():
            continue
        try:
            post = json.loads(line, parse_int=_Int, parse_float=_Float, parse_constant=_Float)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{source}: line {line_no}: invalid JSON: {exc.msg}") from None
        except ValueError:  # an integer past Python's digit limit
            raise UsageError(f"{source}: line {line_no}: invalid JSON: number too long") from None
        if not isinstance(post, dict):
            raise UsageError(f"{source}: line {line_no}: expected a JSON object")
        if "text" not in post:
            raise UsageError(f'{source}: line {line_no}: missing "text"')
        if not isinstance(post["text"], str):
            raise UsageError(f'{source}: line {line_no}: "text" must be a string')
        _check_id(post, source, line_no)
        yield line_no, post


def match_posts(
    compiled: CompiledQuery,
    lines: Iterable[str] | Iterable[bytes],
    source: str,
    *,
    explain: bool = False,
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


def _open(path: str | None) -> tuple[IO[bytes] | IO[str], str, bool]:
    """The input as bytes (stdin's buffer; a stdin replaced by a text stream is read as
    text), the name errors give it, and whether to close it."""
    if path is None or path == "-":
        stdin: IO[str] = sys.stdin
        return getattr(stdin, "buffer", stdin), "<stdin>", False
    try:
        return open(path, "rb"), path, True
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
    finally:
        if owned:
            stream.close()
        out.flush()  # the matches before a bad line are printed before its error
    return 0
