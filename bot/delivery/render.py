"""Alert messages in Telegram HTML: escaped channel text, highlights, links, splitting.

Everything a channel wrote is escaped (invariant 4). A message is built as lines of plain
text with styled spans; tags never cross a line, so a message can be split between lines
(or inside an over-long line, between words) without breaking markup. Lengths are counted in
UTF-16 code units, as Telegram counts them.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import text as words

LIMIT = 4096
EXCERPT = 1500  # characters of post text shown around the matches in a new-post alert


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram's limits count)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Line:
    """One line: plain text plus (start, end, tag, attribute) spans on it."""

    text: str
    spans: list[tuple[int, int, str, str]] = field(default_factory=list)

    def html(self) -> str:
        """The line as escaped HTML."""
        out: list[str] = []
        pos = 0
        for start, end, tag, attr in sorted(self.spans):
            start, end = max(start, pos), min(end, len(self.text))
            if start >= end:
                continue
            out.append(html.escape(self.text[pos:start], quote=False))
            opening = f'<a href="{html.escape(attr)}">' if tag == "a" else f"<{tag}>"
            out.append(f"{opening}{html.escape(self.text[start:end], quote=False)}</{tag}>")
            pos = end
        out.append(html.escape(self.text[pos:], quote=False))
        return "".join(out)

    def cut(self, at: int) -> tuple[Line, Line]:
        """Two lines, split at a character offset (spans clipped to each side)."""
        left = Line(self.text[:at], [(s, min(e, at), t, a) for s, e, t, a in self.spans if s < at])
        right = Line(
            self.text[at:],
            [(max(s, at) - at, e - at, t, a) for s, e, t, a in self.spans if e > at],
        )
        return left, right


def split_lines(lines: Sequence[Line], limit: int = LIMIT) -> list[str]:
    """Pack lines into messages of at most `limit` UTF-16 units each."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    queue = list(lines)
    while queue:
        line = queue.pop(0)
        rendered = line.html()
        length = utf16_len(rendered) + (1 if current else 0)
        if size + length <= limit:
            current.append(rendered)
            size += length
            continue
        if current:
            messages.append("\n".join(current))
            current, size = [], 0
            queue.insert(0, line)
            continue
        # One line longer than a message: cut it between words, at a size that fits.
        at = max(1, len(line.text) // 2)
        while at > 1 and utf16_len(line.cut(at)[0].html()) > limit:
            at //= 2
        space = line.text.rfind(" ", 0, at)
        head, tail = line.cut(space + 1 if space > at // 2 else at)
        queue[:0] = [head, tail]
    if current:
        messages.append("\n".join(current))
    return messages


def _text_lines(text: str, highlights: Sequence[tuple[int, int]], tag: str = "b") -> list[Line]:
    lines: list[Line] = []
    offset = 0
    for raw in text.split("\n"):
        end = offset + len(raw)
        spans = [
            (max(s, offset) - offset, min(e, end) - offset, tag, "")
            for s, e in highlights
            if s < end and e > offset
        ]
        lines.append(Line(raw, spans))
        offset = end + 1
    return lines


def excerpt(
    text: str, highlights: Sequence[tuple[int, int]], size: int = EXCERPT
) -> tuple[str, list[tuple[int, int]], bool]:
    """The text trimmed around the first match (with "…"), shifted highlights, trimmed?"""
    if len(text) <= size:
        return text, list(highlights), False
    first = min((s for s, _ in highlights), default=0)
    start = max(0, min(first - size // 4, len(text) - size))
    end = start + size
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shifted = [
        (s - start + len(prefix), e - start + len(prefix))
        for s, e in highlights
        if s >= start and e <= end
    ]
    return prefix + text[start:end] + suffix, shifted, True


@dataclass(frozen=True)
class AlertContext:
    """What every alert about a post shows around its text."""

    channel_title: str
    link: str
    date: datetime
    timezone: str = "Europe/Kyiv"
    forwarded_from: str | None = None
    late: bool = False
    queries: tuple[str, ...] = ()
    language: str = "en"


def _header(ctx: AlertContext, label: str) -> list[Line]:
    local = ctx.date.astimezone(ZoneInfo(ctx.timezone)).strftime("%d.%m.%Y %H:%M")
    title = f"{label}{ctx.channel_title}"
    lines = [Line(title, [(len(label), len(title), "b", "")]), Line(f"{local} ({ctx.timezone})")]
    notes = []
    if ctx.forwarded_from:
        notes.append(words("forwarded_from", ctx.language, name=ctx.forwarded_from))
    if ctx.late:
        notes.append(words("late", ctx.language))
    lines.extend(Line(note, [(0, len(note), "i", "")]) for note in notes)
    return lines


def _footer(ctx: AlertContext, extra: Sequence[str] = ()) -> list[Line]:
    lines = [Line(""), Line(ctx.link, [(0, len(ctx.link), "a", ctx.link)])]
    for item in extra:
        lines.append(Line(item))
    if ctx.queries:
        matched = words("matched", ctx.language, queries="; ".join(ctx.queries))
        lines.append(Line(matched, [(0, len(matched), "i", "")]))
    return lines


def render_new(
    ctx: AlertContext, text: str, highlights: Sequence[tuple[int, int]], also_in: Sequence[str] = ()
) -> list[str]:
    """A new-post alert: matched words in bold, long posts trimmed around the matches."""
    shown, spans, _ = excerpt(text, highlights)
    extra = [words("also_in", ctx.language, link=link) for link in also_in]
    return split_lines(
        [*_header(ctx, ""), Line(""), *_text_lines(shown, spans), *_footer(ctx, extra)]
    )


DIFF_CONTEXT_WORDS = 12  # unchanged words kept on each side of a change in an edit alert
ELLIPSIS = "…"


def _unchanged(run: list[str], *, first: bool, last: bool) -> list[tuple[str, str]]:
    """An unchanged run of words, with its middle left out when it is long: the words next to
    a change stay (`DIFF_CONTEXT_WORDS` each side), the rest becomes one ellipsis."""
    keep = DIFF_CONTEXT_WORDS
    if first and last:  # no change in the words at all
        head = run[: 2 * keep]
        return [(w, "") for w in head] + ([(ELLIPSIS, "")] if len(run) > len(head) else [])
    if first:
        if len(run) <= keep + 1:
            return [(w, "") for w in run]
        return [(ELLIPSIS, ""), *((w, "") for w in run[-keep:])]
    if last:
        if len(run) <= keep + 1:
            return [(w, "") for w in run]
        return [*((w, "") for w in run[:keep]), (ELLIPSIS, "")]
    if len(run) <= 2 * keep + 1:
        return [(w, "") for w in run]
    return [*((w, "") for w in run[:keep]), (ELLIPSIS, ""), *((w, "") for w in run[-keep:])]


def word_diff(before: str, after: str) -> Line:
    """Removed words struck through, added words underlined, with the unchanged words around
    each change; long unchanged stretches are shortened to an ellipsis, so an edit of one word
    in a long post stays a short message."""
    old, new = before.split(), after.split()
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    words: list[tuple[str, str]] = []
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            first, last = index == 0, index == len(opcodes) - 1
            words.extend(_unchanged(old[i1:i2], first=first, last=last))
            continue
        words.extend((w, "s") for w in old[i1:i2])
        words.extend((w, "u") for w in new[j1:j2])
    text = ""
    spans: list[tuple[int, int, str, str]] = []
    for word, tag in words:
        if text:
            text += " "
        if tag:
            spans.append((len(text), len(text) + len(word), tag, ""))
        text += word
    return Line(text, spans)


def render_edit(ctx: AlertContext, before: str, after: str) -> list[str]:
    """An edit of an alerted post as a readable word diff."""
    return split_lines(
        [
            *_header(ctx, words("edited", ctx.language)),
            Line(""),
            word_diff(before, after),
            *_footer(ctx),
        ]
    )


def render_deletion(ctx: AlertContext, original: str) -> list[str]:
    """A deletion of an alerted post, with the preserved original text in full."""
    return split_lines(
        [
            *_header(ctx, words("deleted_post", ctx.language)),
            Line(""),
            *_text_lines(original, []),
            *_footer(ctx),
        ]
    )


def as_plain(message: str) -> str:
    """The same message without markup (the fallback when Telegram rejects the HTML)."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))
