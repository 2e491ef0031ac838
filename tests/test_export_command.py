"""`chanwatch export`: CSV and JSON Lines parsed back, with versions and deletion times."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_ingestor
from bot.models import ChannelRef, Post, PostOrigin
from storage.db import Database
from tests.conftest import FakeClock
from tests.test_import_command import chanwatch, error_lines

NEWS = ChannelRef(1001, "official_news", "Official News")
OTHER = ChannelRef(2002, "other_chan")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
EDITED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
DELETED_AT = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
IMPORTED_EDIT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # an edit before the import


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db_path = tmp_path / "archive.db"

    async def fill() -> None:
        clock = FakeClock(T0)
        db = Database(db_path)
        await db.open()
        ingestor = build_ingestor(db, clock=clock)
        await ingestor.ingest_batch(
            [
                Post(NEWS, 1, T0, "Санкції проти Росії посилено."),
                Post(OTHER, 2, T0 + timedelta(days=1), "Нові санкцій пакети."),
                Post(NEWS, 3, T0 + timedelta(days=2), "Про погоду.", edit_date=IMPORTED_EDIT),
            ],
            origin=PostOrigin.IMPORT,
        )
        clock.now = EDITED_AT
        await ingestor.ingest(
            Post(NEWS, 1, T0, "Санкції проти Росії посилено суттєво.", edit_date=EDITED_AT),
            origin=PostOrigin.LIVE,
        )
        clock.now = DELETED_AT
        await ingestor.ingest_deletions(OTHER, [2], detected_by="live")
        await db.close()

    asyncio.run(fill())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{db_path.as_posix()}"\n[telegram]\nenabled = false\n',
        encoding="utf-8",
    )
    return path


def jsonl(capsys: pytest.CaptureFixture[str], argv: list[str]) -> list[dict[str, Any]]:
    assert chanwatch(argv) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert f"exported {len(rows)} post(s)" in captured.err
    return rows


def test_jsonl_has_versions_and_deletion_times(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = jsonl(capsys, ["export", "санкції", "--format", "jsonl", "--config", str(config)])
    assert [(r["channel"], r["message_id"]) for r in rows] == [
        ("other_chan", 2),
        ("official_news", 1),
    ]
    deleted, edited = rows
    assert deleted == {
        "channel": "other_chan",
        "channel_id": 2002,
        "message_id": 2,
        "link": "https://t.me/other_chan/2",
        "date": "2026-11-02T08:00:00Z",
        "edited": False,
        "edit_date": None,
        "deleted_at": "2026-11-03T12:00:00Z",
        "media_kind": "none",
        "text": "Нові санкцій пакети.",
        "versions": [],
    }
    assert edited["edited"] is True and edited["deleted_at"] is None
    assert edited["text"] == "Санкції проти Росії посилено суттєво."
    assert edited["edit_date"] == "2026-11-01T09:30:00Z"
    assert edited["versions"] == [
        {
            "version": 0,
            "text": "Санкції проти Росії посилено.",
            "media_kind": "none",
            "written_at": None,
            "replaced_at": "2026-11-01T09:30:00Z",
        }
    ]


def test_csv_to_a_file_one_row_per_post(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "posts.csv"
    out.parent.mkdir()
    argv = ["export", "санкції", "--format", "csv", "--out", str(out), "--config", str(config)]
    assert chanwatch(argv) == 0
    assert f"exported 2 post(s) to {out}" in capsys.readouterr().err
    assert [p.name for p in out.parent.iterdir()] == ["posts.csv"]  # no partial file left
    with out.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        assert reader.fieldnames is not None
        assert {"channel", "message_id", "link", "date", "text", "edited", "deleted_at"} <= set(
            reader.fieldnames
        )
        rows = list(reader)
    assert [r["link"] for r in rows] == [
        "https://t.me/other_chan/2",
        "https://t.me/official_news/1",
    ]
    deleted, edited = rows
    assert (deleted["deleted_at"], deleted["edited"], deleted["versions"]) == (
        "2026-11-03T12:00:00Z",
        "false",
        "[]",
    )
    assert edited["deleted_at"] == "" and edited["edited"] == "true"
    assert edited["date"] == "2026-11-01T08:00:00Z"
    assert edited["text"] == "Санкції проти Росії посилено суттєво."
    versions = json.loads(edited["versions"])
    assert [v["text"] for v in versions] == ["Санкції проти Росії посилено."]


def test_filters_narrow_the_export(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["export", "санкції", "--format", "jsonl", "--config", str(config)]
    rows = jsonl(capsys, [*base, "--channel", "@official_news"])
    assert [r["message_id"] for r in rows] == [1]
    rows = jsonl(capsys, [*base, "--since", "2026-11-02", "--until", "2026-11-02"])
    assert [r["message_id"] for r in rows] == [2]
    assert jsonl(capsys, [*base, "--until", "2026-10-01"]) == []


def test_every_page_is_exported_once_even_within_one_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.commands import export

    db_path = tmp_path / "archive.db"
    # 23 posts in groups of up to 7 sharing one second: more than a page (5) in one second.
    dates = {i: T0 + timedelta(seconds=i // 7) for i in range(1, 24)}

    async def fill() -> None:
        db = Database(db_path)
        await db.open()
        await build_ingestor(db).ingest_batch(
            [Post(NEWS, i, dates[i], f"Заява {i} про санкції") for i in dates],
            origin=PostOrigin.IMPORT,
        )
        await db.close()

    asyncio.run(fill())
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{db_path.as_posix()}"\n', encoding="utf-8")
    monkeypatch.setattr(export, "PAGE", 5)
    rows = jsonl(capsys, ["export", "заява", "--format", "jsonl", "--config", str(config)])
    ids = [r["message_id"] for r in rows]
    assert sorted(ids) == list(range(1, 24)) and len(ids) == 23
    stamps = [r["date"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)  # newest first


def test_errors_exit_2_and_leave_no_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never.csv"
    base = ["export", "--format", "csv", "--out", str(out), "--config", str(config)]
    assert chanwatch([*base, "санкції", "--channel", "nobody_here"]) == 2
    (err,) = error_lines(capsys.readouterr().err)
    assert "--channel: no channel 'nobody_here'" in err
    assert chanwatch([*base, '"санкції']) == 2
    assert "unclosed quote" in capsys.readouterr().err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_an_edit_date_from_the_import_means_edited(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (row,) = jsonl(capsys, ["export", "погода", "--format", "jsonl", "--config", str(config)])
    assert (row["edited"], row["edit_date"], row["versions"]) == (True, "2026-11-03T09:00:00Z", [])


def test_missing_archive_and_empty_dates_exit_2(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["export", "санкції", "--format", "jsonl"]
    assert chanwatch([*base, "--config", str(config), "--until", ""]) == 2
    (err,) = error_lines(capsys.readouterr().err)
    assert err == "--until: expected a date (2026-11-01) or ISO time (2026-11-01T10:00), got ''"
    missing = tmp_path / "gone" / "archive.db"
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(f'[storage]\npath = "{missing.as_posix()}"\n', encoding="utf-8")
    assert chanwatch([*base, "--config", str(elsewhere)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"storage.path: no archive at {missing.as_posix()} "
        "(run chanwatch run or chanwatch import first)"
    ]
    assert not missing.parent.exists()
