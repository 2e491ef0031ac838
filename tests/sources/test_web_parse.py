"""The t.me/s parser on real saved pages (fixtures and the shared corpus) and on small cases."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.models import ForwardOrigin, MediaKind, Post
from bot.sources.web_parse import WebPage, WebPageError, parse_page, parse_views, utf16_len

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web_preview"


def fixture_page(name: str) -> WebPage:
    return parse_page((FIXTURES / name).read_text("utf-8"))


def by_id(page: WebPage) -> dict[int, Post]:
    return {post.message_id: post for post in page.posts}


def entity_text(post: Post, entity: dict[str, Any]) -> str:
    units = post.text.encode("utf-16-le")
    start, length = entity["offset"] * 2, entity["length"] * 2
    return units[start : start + length].decode("utf-16-le")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- full.html (copied fixture: runs in every clone) -------------------------------------------
FULL_SHOWN = (70989, 70990, 70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008)


def test_full_page_names_the_channel_and_the_before_cursor() -> None:
    page = fixture_page("full.html")
    assert page.username == "topwar_official"
    assert page.title == "Военное обозрение"
    assert page.channel_id == 1084368520
    assert page.before == 70989
    assert not page.no_preview
    assert page.shown_ids == FULL_SHOWN
    channel = page.channel
    assert channel is not None and channel.telegram_id == 1084368520


def test_full_page_posts_include_album_members_in_order() -> None:
    page = fixture_page("full.html")
    ids = [p.message_id for p in page.posts]
    assert ids == sorted(ids)
    assert set(ids) == set(FULL_SHOWN) | {70993, 70994, 71001, 71002, 71003, 71004, 71005}
    assert page.all_ids == tuple(sorted(ids))
    assert all(p.channel == page.channel for p in page.posts)


def test_full_page_albums_share_a_stable_grouped_id() -> None:
    posts = by_id(fixture_page("full.html"))
    assert [posts[i].grouped_id for i in (70992, 70993, 70994)] == [70992] * 3
    assert [posts[i].media_kind for i in (70992, 70993, 70994)] == [
        MediaKind.PHOTO,
        MediaKind.PHOTO,
        MediaKind.VIDEO,
    ]
    assert posts[70992].text.startswith("Сегодня ночью в Республике Адыгея")
    assert posts[70993].text == "" and posts[70993].views is None
    assert posts[70993].date == posts[70992].date
    assert {posts[i].grouped_id for i in range(71000, 71006)} == {71000}
    assert posts[71000].text == (
        "Последствия ночного удара БПЛА-камикадзе ВСУ по нефтебазе в Туапсе сегодня ночью."
    )
    assert all(posts[i].grouped_id is None for i in (70989, 70990, 70995, 71008))


def test_full_page_texts_keep_line_breaks_and_collapse_layout_whitespace() -> None:
    posts = by_id(fixture_page("full.html"))
    assert posts[70989].text == (
        "В Санкт-Петербурге в небо над городом подняли истребители из-за неизвестного объекта "
        "в воздухе, аэропорт Пулково не принимает самолеты, сообщает Baza.\n"
        "Судя по сервису Flightradar, гражданские самолеты не приближаются к Санкт-Петербургу."
    )
    assert posts[70995].text == (
        'План "Ковер" отменен, небо над Санкт-Петербургом открывают, сообщает источник РЕН ТВ.'
    )
    # The album caption sits in a nested text element: read once.
    assert posts[70992].text.count("Сегодня ночью") == 1
    assert posts[70996].text.endswith("стелы с МиГ-17.\n\n@yaremshooter")
    assert "\n\nКроме этого" in posts[70996].text
    for post in posts.values():
        assert post.text == post.text.strip()
        assert "  " not in post.text.replace(". \n", ".\n")


def test_full_page_links_and_formatting_become_utf16_entities() -> None:
    posts = by_id(fixture_page("full.html"))
    link, mention = posts[70996].entities
    assert link == {
        "type": "text_url",
        "url": "https://t.me/infantmilitario/93419",
        "offset": 80,
        "length": 24,
    }
    assert entity_text(posts[70996], link) == "на расстояние 180 метров"
    assert mention["type"] == "mention"
    assert entity_text(posts[70996], mention) == "@yaremshooter"
    bold = [entity_text(posts[70997], e) for e in posts[70997].entities]
    assert bold == ["проведена тренировка ", "задействованы истребители"]


def test_full_page_dates_are_utc() -> None:
    posts = by_id(fixture_page("full.html"))
    assert posts[70989].date == utc("2023-02-28T07:47:53")
    assert posts[71008].date == utc("2023-02-28T13:14:03")
    assert all(p.date.utcoffset() is not None and p.date.tzinfo == UTC for p in posts.values())


def test_full_page_views_are_expanded() -> None:
    posts = by_id(fixture_page("full.html"))
    assert posts[70989].views == 37200
    assert posts[70992].views == 33800
    assert posts[71008].views == 14900
    assert all(posts[i].views is not None for i in FULL_SHOWN)


def test_full_page_forwards_name_the_origin_username_and_post() -> None:
    posts = by_id(fixture_page("full.html"))
    assert posts[70996].forward == ForwardOrigin(message_id=1066, name="@yaremshooter")
    assert posts[70998].forward == ForwardOrigin(message_id=34301, name="@Belarus_VPO")
    assert posts[71006].forward == ForwardOrigin(message_id=10899, name="@vysokygovorit")
    assert posts[71007].forward == ForwardOrigin(message_id=44655, name="@dimsmirnov175")
    assert posts[71008].forward == ForwardOrigin(message_id=4580, name="@ImpNavigator")
    assert posts[70989].forward is None


def test_full_page_media_kinds() -> None:
    posts = by_id(fixture_page("full.html"))
    kinds = {i: posts[i].media_kind for i in FULL_SHOWN}
    assert kinds == {
        70989: MediaKind.PHOTO,
        70990: MediaKind.NONE,
        70992: MediaKind.PHOTO,
        70995: MediaKind.NONE,
        70996: MediaKind.WEBPAGE,
        70997: MediaKind.NONE,
        70998: MediaKind.PHOTO,
        70999: MediaKind.NONE,
        71000: MediaKind.PHOTO,
        71006: MediaKind.VIDEO,
        71007: MediaKind.VIDEO,
        71008: MediaKind.VIDEO,
    }


def test_text_fixture_bold_across_line_breaks() -> None:
    page = fixture_page("message_text.html")
    (post,) = page.posts
    assert (page.username, post.message_id, page.channel_id) == (
        "topwar_official",
        70991,
        1084368520,
    )
    assert post.text.startswith(
        "Неопознанный летающий объект замечен в 160 – 200 км от Петербурга\n\nПо данным «Фонтанки»"
    )
    assert post.text.endswith("«Звуки как на параде».")
    assert post.entities == ({"type": "bold", "offset": 0, "length": 67},)
    assert post.views == 33400
    assert post.date == utc("2023-02-28T08:48:01")
    assert page.before is None


def test_album_fixture_members_hashtags_and_mention() -> None:
    page = fixture_page("message_media_photo_and_video.html")
    posts = by_id(page)
    assert sorted(posts) == [46908, 46909, 46910]
    assert page.shown_ids == (46908,)
    assert [posts[i].media_kind for i in (46908, 46909, 46910)] == [
        MediaKind.VIDEO,
        MediaKind.PHOTO,
        MediaKind.PHOTO,
    ]
    assert {p.grouped_id for p in posts.values()} == {46908}
    caption = posts[46908]
    assert caption.text == (
        "Ночью над Белгородом сбили 3 беспилотника\n\nОни упали на улицы города.\n\n"
        "Сообщается, что на себе БПЛА несли взрывчатку из пластида.\n\n"
        "#Белгород #Беспилотники\n\n@anna_news"
    )
    found = [(e["type"], entity_text(caption, e)) for e in caption.entities]
    assert found == [
        ("bold", "Ночью над Белгородом сбили 3 беспилотника"),
        ("hashtag", "#Белгород"),
        ("hashtag", "#Беспилотники"),
        ("mention", "@anna_news"),
    ]
    assert caption.views == 59500


# --- every page of the shared corpus ------------------------------------------------------------
@dataclass(frozen=True)
class Expected:
    username: str
    shown: tuple[int, ...]
    media: dict[int, MediaKind]
    date: tuple[int, str]  # (id, UTC time)
    views: dict[int, int]
    text_start: dict[int, str]
    author: str | None = None
    forward: tuple[int, ForwardOrigin] | None = None
    grouped: dict[int, int] | None = None
    before: int | None = None
    channel_id: int | None = None


CORPUS: dict[str, Expected] = {
    "full.html": Expected(
        username="topwar_official",
        shown=FULL_SHOWN,
        media={70989: MediaKind.PHOTO, 70994: MediaKind.VIDEO, 70996: MediaKind.WEBPAGE},
        date=(70990, "2023-02-28T08:09:50"),
        views={70990: 34500, 70999: 28700},
        text_start={70990: "Власти Петербурга подтвердили, что аэропорт"},
        forward=(70998, ForwardOrigin(message_id=34301, name="@Belarus_VPO")),
        grouped={70993: 70992, 71005: 71000},
        before=70989,
        channel_id=1084368520,
    ),
    "message_link_preview.html": Expected(
        username="oper_goblin",
        shown=(22360,),
        media={22360: MediaKind.WEBPAGE},
        date=(22360, "2023-02-27T07:33:14"),
        views={22360: 226200},
        text_start={22360: "https://vnnews.ru/georgiy-zotov-okkupaciya-volosatym-kr/"},
    ),
    "message_media_forwarded_from.html": Expected(
        username="oper_goblin",
        shown=(22358,),
        media={22358: MediaKind.PHOTO},
        date=(22358, "2023-02-27T07:20:50"),
        views={22358: 214400},
        text_start={22358: "Британская разведка выяснила, почему Ким Чен Ын начал"},
        forward=(22358, ForwardOrigin(message_id=44604, name="@dimsmirnov175")),
    ),
    "message_media_photo_and_video.html": Expected(
        username="anna_news",
        shown=(46908,),
        media={46908: MediaKind.VIDEO, 46909: MediaKind.PHOTO, 46910: MediaKind.PHOTO},
        date=(46910, "2023-02-28T06:48:36"),
        views={46908: 59500},
        text_start={46908: "Ночью над Белгородом сбили 3 беспилотника\n\nОни упали"},
        grouped={46908: 46908, 46909: 46908, 46910: 46908},
    ),
    "message_poll.html": Expected(
        username="it_begin",
        shown=(488,),
        media={488: MediaKind.POLL},
        date=(488, "2023-02-27T16:21:02"),
        views={488: 1100},
        text_start={488: ""},
    ),
    "message_text.html": Expected(
        username="topwar_official",
        shown=(70991,),
        media={70991: MediaKind.NONE},
        date=(70991, "2023-02-28T08:48:01"),
        views={70991: 33400},
        text_start={70991: "Неопознанный летающий объект"},
        channel_id=1084368520,
    ),
    "message_voice.html": Expected(
        username="oper_goblin",
        shown=(939,),
        media={939: MediaKind.VOICE},
        date=(939, "2018-04-24T15:28:46"),
        views={939: 746},
        text_start={939: "Обсудили:\n\n- Сталина не забыть\n- Плохие фильмы\n- Смешные переводы\n"},
        forward=(939, ForwardOrigin(name="Спортивный Екб")),
    ),
    "message_with_from_author.html": Expected(
        username="channel",
        shown=(4,),
        media={4: MediaKind.NONE},
        date=(4, "2023-02-28T16:38:34"),
        views={4: 1},
        text_start={4: "test"},
        author="🅰️rkadiy Ivanov",
    ),
}


def test_every_corpus_page_is_covered(corpus_dir: Path) -> None:
    pages = {p.name for p in (corpus_dir / "web_preview").glob("*.html")}
    assert pages == set(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_page(corpus_dir: Path, name: str) -> None:
    expected = CORPUS[name]
    page = parse_page((corpus_dir / "web_preview" / name).read_text("utf-8"))
    posts = by_id(page)
    assert page.username == expected.username
    assert page.shown_ids == expected.shown
    assert page.before == expected.before
    assert page.channel_id == expected.channel_id
    assert not page.no_preview
    for message_id, kind in expected.media.items():
        assert posts[message_id].media_kind is kind, message_id
    date_id, date = expected.date
    assert posts[date_id].date == utc(date)
    for message_id, views in expected.views.items():
        assert posts[message_id].views == views
    for message_id, start in expected.text_start.items():
        assert posts[message_id].text.startswith(start)
        assert posts[message_id].text == posts[message_id].text.strip()
    shown_authors = {posts[i].author for i in expected.shown}
    assert shown_authors == {expected.author}
    if expected.forward is not None:
        message_id, origin = expected.forward
        assert posts[message_id].forward == origin
    for message_id, group in (expected.grouped or {}).items():
        assert posts[message_id].grouped_id == group
    for post in page.posts:
        assert post.date.tzinfo == UTC
        for entity in post.entities:
            assert entity["length"] > 0
            assert entity["offset"] + entity["length"] <= utf16_len(post.text)


def test_voice_page_mentions_and_line_breaks(corpus_dir: Path) -> None:
    page = parse_page((corpus_dir / "web_preview" / "message_voice.html").read_text("utf-8"))
    (post,) = page.posts
    assert post.text == (
        "Обсудили:\n\n- Сталина не забыть\n- Плохие фильмы\n- Смешные переводы\n"
        "можно, матерные - нет\n\nСлушайте: @kakberadio\nПишите нам: @kakberadiobot"
    )
    assert [(e["type"], entity_text(post, e)) for e in post.entities] == [
        ("mention", "@kakberadio"),
        ("mention", "@kakberadiobot"),
    ]


def test_link_preview_page_url_entity(corpus_dir: Path) -> None:
    page = parse_page((corpus_dir / "web_preview" / "message_link_preview.html").read_text("utf-8"))
    (post,) = page.posts
    assert post.entities == ({"type": "url", "offset": 0, "length": 56},)


# --- small cases ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "views"),
    [
        ("746", 746),
        ("1", 1),
        ("33.4K", 33400),
        ("226.2K", 226200),
        ("1.2M", 1200000),
        ("1.25M", 1250000),
        ("2B", 2000000000),
        (" 14.9K ", 14900),
        ("1,234", 1234),
        ("", None),
        ("many", None),
        (None, None),
    ],
)
def test_views_abbreviations(raw: str | None, views: int | None) -> None:
    assert parse_views(raw) == views


def _view(channel: int, post: int | str) -> str:
    raw = json.dumps({"c": channel, "p": post, "t": 1, "h": "x"}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def widget(
    message_id: int,
    inner: str = "",
    *,
    slug: str = "somechannel",
    classes: str = "",
    view: str | None = None,
    date: str = "2024-05-01T10:00:00+00:00",
) -> str:
    view_attr = f' data-view="{view}"' if view is not None else ""
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message {classes}" '
        f'data-post="{slug}/{message_id}"{view_attr}><div class="tgme_widget_message_bubble">'
        f"{inner}"
        f'<a class="tgme_widget_message_date" href="https://t.me/{slug}/{message_id}">'
        f'<time datetime="{date}">10:00</time></a></div></div></div>'
    )


def history(*widgets: str, before: int | None = None) -> str:
    more = (
        f'<a href="/s/somechannel?before={before}" class="tme_messages_more" '
        f'data-before="{before}"></a>'
        if before is not None
        else ""
    )
    return (
        '<html><head><meta property="og:title" content="Some Channel"></head><body>'
        f'<section class="tgme_channel_history js-message_history">{more}{"".join(widgets)}'
        "</section></body></html>"
    )


def text(html: str) -> str:
    return f'<div class="tgme_widget_message_text js-message_text">{html}</div>'


def test_no_preview_page_is_recognised() -> None:
    html = (
        '<html><head><meta property="og:title" content="Closed"></head><body>'
        '<div class="tgme_page_wrap"><div class="tgme_page"><div class="tgme_page_title">'
        '<span dir="auto">Closed</span></div><div class="tgme_page_extra">@closedchan</div>'
        "</div></div></body></html>"
    )
    page = parse_page(html, username="closedchan")
    assert page.no_preview
    assert page.posts == () and page.username == "closedchan" and page.title == "Closed"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "{not: html}",
        "<html><body><p>Service unavailable</p></body></html>",
        history(widget(5).replace("datetime=", "data-x=")),
        history(widget(5, date="yesterday")),
        history(widget(5).replace("somechannel/5", "somechannel/five")),
        history(widget(5), widget(6, slug="otherchannel")),
    ],
)
def test_malformed_pages_raise(html: str) -> None:
    with pytest.raises(WebPageError):
        parse_page(html, username="somechannel")


def test_empty_history_is_an_empty_page() -> None:
    page = parse_page(history(), username="somechannel")
    assert page.posts == () and page.shown_ids == () and page.username == "somechannel"
    assert page.title == "Some Channel"


def test_service_messages_are_skipped_but_accounted_for() -> None:
    html = history(
        widget(10, text("hello")),
        widget(
            11,
            '<div class="tgme_widget_message_service_text">Channel photo updated</div>',
            classes="service_message",
        ),
        widget(12, text("again")),
        before=10,
    )
    page = parse_page(html)
    assert [p.message_id for p in page.posts] == [10, 12]
    assert page.shown_ids == (10, 12)
    assert page.service_ids == (11,)
    assert page.all_ids == (10, 11, 12)
    assert page.before == 10


def test_time_with_offset_becomes_utc() -> None:
    page = parse_page(history(widget(3, text("x"), date="2024-05-01T12:30:00+02:00")))
    assert page.posts[0].date == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)


def test_entity_offsets_count_utf16_units() -> None:
    html = text('Хід 😀 <b>жирний\n      текст</b> <a href="https://example.org/a">тут</a>')
    (post,) = parse_page(history(widget(1, html))).posts
    assert post.text == "Хід 😀 жирний текст тут"
    bold, link = post.entities
    assert bold == {"type": "bold", "offset": 7, "length": 12}  # the emoji is two units
    assert entity_text(post, bold) == "жирний текст"
    assert link == {"type": "text_url", "url": "https://example.org/a", "offset": 20, "length": 3}


def test_link_kinds() -> None:
    html = text(
        '<a href="https://example.org/">https://example.org/</a> '
        '<a href="https://t.me/somebody">@somebody</a> '
        '<a href="?q=%23news">#news</a> '
        '<a href="?q=%24USD">$USD</a> '
        '<a href="mailto:a@example.org">a@example.org</a> '
        '<a href="tel:+380000000">+380000000</a> '
        '<a href="https://example.org/x">read more</a>'
    )
    (post,) = parse_page(history(widget(1, html))).posts
    assert [e["type"] for e in post.entities] == [
        "url",
        "mention",
        "hashtag",
        "cashtag",
        "email",
        "phone",
        "text_url",
    ]
    assert post.entities[-1]["url"] == "https://example.org/x"


def test_formatting_entities_and_emoji_images() -> None:
    html = text(
        '<i class="emoji" style="background-image:url(x)"><b>🔥</b></i> '
        "<i>курсив</i> <u>під</u> <s>закреслено</s> <code>код</code> "
        '<tg-spoiler>таємниця</tg-spoiler> <span class="tg-spoiler">ще</span><br>'
        '<pre><code class="language-python">a = 1\nb = 2</code></pre>'
        "<blockquote>цитата</blockquote>"
    )
    (post,) = parse_page(history(widget(1, html))).posts
    assert post.text == "🔥 курсив під закреслено код таємниця ще\na = 1\nb = 2цитата"
    found = [(e["type"], entity_text(post, e)) for e in post.entities]
    assert found == [
        ("italic", "курсив"),
        ("underline", "під"),
        ("strike", "закреслено"),
        ("code", "код"),
        ("spoiler", "таємниця"),
        ("spoiler", "ще"),
        ("pre", "a = 1\nb = 2"),
        ("blockquote", "цитата"),
    ]
    assert post.entities[6]["language"] == "python"


def test_reply_author_and_private_forward() -> None:
    inner = (
        '<div class="tgme_widget_message_forwarded_from">Forwarded from&nbsp;'
        '<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/c/1234567/89">'
        "<span>Private Source</span></a></div>"
        '<a class="tgme_widget_message_reply" href="https://t.me/somechannel/7">'
        '<div class="tgme_widget_message_metatext">the earlier post</div></a>'
        + text("answer")
        + '<span class="tgme_widget_message_from_author">Olena  Petrenko</span>'
    )
    (post,) = parse_page(history(widget(8, inner))).posts
    assert post.forward == ForwardOrigin(channel_id=1234567, message_id=89, name="Private Source")
    assert post.reply_to == 7
    assert post.author == "Olena Petrenko"
    assert post.text == "answer"


@pytest.mark.parametrize(
    ("inner", "kind"),
    [
        (
            '<div class="tgme_widget_message_sticker_wrap"><i class="tgme_widget_message_sticker"></i></div>',
            MediaKind.STICKER,
        ),
        (
            '<a class="tgme_widget_message_roundvideo_player"><video class="tgme_widget_message_roundvideo"></video></a>',
            MediaKind.ROUND_VIDEO,
        ),
        (
            '<a class="tgme_widget_message_voice_player"><audio class="tgme_widget_message_voice"></audio></a>',
            MediaKind.VOICE,
        ),
        (
            '<a class="tgme_widget_message_video_player"><video class="tgme_widget_message_video"></video></a>',
            MediaKind.VIDEO,
        ),
        ('<a class="tgme_widget_message_photo_wrap"></a>', MediaKind.PHOTO),
        ('<div class="tgme_widget_message_poll"></div>', MediaKind.POLL),
        ('<a class="tgme_widget_message_location_wrap"></a>', MediaKind.GEO),
        (
            '<div class="tgme_widget_message_document_wrap"><i class="tgme_widget_message_document_icon accent_bg"></i></div>',
            MediaKind.DOCUMENT,
        ),
        (
            '<div class="tgme_widget_message_document_wrap"><i class="tgme_widget_message_document_icon accent_bg audio"></i></div>',
            MediaKind.AUDIO,
        ),
        ('<a class="tgme_widget_message_link_preview"></a>', MediaKind.WEBPAGE),
        ('<div class="message_media_not_supported_wrap"></div>', MediaKind.OTHER),
        ("", MediaKind.NONE),
    ],
)
def test_media_kinds(inner: str, kind: MediaKind) -> None:
    (post,) = parse_page(history(widget(1, inner + text("caption")))).posts
    assert post.media_kind is kind


def test_channel_id_needs_agreeing_data_view() -> None:
    good = parse_page(
        history(
            widget(5, text("a"), view=_view(-777000111, 5)),
            widget(6, text("b"), view=_view(-777000111, "6g")),
        )
    )
    assert good.channel_id == 777000111
    assert all(p.channel.telegram_id == 777000111 for p in good.posts)
    wrong_post = parse_page(history(widget(5, text("a"), view=_view(-777000111, 9))))
    assert wrong_post.channel_id is None
    disagree = parse_page(
        history(
            widget(5, text("a"), view=_view(-777000111, 5)),
            widget(6, text("b"), view=_view(-777000222, 6)),
        )
    )
    assert disagree.channel_id is None
    garbage = parse_page(history(widget(5, text("a"), view="%%%not-base64")))
    assert garbage.channel_id is None
    positive = parse_page(history(widget(5, text("a"), view=_view(777000111, 5))))
    assert positive.channel_id is None
