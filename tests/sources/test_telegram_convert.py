"""Telethon Message -> Post: text or caption, entities, media kind, forwards, albums, edits."""

from __future__ import annotations

from datetime import UTC, datetime

from telethon import types

from bot.models import ChannelRef, MediaKind
from bot.sources.telegram import bare_channel_id, message_to_post
from tests.harness import telethon_kit as kit

REF = ChannelRef(123, "official_news")


def _document(*attributes: types.TypeDocumentAttribute) -> types.MessageMediaDocument:
    return types.MessageMediaDocument(
        document=types.Document(
            id=1,
            access_hash=2,
            file_reference=b"",
            date=kit.BASE_DATE,
            mime_type="application/octet-stream",
            size=10,
            dc_id=2,
            attributes=list(attributes),
        )
    )


def test_text_entities_and_metadata() -> None:
    msg = kit.message(
        123,
        7,
        "Заява щодо гарантій безпеки",
        entities=[
            types.MessageEntityBold(offset=0, length=5),
            types.MessageEntityTextUrl(offset=6, length=5, url="https://example.org"),
        ],
        views=33400,
        post_author="Press office",
        grouped_id=99,
        edit_date=datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=5),
    )
    post = message_to_post(msg, REF)
    assert post is not None
    assert post.text == "Заява щодо гарантій безпеки"
    assert post.entities == (
        {"type": "bold", "offset": 0, "length": 5},
        {"type": "text_url", "offset": 6, "length": 5, "url": "https://example.org"},
    )
    assert (post.views, post.author, post.grouped_id, post.reply_to) == (
        33400,
        "Press office",
        99,
        5,
    )
    assert post.edit_date == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert post.date.tzinfo is not None and post.channel == REF


def test_caption_of_a_photo_is_the_text() -> None:
    msg = kit.message(123, 8, "caption", media=types.MessageMediaPhoto(photo=types.PhotoEmpty(1)))
    post = message_to_post(msg, REF)
    assert post is not None and post.text == "caption" and post.media_kind is MediaKind.PHOTO


def test_media_kinds() -> None:
    cases = [
        (_document(types.DocumentAttributeVideo(duration=1, w=1, h=1)), MediaKind.VIDEO),
        (
            _document(types.DocumentAttributeVideo(duration=1, w=1, h=1, round_message=True)),
            MediaKind.ROUND_VIDEO,
        ),
        (_document(types.DocumentAttributeAudio(duration=1, voice=True)), MediaKind.VOICE),
        (_document(types.DocumentAttributeAudio(duration=1)), MediaKind.AUDIO),
        (
            _document(
                types.DocumentAttributeAnimated(),
                types.DocumentAttributeVideo(duration=1, w=1, h=1),
            ),
            MediaKind.ANIMATION,
        ),
        (_document(types.DocumentAttributeFilename("a.pdf")), MediaKind.DOCUMENT),
        (types.MessageMediaGeo(geo=types.GeoPointEmpty()), MediaKind.GEO),
        (types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=1)), MediaKind.WEBPAGE),
        (types.MessageMediaUnsupported(), MediaKind.OTHER),
        (None, MediaKind.NONE),
    ]
    for media, expected in cases:
        post = message_to_post(kit.message(123, 1, "", media=media), REF)
        assert post is not None and post.media_kind is expected, media


def test_forward_from_channel_and_hidden_sender() -> None:
    from_channel = kit.message(
        123,
        9,
        "fwd",
        fwd_from=types.MessageFwdHeader(
            date=kit.BASE_DATE, from_id=types.PeerChannel(777), channel_post=42
        ),
    )
    post = message_to_post(from_channel, REF)
    assert post is not None and post.forward is not None
    assert (post.forward.channel_id, post.forward.message_id) == (777, 42)
    hidden = kit.message(
        123, 10, "fwd", fwd_from=types.MessageFwdHeader(date=kit.BASE_DATE, from_name="Someone")
    )
    post = message_to_post(hidden, REF)
    assert post is not None and post.forward is not None and post.forward.name == "Someone"


def test_service_and_empty_messages_are_not_posts() -> None:
    service = types.MessageService(
        id=3,
        peer_id=types.PeerChannel(123),
        date=kit.BASE_DATE,
        action=types.MessageActionPinMessage(),
    )
    assert message_to_post(service, REF) is None
    assert message_to_post(types.MessageEmpty(id=4, peer_id=types.PeerChannel(123)), REF) is None


def test_bare_channel_id() -> None:
    assert bare_channel_id(-1000000000123) == 123
    assert bare_channel_id(types.PeerChannel(5)) == 5
    assert bare_channel_id(42) is None


def test_an_edit_telegram_hides_is_not_an_edit() -> None:
    edited = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    shown = message_to_post(kit.message(123, 1, "text", edit_date=edited), REF)
    hidden = message_to_post(kit.message(123, 2, "text", edit_date=edited, edit_hide=True), REF)
    assert shown is not None and shown.edit_date == edited
    assert hidden is not None and hidden.edit_date is None
