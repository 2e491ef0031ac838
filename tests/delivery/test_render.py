"""Alert rendering: escaping, highlights, trimming, diffs, splitting at UTF-16 limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from bot.delivery import render

CTX = render.AlertContext(
    channel_title="News <&> Channel",
    link="https://t.me/official_news/5",
    date=datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
)


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.ok = self.ok and bool(self.stack) and self.stack.pop() == tag


def balanced(message: str) -> bool:
    parser = _Balance()
    parser.feed(message)
    return parser.ok and not parser.stack


def test_time_in_chat_zone_and_escaped_title() -> None:
    (message,) = render.render_new(CTX, "text", [])
    assert "<b>News &lt;&amp;&gt; Channel</b>" in message
    assert "01.11.2026 12:00 (Europe/Kyiv)" in message
    assert '<a href="https://t.me/official_news/5">' in message


def test_split_counts_utf16_and_never_breaks_tags() -> None:
    emoji = "🇺🇦"  # 4 UTF-16 units, 2 code points
    text = " ".join(f"{emoji}слово{i}" for i in range(2000))
    highlights = [(m.start(), m.end()) for m in re.finditer("слово1", text)]
    messages = render.render_deletion(CTX, text)
    assert len(messages) > 1
    for message in messages:
        assert render.utf16_len(message) <= render.LIMIT
        assert balanced(message)
    joined = render.as_plain("".join(messages))
    assert joined.count("слово") == 2000
    new = render.render_new(CTX, text, highlights)
    assert len(new) == 1 and "…" in new[0] and balanced(new[0])


def test_word_diff() -> None:
    line = render.word_diff("зустріч у Парижі завтра", "зустріч у Лондоні завтра")
    assert line.html() == "зустріч у <s>Парижі</s> <u>Лондоні</u> завтра"


def test_edit_of_a_long_post_shows_the_change_with_context_only() -> None:
    words = [f"слово{i}" for i in range(600)]
    before = " ".join(words)
    after = " ".join([*words[:300], "НОВЕ", *words[301:]])
    line = render.word_diff(before, after)
    context = render.DIFF_CONTEXT_WORDS
    changed = ["<s>слово300</s>", "<u>НОВЕ</u>"]
    expected = " ".join(
        ["…", *words[300 - context : 300], *changed, *words[301 : 301 + context], "…"]
    )
    assert line.html() == expected
    # Two changes far apart: the stretch between them is shortened too.
    after2 = " ".join(["ПОЧАТОК", *words[1:599], "КІНЕЦЬ"])
    html = render.word_diff(before, after2).html()
    assert html.startswith("<s>слово0</s> <u>ПОЧАТОК</u> слово1 ")
    assert html.endswith("слово598 <s>слово599</s> <u>КІНЕЦЬ</u>")
    assert html.count("…") == 1 and html.count("слово") == 2 + 2 * context
    messages = render.render_edit(CTX, before, after)
    assert len(messages) == 1 and len(messages[0]) < 1500  # one short message, not the post


def test_edit_that_changes_no_words_shows_the_beginning() -> None:
    words = " ".join(f"w{i}" for i in range(100))
    line = render.word_diff(words, words.replace(" ", "\n"))
    assert line.text == " ".join(f"w{i}" for i in range(2 * render.DIFF_CONTEXT_WORDS)) + " …"


def test_plain_fallback_unescapes() -> None:
    assert render.as_plain("<b>a &lt;b&gt; &amp;</b>") == "a <b> &"
