"""`chanwatch import` on a real archive: counts, idempotence, edits, channel mapping, errors."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_ingestor
from bot.ingest import Ingestor
from bot.models import ChannelRef, MediaKind, Post, PostOrigin
from bot.search import ArchiveSearch
from storage import channels as channel_repo
from storage import posts as post_repo
from storage.db import Database

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "telegram_export"
SUBSET = "pachumarchive_public_channel_d4ef0f9_SUBSET.json"
OLDER = "pachumarchive_public_channel_07e099d.json"
HEAD = "pachumarchive_public_channel_HEAD_214057b.json"
PACHUM_ID = 2447843635
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO) ")


def chanwatch(argv: Sequence[str]) -> int:
    """Run a command in-process as the console script does."""
    from bot import cli

    return cli.main(list(argv))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    db_path = (tmp_path / "archive.db").as_posix()
    path.write_text(
        f'[storage]\npath = "{db_path}"\n[telegram]\nenabled = false\n', encoding="utf-8"
    )
    return path


def corpus_file(corpus_dir: Path, name: str) -> Path:
    path = corpus_dir / "telegram_export" / name
    if not path.is_file():
        pytest.skip(f"corpus export not found at {path}")
    return path


def import_with_stderr(
    config: Path, capsys: pytest.CaptureFixture[str], path: Path, *extra: str
) -> tuple[dict[str, Any], str]:
    """The JSON summary (stdout) and the human summary (stderr) of a successful import."""
    status = chanwatch(["import", str(path), "--config", str(config), "--json", *extra])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    summary: dict[str, Any] = json.loads(captured.out)
    assert f"{summary['imported']} imported, {summary['unchanged']} already present" in captured.err
    return summary, captured.err


def run_import(
    config: Path, capsys: pytest.CaptureFixture[str], path: Path, *extra: str
) -> dict[str, Any]:
    return import_with_stderr(config, capsys, path, *extra)[0]


def error_lines(err: str) -> list[str]:
    """What a command printed on stderr besides log records (a fresh archive logs migrations)."""
    return [line for line in err.splitlines() if not LOG_RECORD.match(line)]


def query(config: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(config.parent / "archive.db")) as conn:
        return list(conn.execute(sql, params))


def channel_export(path: Path, messages: list[dict[str, Any]], **header: Any) -> Path:
    data = {"name": "Chan", "type": "public_channel", "id": 4242, **header, "messages": messages}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def message(
    message_id: int,
    text: str,
    *,
    date: int = 1_767_000_000,
    edited: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "date": "2025-12-29T09:20:00",
        "date_unixtime": str(date + message_id),
        "from": "Chan",
        "from_id": "channel4242",
        "text": text,
        **extra,
    }
    if edited is not None:
        entry["edited_unixtime"] = str(edited)
    return entry


async def with_archive(config: Path, action: Any) -> Any:
    db = Database(config.parent / "archive.db")
    await db.open()
    try:
        return await action(db)
    finally:
        await db.close()


# --- real exports ----------------------------------------------------------------------------
def test_import_is_idempotent_and_newer_exports_add(
    corpus_dir: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subset = corpus_file(corpus_dir, SUBSET)
    first = run_import(config, capsys, subset, "--channel", "@guzel_pere")
    assert first["posts"] == 54
    assert (first["imported"], first["unchanged"], first["updated"]) == (54, 0, 0)
    assert first["skipped"] == {"service:create_channel": 1} and first["skipped_total"] == 1
    assert first["channel"]["telegram_id"] == PACHUM_ID
    assert first["channel"]["username"] == "guzel_pere"
    assert first["chat"] == {
        "id": PACHUM_ID,
        "type": "public_channel",
        "name": "ГУЗЕЛЬСКИЕ ПЕРЕЗАЛИВЫ",
        "messages": 55,
    }
    assert query(config, "SELECT COUNT(*), MIN(origin), MAX(origin) FROM posts") == [
        (54, "import", "import")
    ]

    again = run_import(config, capsys, subset)  # found by its numeric id this time
    assert (again["imported"], again["unchanged"], again["updated"]) == (0, 54, 0)
    assert again["channel"]["username"] == "guzel_pere"

    older = run_import(config, capsys, corpus_file(corpus_dir, OLDER))
    assert (older["imported"], older["unchanged"]) == (0, 3)  # already in the subset
    newer = run_import(config, capsys, corpus_file(corpus_dir, HEAD))
    assert (newer["imported"], newer["unchanged"], newer["updated"]) == (6, 0, 0)

    assert query(config, "SELECT COUNT(*) FROM posts") == [(60,)]
    assert query(config, "SELECT COUNT(*) FROM post_versions") == [(0,)]
    assert query(config, "SELECT COUNT(*), MAX(telegram_id), MAX(username) FROM channels") == [
        (1, PACHUM_ID, "guzel_pere")
    ]

    async def search(db: Database) -> list[int]:
        result = await ArchiveSearch(db).search("КиноСтрим", limit=100)
        return [hit.post.message_id for hit in result.hits]

    found = asyncio.run(with_archive(config, search))
    assert found[0] == 3858  # the newest, from the newer export
    assert 3854 in found and 521 in found


def test_import_merges_with_a_channel_known_by_username(
    corpus_dir: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subset = corpus_file(corpus_dir, SUBSET)

    async def known_by_username_and_id(db: Database) -> None:
        ingestor = build_ingestor(db)
        await ingestor.ingest(
            Post(
                ChannelRef(PACHUM_ID, "guzel_pere"),
                4,
                datetime(2024, 9, 29, 10, 14, 24, tzinfo=UTC),
                "БОГ ВОЙНЫ ПОД ВАШИ ТРЕКИ #1 (part 1)\n29.01.2021\n#DemonsSouls",
                media_kind=MediaKind.VIDEO,
            ),
            origin=PostOrigin.LIVE,
        )

    asyncio.run(with_archive(config, known_by_username_and_id))
    summary = run_import(config, capsys, subset)
    assert (summary["imported"], summary["unchanged"]) == (53, 1)
    assert summary["channel"]["username"] == "guzel_pere"
    assert query(config, "SELECT COUNT(*), COUNT(DISTINCT channel_id) FROM posts") == [(54, 1)]
    # The watched channel stays watched; its live post keeps its origin.
    assert query(config, "SELECT active FROM channels") == [(1,)]
    assert query(config, "SELECT origin FROM posts WHERE message_id = 4") == [("live",)]


def test_legacy_group_export_needs_a_channel_name(
    corpus_dir: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = corpus_file(corpus_dir, "roboteam_private_group_legacy_2022.json")
    assert chanwatch(["import", str(legacy), "--config", str(config)]) == 2
    (err,) = error_lines(capsys.readouterr().err)
    assert "private_group export, which has no channel id" in err and "--channel" in err

    summary = run_import(config, capsys, legacy, "--channel", "roboteam_test")
    assert (summary["imported"], summary["posts"]) == (8, 8)
    assert summary["skipped_total"] == 4
    assert any("taken as UTC" in w for w in summary["warnings"])
    assert query(config, "SELECT telegram_id, username, title FROM channels") == [
        (None, "roboteam_test", "Test 2022")
    ]


# --- fixture exports (no corpus needed) ------------------------------------------------------
def test_fixture_export_imports_and_is_searchable(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURE / "tkonverter_synthetic_all_fields.json"
    summary = run_import(config, capsys, path, "--channel", "alice_example")
    assert (summary["posts"], summary["imported"]) == (25, 25)
    assert summary["skipped"]["unsupported"] == 1
    assert summary["skipped_total"] == 62
    again = run_import(config, capsys, path, "--channel", "alice_example")
    assert (again["imported"], again["unchanged"], again["updated"]) == (0, 25, 0)

    async def search(db: Database) -> list[str]:
        result = await ArchiveSearch(db).search("spring")
        return [hit.link for hit in result.hits]

    assert asyncio.run(with_archive(config, search)) == ["https://t.me/alice_example/85"]


def test_edits_are_stored_as_versions_and_older_exports_never_regress(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = 1_767_000_000
    first = channel_export(
        tmp_path / "first.json",
        [message(1, "Заява про санкції"), message(2, "Друга заява")],
    )
    second = channel_export(
        tmp_path / "second.json",
        [
            message(1, "Заява про санкції (оновлено)", edited=base + 500),
            message(2, "Друга заява"),
            message(3, "Третя заява"),
        ],
    )
    assert run_import(config, capsys, first, "--channel", "official_news")["imported"] == 2
    update = run_import(config, capsys, second)
    assert (update["imported"], update["unchanged"], update["updated"]) == (1, 1, 1)
    stale, err = import_with_stderr(config, capsys, first)
    assert (stale["kept_newer"], stale["unchanged"], stale["updated"]) == (1, 1, 0)
    assert "0 updated (edits kept as versions), 1 kept (the archive has a later edit)" in err

    async def versions(db: Database) -> tuple[str, int, list[str]]:
        async with db.read() as conn:
            channel = await channel_repo.find_channel_by_key(conn, "official_news")
            assert channel is not None and channel.telegram_id == 4242
            post = await post_repo.get_post(conn, channel.id, 1)
            assert post is not None
            earlier = await post_repo.versions(conn, post.id)
        return post.text, post.version, [v.text for v in earlier]

    text, version, earlier = asyncio.run(with_archive(config, versions))
    assert text == "Заява про санкції (оновлено)" and version == 1
    assert earlier == ["Заява про санкції"]


def test_link_previews_are_not_taken_for_edits(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def live(db: Database) -> None:
        await build_ingestor(db).ingest(
            Post(
                ChannelRef(4242, "official_news"),
                1,
                datetime.fromtimestamp(1_767_000_001, UTC),
                "See https://example.org",
                media_kind=MediaKind.WEBPAGE,
            ),
            origin=PostOrigin.LIVE,
        )

    asyncio.run(with_archive(config, live))
    path = channel_export(tmp_path / "result.json", [message(1, "See https://example.org")])
    summary = run_import(config, capsys, tmp_path)  # the export's directory
    assert (summary["unchanged"], summary["updated"]) == (1, 0)
    assert query(config, "SELECT media_kind, version FROM posts") == [("webpage", 0)]
    assert path.is_file()


def test_new_channels_from_an_import_are_archived_not_watched(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = channel_export(tmp_path / "result.json", [message(1, "a"), message(2, "b")])
    summary = run_import(config, capsys, path)
    assert summary["channel"] == {
        "archive_id": 1,
        "telegram_id": 4242,
        "username": None,
        "title": "Chan",
    }
    assert query(config, "SELECT active, in_config FROM channels") == [(0, 0)]
    # A later --channel gives the id-only row its username.
    run_import(config, capsys, path, "--channel", "chan_name")
    assert query(config, "SELECT telegram_id, username FROM channels") == [(4242, "chan_name")]


def test_interrupted_import_resumes_with_whole_batches(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.commands import import_export

    path = channel_export(tmp_path / "result.json", [message(i, f"post {i}") for i in range(1, 26)])
    monkeypatch.setattr(import_export, "BATCH", 10)
    real = Ingestor.ingest_batch
    calls = 0

    async def failing(self: Ingestor, posts: Sequence[Post], **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        return await real(self, posts, **kwargs)

    monkeypatch.setattr(Ingestor, "ingest_batch", failing)
    assert chanwatch(["import", str(path), "--config", str(config)]) == 1
    assert "OSError: disk full" in capsys.readouterr().err
    assert query(config, "SELECT COUNT(*), MAX(message_id) FROM posts") == [(10, 10)]

    monkeypatch.setattr(Ingestor, "ingest_batch", real)
    summary = run_import(config, capsys, path)
    assert (summary["imported"], summary["unchanged"], summary["batches"]) == (15, 10, 3)
    assert query(config, "SELECT COUNT(*) FROM posts") == [(25,)]


def test_full_account_export_chooses_the_chat(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def chat(name: str, kind: str, chat_id: int, count: int) -> dict[str, Any]:
        return {
            "name": name,
            "type": kind,
            "id": chat_id,
            "messages": [message(i, f"{name} {i}") for i in range(1, count + 1)],
        }

    path = tmp_path / "result.json"
    path.write_text(
        json.dumps(
            {
                "about": "",
                "chats": {
                    "about": "",
                    "list": [
                        chat("Alpha", "public_channel", 11, 2),
                        chat("Beta", "public_channel", 22, 3),
                    ],
                },
            }
        ),
        encoding="utf-8",
    )
    assert chanwatch(["import", str(path), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "the export holds 2 channels" in err and '22 public_channel "Beta"' in err

    summary = run_import(config, capsys, path, "--channel", "22")
    assert (summary["chat"]["name"], summary["imported"]) == ("Beta", 3)
    by_name = run_import(config, capsys, path, "--channel", "Alpha")
    assert (by_name["chat"]["id"], by_name["imported"]) == (11, 2)
    assert by_name["channel"]["username"] is None  # a title is not taken for a username
    # Once the archive knows @beta_news is channel 22, the username picks that chat.
    run_import(config, capsys, path, "--channel", "22")
    asyncio.run(
        with_archive(
            config,
            lambda db: build_ingestor(db).ingest(
                Post(ChannelRef(22, "beta_news"), 3, datetime.now(UTC), "Beta 3"),
                origin=PostOrigin.LIVE,
            ),
        )
    )
    by_username = run_import(config, capsys, path, "--channel", "@beta_news")
    assert (by_username["chat"]["id"], by_username["unchanged"]) == (22, 3)


@pytest.mark.parametrize(
    ("make", "argv", "expected"),
    [
        (
            lambda d: d / "missing.json",
            [],
            "missing.json: no such file or directory",
        ),
        (
            lambda d: (d / "result.json").write_text('{"messages": [\n {"id": 1,,}]}') and d,
            [],
            "result.json: line 2, column 11: invalid JSON: ",
        ),
        (
            lambda d: channel_export(d / "x.json", [message(1, "a")]),
            ["--channel", "99"],
            "--channel 99 does not match the export's channel id 4242",
        ),
    ],
)
def test_import_errors_exit_2_with_one_line(
    tmp_path: Path,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    make: Any,
    argv: list[str],
    expected: str,
) -> None:
    path = make(tmp_path)
    assert chanwatch(["import", str(path), "--config", str(config), *argv]) == 2
    (err,) = error_lines(capsys.readouterr().err)
    assert expected in err


def test_channel_mismatch_with_the_archive_is_refused(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(
        with_archive(
            config,
            lambda db: build_ingestor(db).ingest(
                Post(ChannelRef(777, "other_chan"), 1, datetime.now(UTC), "x"),
                origin=PostOrigin.LIVE,
            ),
        )
    )
    path = channel_export(tmp_path / "result.json", [message(1, "a")])
    assert chanwatch(["import", str(path), "--config", str(config), "--channel", "other_chan"]) == 2
    err = capsys.readouterr().err
    assert "is channel 777 in the archive, but the export is of channel 4242" in err
    assert query(config, "SELECT COUNT(*) FROM posts") == [(1,)]
