"""`chanwatch backfill`: history from the web preview without an account; clear errors."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from tests.harness.web_preview import FakeChannel, PreviewServer

CHANNEL = "V_Zelenskiy_official"


@pytest.fixture
async def preview() -> AsyncIterator[PreviewServer]:
    server = await PreviewServer().start()
    try:
        yield server
    finally:
        await server.stop()


def _config(tmp_path: Path, preview: PreviewServer, telegram: bool = False) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[bot]
enabled = false
[storage]
path = "{(tmp_path / "archive.db").as_posix()}"
[telegram]
enabled = {"true" if telegram else "false"}
session = "{(tmp_path / "absent.session").as_posix()}"
[web]
base_url = "{preview.base_url}"
""",
        encoding="utf-8",
    )
    return path


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The command's own last line (INFO logs of the archive come before it)."""
    return capsys.readouterr().err.strip().splitlines()[-1]


async def _run(*argv: str) -> int:
    # The command runs its own event loop; the local server keeps serving on this one.
    return await asyncio.to_thread(main, list(argv))


async def test_web_backfill_follows_older_pages_up_to_the_limit(
    tmp_path: Path, preview: PreviewServer, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = FakeChannel.from_full(slug=CHANNEL)
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    for message_id in range(71010, 71060):
        channel.add(message_id, f"Звернення номер {message_id} про гарантії безпеки.", date=when)
    preview.channels[CHANNEL] = channel
    config = _config(tmp_path, preview)

    status = await _run(
        "backfill", f"https://t.me/{CHANNEL}", "--limit", "30", "--config", str(config)
    )
    assert status == 0
    assert _last_line(capsys) == f"30 new post(s) stored from @{CHANNEL} (web preview)"
    assert preview.requests == [(CHANNEL, None), (CHANNEL, 71040)]  # two pages of 20
    with closing(sqlite3.connect(tmp_path / "archive.db")) as conn:
        rows = conn.execute("SELECT message_id, origin FROM posts ORDER BY message_id").fetchall()
        indexed = conn.execute("SELECT count(*) FROM post_search").fetchone()[0]
    assert [r[0] for r in rows] == list(range(71030, 71060))  # the newest 30
    assert {r[1] for r in rows} == {"backfill"}
    assert indexed == 30  # searchable at once

    # Again: nothing new.
    status = await _run("backfill", CHANNEL, "--limit", "30", "--config", str(config))
    assert status == 0
    assert _last_line(capsys) == f"0 new post(s) stored from @{CHANNEL} (web preview)"


async def test_web_backfill_of_a_channel_without_preview_fails_in_one_line(
    tmp_path: Path, preview: PreviewServer, capsys: pytest.CaptureFixture[str]
) -> None:
    preview.failures["hidden_channel"] = "redirect"
    status = await _run(
        "backfill",
        "@hidden_channel",
        "--source",
        "web",
        "--config",
        str(_config(tmp_path, preview)),
    )
    assert status == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("@hidden_channel: no public preview")
    assert "Traceback" not in err


async def test_telegram_backfill_without_credentials_names_what_is_missing(
    tmp_path: Path, preview: PreviewServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, preview)
    status = await _run("backfill", CHANNEL, "--source", "telegram", "--config", str(config))
    assert status == 2
    err = capsys.readouterr().err
    assert "telegram.api_id is not set" in err.strip().splitlines()[-1]
    assert "Traceback" not in err


async def test_backfill_rejects_what_is_not_a_channel(
    tmp_path: Path, preview: PreviewServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status = await _run("backfill", "no", "--config", str(_config(tmp_path, preview)))
    assert status == 2
    assert _last_line(capsys) == "no: not a channel username or t.me link"
