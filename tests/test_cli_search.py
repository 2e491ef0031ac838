"""`chanwatch search` and `chanwatch reindex` from the command line, on a real archive."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_ingestor
from bot.cli import main
from bot.models import ChannelRef, Post, PostOrigin
from storage.db import Database

NEWS = ChannelRef(1001, "official_news", "Official News")
OTHER = ChannelRef(2002, "other_chan")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db_path = tmp_path / "archive.db"

    async def fill() -> None:
        db = Database(db_path)
        await db.open()
        ingestor = build_ingestor(db)
        await ingestor.ingest_batch(
            [
                Post(NEWS, 1, T0, "Санкції проти Росії посилено."),
                Post(OTHER, 2, T0 + timedelta(days=1), "Нові санкцій пакети."),
                Post(NEWS, 3, T0 + timedelta(days=2), "Про погоду."),
            ],
            origin=PostOrigin.IMPORT,
        )
        await ingestor.ingest(
            Post(NEWS, 1, T0, "Санкції проти Росії посилено суттєво."), origin=PostOrigin.LIVE
        )
        await ingestor.ingest_deletions(OTHER, [2], detected_by="live")
        await db.close()

    asyncio.run(fill())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\npath = "{db_path.as_posix()}"\n[telegram]\nenabled = false\n',
        encoding="utf-8",
    )
    return path


def test_search_json_lines(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "санкції", "--config", str(config), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["channel"], p["message_id"]) for p in lines] == [
        ("other_chan", 2),
        ("official_news", 1),
    ]
    first, second = lines
    assert first["link"] == "https://t.me/other_chan/2"
    assert first["deleted"] is True and first["edited"] is False
    assert second["edited"] is True and second["deleted"] is False
    assert second["date"] == "2026-11-01T08:00:00Z"
    assert second["text"] == "Санкції проти Росії посилено суттєво."


def test_search_filters_and_plain_output(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["search", "санкції", "--config", str(config)]
    assert main([*args, "--channel", "@official_news"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "https://t.me/official_news/1" in out[0] and "[edited]" in out[0]
    assert main([*args, "--since", "2026-11-02", "--until", "2026-11-02"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "https://t.me/other_chan/2" in out[0]
    assert main([*args, "--until", "2026-10-01"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", '"санкції'], "unclosed quote at column 1"),
        (["search", "санкції", "--since", "yesterday"], "--since: expected a date"),
        (["search", "санкції", "--channel", "nobody_here"], "--channel: no channel 'nobody_here'"),
        (["search", "санкції", "--limit", "0"], "--limit: must be a positive integer"),
    ],
)
def test_search_errors_exit_2(
    config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_reindex_rebuilds_stale_entries(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3
    from contextlib import closing

    db_path = config.parent / "archive.db"
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("UPDATE posts SET search_version = -1 WHERE message_id = 1")
        conn.commit()
    assert main(["reindex", "--config", str(config), "--workers", "1"]) == 0
    assert "reindexed 1 post(s)" in capsys.readouterr().err
    assert main(["reindex", "--config", str(config), "--all", "--workers", "1"]) == 0
    assert "reindexed 3 post(s)" in capsys.readouterr().err
    assert main(["search", "санкції", "--config", str(config), "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
