"""The Telegram Desktop export reader on real exports, the fixture copy, and broken files."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.errors import UsageError
from bot.models import ForwardOrigin, MediaKind
from bot.sources import export as export_module
from bot.sources.export import (
    ExportFormatError,
    bare_channel_id,
    parse_text,
    read_export,
    read_export_async,
    utf16_len,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram_export"
TKONVERTER = "tkonverter_synthetic_all_fields.json"
CORPUS_EXPORTS = (
    "pachumarchive_public_channel_07e099d.json",
    "pachumarchive_public_channel_HEAD_214057b.json",
    "pachumarchive_public_channel_d4ef0f9_SUBSET.json",
    "roboteam_private_group_legacy_2022.json",
    TKONVERTER,
)


def corpus_export(corpus_dir: Path, name: str) -> Path:
    path = corpus_dir / "telegram_export" / name
    if not path.is_file():
        pytest.skip(f"corpus export not found at {path}")
    return path


def raw_messages(path: Path) -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    messages: list[dict[str, Any]] = data["messages"]
    return messages


def write_export(path: Path, messages: list[dict[str, Any]], **header: Any) -> Path:
    data = {"name": "Chan", "type": "public_channel", "id": 42, **header, "messages": messages}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


# --- every export of the corpus --------------------------------------------------------------
@pytest.mark.parametrize("name", CORPUS_EXPORTS)
def test_every_corpus_export_reads_consistently(corpus_dir: Path, name: str) -> None:
    path = corpus_export(corpus_dir, name)
    raw = raw_messages(path)
    result = read_export(path)
    stats = result.stats

    assert stats.messages == len(raw)
    assert stats.posts == len(result.posts) == stats.messages - sum(stats.skipped.values())
    services = Counter(
        f"service:{m.get('action') or 'other'}" for m in raw if m["type"] == "service"
    )
    assert {k: v for k, v in stats.skipped.items() if k.startswith("service:")} == services
    ids = [p.message_id for p in result.posts]
    assert ids == sorted(ids)
    assert set(ids) == {m["id"] for m in raw if m["type"] == "message"}
    by_id = {m["id"]: m for m in raw}
    for post in result.posts:
        message = by_id[post.message_id]
        assert post.date.tzinfo is UTC
        if "date_unixtime" in message:
            assert post.date == datetime.fromtimestamp(int(message["date_unixtime"]), UTC)
        if "edited_unixtime" in message:
            assert post.edit_date == datetime.fromtimestamp(int(message["edited_unixtime"]), UTC)
        # The text is the concatenation of the parts, whatever form `text` has.
        parts = message["text"]
        expected = (
            parts
            if isinstance(parts, str)
            else "".join(p if isinstance(p, str) else p["text"] for p in parts)
        )
        assert post.text == expected
        for entity in post.entities:
            assert entity["length"] > 0
            assert 0 <= entity["offset"] and entity["offset"] + entity["length"] <= utf16_len(
                post.text
            )
        assert post.channel.telegram_id == result.chat.id


def test_current_channel_export(corpus_dir: Path) -> None:
    path = corpus_export(corpus_dir, "pachumarchive_public_channel_d4ef0f9_SUBSET.json")
    result = read_export(path)

    assert result.chat.name == "ГУЗЕЛЬСКИЕ ПЕРЕЗАЛИВЫ"
    assert result.chat.type == "public_channel"
    assert result.chat.id == 2447843635 and result.chat.has_channel_id
    assert not result.full_account
    assert (result.stats.messages, result.stats.posts) == (55, 54)
    assert result.stats.skipped == Counter({"service:create_channel": 1})
    assert result.stats.local_times == 0 and result.stats.warnings("x") == []

    kinds = Counter(p.media_kind for p in result.posts)
    assert kinds[MediaKind.VIDEO] == 31
    assert kinds[MediaKind.ROUND_VIDEO] == 2
    assert (kinds[MediaKind.ANIMATION], kinds[MediaKind.VOICE], kinds[MediaKind.AUDIO]) == (1, 1, 1)
    assert kinds[MediaKind.PHOTO] == 11

    forwards = [p.forward for p in result.posts if p.forward is not None]
    assert len(forwards) == 10
    assert forwards.count(ForwardOrigin(1374438247, None, "ГУЗЕЛЬКА СТРИМЕРША")) == 7
    assert ForwardOrigin(None, None, "Artur Mannanov") in forwards  # no forwarded_from_id
    assert [p.reply_to for p in result.posts if p.reply_to] == [867, 867, 867]
    # A channel's posts carry no sender as author (the `from` is the channel itself).
    assert {p.author for p in result.posts} == {None}
    first = result.posts[0]
    assert first.message_id == 4
    assert first.date == datetime(2024, 9, 29, 10, 14, 24, tzinfo=UTC)
    assert first.text == "БОГ ВОЙНЫ ПОД ВАШИ ТРЕКИ #1 (part 1)\n29.01.2021\n#DemonsSouls"
    assert first.entities == ({"type": "hashtag", "offset": 48, "length": 12},)


def test_entities_count_utf16_units_like_telegram(corpus_dir: Path) -> None:
    path = corpus_export(corpus_dir, "pachumarchive_public_channel_07e099d.json")
    post = read_export(path).posts[0]

    assert post.message_id == 3854
    assert post.text.startswith("Пила 3D (2010)\n🤪 - 6/10\n")
    entities = list(post.entities)
    # 🤪 is one code point but two UTF-16 units; the spoiler after it starts at 20, not 19.
    assert entities[0] == {"type": "custom_emoji", "offset": 15, "length": 2}
    assert entities[1] == {"type": "spoiler", "offset": 20, "length": 4}
    encoded = post.text.encode("utf-16-le")
    spoiler = entities[1]
    start, end = 2 * spoiler["offset"], 2 * (spoiler["offset"] + spoiler["length"])
    assert encoded[start:end].decode("utf-16-le") == "6/10"
    assert {
        "type": "text_url",
        "offset": 29,
        "length": 4,
        "url": "https://www.twitch.tv/guz3lka",
    } in entities
    # The export wrote sticker file paths as document ids: they are not ids, so dropped.
    assert all("document_id" not in e for e in entities)


def test_legacy_export_takes_local_dates_as_utc_and_warns(corpus_dir: Path) -> None:
    path = corpus_export(corpus_dir, "roboteam_private_group_legacy_2022.json")
    result = read_export(path)

    assert result.chat.type == "private_group" and not result.chat.has_channel_id
    assert result.stats.local_times == len(result.posts) == 8
    assert result.stats.skipped == Counter(
        {"service:invite_members": 2, "service:create_group": 1, "service:remove_members": 1}
    )
    (warning,) = result.stats.warnings(path.name)
    assert "8 message(s) have no date_unixtime" in warning and "taken as UTC" in warning
    first = result.posts[0]
    assert first.date == datetime(2022, 3, 16, 19, 24, 40, tzinfo=UTC)
    assert first.author == "Get My ID"  # in groups the sender is the author
    assert first.text == "Your user ID: 123456789\nCurrent chat ID: -123456789"
    assert first.entities == (
        {"type": "bold", "offset": 14, "length": 9},
        {"type": "bold", "offset": 41, "length": 10},
    )
    kinds = {p.message_id: p.media_kind for p in result.posts}
    assert kinds[428645] is MediaKind.VOICE
    assert kinds[428647] is MediaKind.ANIMATION
    assert kinds[428648] is MediaKind.STICKER


# --- the fixture copy (tested in every clone) ----------------------------------------------
def test_fixture_copy_matches_the_corpus(corpus_dir: Path) -> None:
    original = corpus_export(corpus_dir, TKONVERTER)
    assert (FIXTURES / TKONVERTER).read_bytes() == original.read_bytes()


def test_all_field_types_fixture() -> None:
    result = read_export(FIXTURES / TKONVERTER)
    posts = {p.message_id: p for p in result.posts}

    assert result.chat.type == "personal_chat" and result.chat.id == 10001
    assert result.stats.messages == 87 and len(posts) == 25
    assert sum(v for k, v in result.stats.skipped.items() if k.startswith("service:")) == 61
    assert result.stats.skipped["service:custom_action"] == 12
    assert result.stats.skipped["service:other"] == 1  # a service message without an action
    assert result.stats.skipped["unsupported"] == 1
    expected_kinds = {
        1: MediaKind.NONE,
        3: MediaKind.PHOTO,
        4: MediaKind.STICKER,
        5: MediaKind.ROUND_VIDEO,
        6: MediaKind.VOICE,
        7: MediaKind.ANIMATION,
        8: MediaKind.VIDEO,
        9: MediaKind.AUDIO,
        10: MediaKind.CONTACT,
        11: MediaKind.GEO,
        12: MediaKind.GEO,
        13: MediaKind.GEO,
        14: MediaKind.GEO,
        15: MediaKind.GAME,
        16: MediaKind.INVOICE,
        17: MediaKind.POLL,
        18: MediaKind.OTHER,
        19: MediaKind.OTHER,
        21: MediaKind.OTHER,
        22: MediaKind.DOCUMENT,
    }
    assert {i: posts[i].media_kind for i in expected_kinds} == expected_kinds

    forwarded = posts[2]
    assert forwarded.forward == ForwardOrigin(channel_id=500, message_id=None, name="Channel News")
    assert forwarded.edit_date == datetime.fromtimestamp(1769936580, UTC)
    assert forwarded.reply_to is None  # the reply points into another chat (reply_to_peer_id)
    assert forwarded.author == "Alice Example"
    # Message 1's text_entities spell another text than `text`: `text` wins, flagged.
    assert posts[1].text == "Base text with entities" and posts[1].entities == ()
    assert result.stats.text_mismatches == 1
    assert any("text_entities" in w for w in result.stats.warnings(TKONVERTER))
    assert posts[86].date == datetime.fromtimestamp(1798878600, UTC)


async def test_reading_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = export_module.read_export

    def spy(path: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(path, **kwargs)

    monkeypatch.setattr(export_module, "read_export", spy)
    result = await read_export_async(FIXTURES / TKONVERTER)
    assert result.posts
    assert threads and threads[0] != threading.get_ident()


# --- text and ids ----------------------------------------------------------------------------
def parse_text_entities(text: str, entities: Any) -> list[dict[str, Any]]:
    """The entities of a parsed text, typed for the checks below."""
    assert isinstance(text, str)
    return list(entities)


def test_parse_text_mixed_parts() -> None:
    text, entities = parse_text(
        [
            "Hi 👋🏽 ",
            {"type": "bold", "text": "bold"},
            " ",
            {"type": "text_link", "text": "site", "href": "https://example.org"},
            " ",
            {"type": "pre", "text": "x = 1", "language": "python"},
            {"type": "mention_name", "text": "Bob", "user_id": 77},
            {"type": "strikethrough", "text": "no"},
            {"type": "custom_emoji", "text": "🔥", "document_id": "5368324170671202286"},
            {"type": "plain", "text": "."},
            {"type": "something_new", "text": "?"},
            {"type": "bold", "text": ""},
        ]
    )
    assert text == "Hi 👋🏽 bold site x = 1Bobno🔥.?"
    assert entities == (
        {"type": "bold", "offset": 8, "length": 4},
        {"type": "text_url", "offset": 13, "length": 4, "url": "https://example.org"},
        {"type": "pre", "offset": 18, "length": 5, "language": "python"},
        {"type": "mention_name", "offset": 23, "length": 3, "user_id": 77},
        {"type": "strike", "offset": 26, "length": 2},
        {"type": "custom_emoji", "offset": 28, "length": 2, "document_id": 5368324170671202286},
        {"type": "unknown", "offset": 31, "length": 1},
    )
    units = text.encode("utf-16-le")
    spans = [(int(e["offset"]), int(e["length"])) for e in parse_text_entities(text, entities)]
    words = [units[2 * start : 2 * (start + length)].decode("utf-16-le") for start, length in spans]
    assert words == ["bold", "site", "x = 1", "Bob", "no", "🔥", "?"]
    assert parse_text("plain") == ("plain", ())
    assert parse_text(None) == ("", ())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("channel1234567", 1234567),
        ("user1234567", None),
        (-1001234567, 1234567),
        (99, 99),
        ("x", None),
    ],
)
def test_bare_channel_id(value: object, expected: int | None) -> None:
    assert bare_channel_id(value) == expected


def test_date_without_unixtime_is_taken_as_utc(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "result.json",
        [
            {
                "id": 5,
                "type": "message",
                "date": "2021-05-01T10:00:00",
                "text": "old",
                "edited": "2021-05-01T11:00:00",
            },
            {
                "id": 6,
                "type": "message",
                "date": "2021-05-01T10:00:00",
                "date_unixtime": "1619870000",
                "text": "new",
            },
            {"id": 7, "type": "message", "text": "no date"},
        ],
    )
    result = read_export(tmp_path)  # the directory: its result.json
    old, new = result.posts
    assert old.date == datetime(2021, 5, 1, 10, 0, tzinfo=UTC)
    assert old.edit_date == datetime(2021, 5, 1, 11, 0, tzinfo=UTC)
    assert new.date == datetime.fromtimestamp(1619870000, UTC)
    assert result.stats.local_times == 1
    assert result.stats.skipped == Counter({"invalid": 1})
    assert result.path == path


# --- broken files ----------------------------------------------------------------------------
BROKEN = (
    '{\n "name": "Chan",\n "type": "public_channel",\n "id": 42,\n "messages": [\n'
    '  {"id": 1, "type": "message", "date_unixtime": "1704067200", "text": "caf\\xe9 \\\\x41"},\n'
    '  {"id": 2, "type": "message", "date_unixtime": "1704067200", "text": "\\xe9" "x"}\n'
    " ]\n}\n"
)


def test_xnn_escapes_are_repaired(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(BROKEN.replace(' "x"', ""), encoding="utf-8")
    result = read_export(path)
    first, second = result.posts
    assert first.text == "café \\x41"  # an escaped backslash before x41 is not an escape
    assert second.text == "é"
    assert result.stats.repaired_escapes == 2
    (warning,) = result.stats.warnings("result.json")
    assert "repaired 2 \\xNN escape(s)" in warning


def test_syntax_error_names_line_and_column_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(BROKEN, encoding="utf-8")
    line = BROKEN.splitlines()[6]
    column = line.index(' "x"') + 2  # 1-based column of the stray string (after the repair)
    with pytest.raises(ExportFormatError) as caught:
        read_export(path)
    message = str(caught.value)
    assert message.startswith(f"result.json: line 7, column {column}: invalid JSON: ")
    assert "delimiter" in message and "\n" not in message
    assert isinstance(caught.value, UsageError)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"name": "x",\n  "messages": [\xff]}', "result.json: line 2, column 16: not UTF-8"),
        (b'{"name": "x", "messages": []} trailing', "line 1, column 31: invalid JSON: extra data"),
        (b"[1, 2]", "line 1, column 1: invalid JSON: expected '{'"),
        (b'{"name": "x"}', "not a Telegram Desktop export"),
        (b'{"messages": [{"id": 1,}]}', "line 1, column 24: invalid JSON: "),
        (b"", "line 1, column 1: invalid JSON: expected '{'"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ExportFormatError) as caught:
        read_export(path)
    assert expected in str(caught.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ExportFormatError, match="no such file"):
        read_export(tmp_path / "nope.json")
    with pytest.raises(ExportFormatError, match=r"no result\.json in this directory"):
        read_export(tmp_path)


# --- full-account exports --------------------------------------------------------------------
def full_account(tmp_path: Path) -> Path:
    def chat(name: str, kind: str, chat_id: int, texts: list[str]) -> dict[str, Any]:
        messages = [
            {"id": i + 1, "type": "message", "date_unixtime": str(1704067200 + i), "text": t}
            for i, t in enumerate(texts)
        ]
        return {"name": name, "type": kind, "id": chat_id, "messages": messages}

    data = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1, "first_name": "Me"},
        "contacts": {"about": "", "list": []},
        "chats": {
            "about": "This page lists all chats from this export.",
            "list": [
                chat("Friend", "personal_chat", 555, ["hi"]),
                chat("News One", "public_channel", 1001, ["one", "two"]),
                chat("Talk", "public_supergroup", 2002, ["talk"]),
            ],
        },
        "left_chats": {"about": "", "list": [chat("Old News", "private_channel", 3003, ["gone"])]},
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("key", "chat_id", "expected"),
    [
        ("1001", None, 1001),
        ("-1001001", None, 1001),
        ("news one", None, 1001),
        ("Old News", None, 3003),
        ("@some_username", 2002, 2002),  # the archive knows this username's channel id
        ("Friend", None, 555),
    ],
)
def test_full_account_export_picks_one_chat(
    tmp_path: Path, key: str, chat_id: int | None, expected: int
) -> None:
    result = read_export(full_account(tmp_path), chat_key=key, chat_id=chat_id)
    assert result.full_account
    assert result.chat.id == expected
    assert [c.id for c in result.chats] == [555, 1001, 2002, 3003]
    assert all(p.channel.telegram_id == expected for p in result.posts)


def test_full_account_export_with_one_channel_needs_no_choice(tmp_path: Path) -> None:
    path = full_account(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["chats"]["list"] = data["chats"]["list"][:2]
    data["left_chats"]["list"] = []
    path.write_text(json.dumps(data), encoding="utf-8")
    result = read_export(path)
    assert result.chat.name == "News One"
    assert [p.text for p in result.posts] == ["one", "two"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (None, "result.json: the export holds 3 channels: choose one with --channel ID; chats: "),
        ("@unknown_name", "no chat is named '@unknown_name' and the export holds 3 channels"),
        ("777", "no chat has id 777"),
    ],
)
def test_ambiguous_choice_lists_the_chats(tmp_path: Path, key: str | None, expected: str) -> None:
    with pytest.raises(ExportFormatError) as caught:
        read_export(full_account(tmp_path), chat_key=key)
    message = str(caught.value)
    assert expected in message
    assert '1001 public_channel "News One" (2 message(s))' in message
    assert '555 personal_chat "Friend" (1 message(s))' in message
    assert message.index("News One") < message.index("Friend")  # channels first
