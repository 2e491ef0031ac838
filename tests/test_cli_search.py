"""`chanwatch search` and `chanwatch reindex` from the command line, on a real archive."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_ingestor
from bot.cli import main
from bot.commands.search import _print_result
from bot.models import ChannelRef, Post, PostOrigin
from bot.search import SearchResult
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
        (["search", "санкції", "--since", ""], "--since: expected a date (2026-11-01) or ISO"),
        (["search", "санкції", "--until", ""], "got ''"),
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
    assert main(["search", "санкції", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: 1 archived post(s) were indexed for search by an older")
    assert "chanwatch reindex" in err and len(err.splitlines()) == 1
    assert main(["reindex", "--config", str(config), "--workers", "1"]) == 0
    assert "reindexed 1 post(s)" in capsys.readouterr().err
    assert main(["search", "санкції", "--config", str(config)]) == 0
    assert capsys.readouterr().err == ""  # nothing stale any more
    assert main(["reindex", "--config", str(config), "--all", "--workers", "1"]) == 0
    assert "reindexed 3 post(s)" in capsys.readouterr().err
    assert main(["search", "санкції", "--config", str(config), "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def _config_for(tmp_path: Path, db_path: Path) -> Path:
    path = tmp_path / "other-config.toml"
    path.write_text(
        f'[storage]\npath = "{db_path.as_posix()}"\n[telegram]\nenabled = false\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def imported_config(tmp_path: Path) -> Path:
    """An archive filled only by an import: an edited post, channels with no username."""
    db_path = tmp_path / "imported.db"

    async def fill() -> None:
        async with Database(db_path) as db:
            await build_ingestor(db).ingest_batch(
                [
                    Post(NEWS, 7, T0, "Заява про обмін.", edit_date=T0 + timedelta(hours=1)),
                    Post(ChannelRef(3003, None, "Без імені"), 8, T0 + timedelta(days=1), "Заява."),
                    Post(ChannelRef(4004), 9, T0 + timedelta(days=2), "Ще одна заява."),
                ],
                origin=PostOrigin.IMPORT,
            )

    asyncio.run(fill())
    return _config_for(tmp_path, db_path)


def test_imported_edit_date_means_edited(
    imported_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["search", "обмін", "--config", str(imported_config)]
    assert main([*args, "--json"]) == 0
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["message_id"] == 7 and line["edited"] is True
    assert main(args) == 0
    assert "[edited]" in capsys.readouterr().out


def test_channel_without_username_is_named_by_title_or_id(
    imported_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["search", "заява", "--config", str(imported_config)]
    assert main(args) == 0
    columns = [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()]
    assert columns == ["c/4004", "Без імені", "@official_news"]
    assert main([*args, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["channel"], p["channel_title"]) for p in lines] == [
        (None, None),
        (None, "Без імені"),
        ("official_news", "Official News"),
    ]


def test_any_iso_date_is_a_whole_day(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["search", "санкції", "--config", str(config), "--json"]
    for day in ("2026-11-02", "20261102", "2026-W45-1"):  # post 2: 2026-11-02 08:00
        assert main([*args, "--since", day, "--until", day]) == 0, day
        assert [json.loads(x)["message_id"] for x in capsys.readouterr().out.splitlines()] == [2]


def test_fractional_seconds_round_inward(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["search", "санкції", "--config", str(config), "--json"]
    assert main([*args, "--since", "2026-11-02T08:00:00.5"]) == 0  # post 2 is at 08:00:00
    assert capsys.readouterr().out == ""
    assert (
        main([*args, "--since", "2026-11-02T07:59:59.5", "--until", "2026-11-02T08:00:00.5"]) == 0
    )
    assert [json.loads(x)["message_id"] for x in capsys.readouterr().out.splitlines()] == [2]


def test_missing_archive_is_a_config_error_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "archive.db"
    config = _config_for(tmp_path, missing)
    assert main(["search", "санкції", "--config", str(config)]) == 2
    (err,) = capsys.readouterr().err.splitlines()
    assert err == (
        f"storage.path: no archive at {missing.as_posix()} "
        "(run chanwatch run or chanwatch import first)"
    )
    assert not missing.parent.exists()


def test_a_successful_search_prints_no_log_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "old.db"

    async def make_old_archive() -> None:
        old = Database(db_path)
        await old.open(migrate_to=1)  # the search will migrate it (an INFO line per step)
        await old.close()

    asyncio.run(make_old_archive())
    assert main(["search", "санкції", "--config", str(_config_for(tmp_path, db_path))]) == 0
    assert capsys.readouterr().err == ""


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_terminal_does_not_say_no_match_when_the_budget_ran_out(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    _print_result(SearchResult(examined=29800, stopped_early=True, used_index=False), as_json=False)
    captured = capsys.readouterr()
    out = " ".join(_plain(captured.out).split())
    assert "no posts match" not in out
    assert "no match in the 29800 posts examined before the time budget ran out" in out
    assert "this query cannot use the index" in captured.err
    _print_result(SearchResult(examined=12, stopped_early=True), as_json=False)
    captured = capsys.readouterr()
    assert "no match in the 12 posts examined" in " ".join(_plain(captured.out).split())
    assert "cannot use the index" not in captured.err  # it did use it
    assert "search stopped after 12 posts (time budget)" in captured.err
    _print_result(SearchResult(examined=40), as_json=False)
    assert "no posts match" in _plain(capsys.readouterr().out)
