"""`chanwatch run` as a real process: starts, polls the bot, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from storage.db import load_migrations
from tests.conftest import REPO_ROOT
from tests.harness.bot_api import BotApiServer
from tests.harness.web_preview import FakeChannel, PreviewServer

TOKEN = "123456:TEST-token-never-logged-abcdefghijklmnop"


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiServer]:
    server = await BotApiServer().start()
    try:
        yield server
    finally:
        await server.stop()


def _write_config(tmp_path: Path, base_url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[bot]
api_base_url = "{base_url}"
[storage]
path = "{(tmp_path / "archive.db").as_posix()}"
[telegram]
enabled = false
[[channels]]
username = "V_Zelenskiy_official"
""",
        encoding="utf-8",
    )
    return config


async def _start_run(config: Path, cwd: Path) -> asyncio.subprocess.Process:
    """`python -m bot run --config CONFIG` as a child process with the test token."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        env=_env(),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANWATCH_")}
    env["CHANWATCH_BOT_TOKEN"] = TOKEN
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_run_cleanly(
    tmp_path: Path, bot_api: BotApiServer, sig: signal.Signals
) -> None:
    config = _write_config(tmp_path, bot_api.base_url)
    process = await _start_run(config, tmp_path)
    try:
        # Running means: the bot is long-polling our server.
        await bot_api.wait_for_call("getUpdates", within_seconds=30)
        process.send_signal(sig)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert TOKEN not in log and "TEST-token" not in log

    # The last connection closed: the WAL was checkpointed away.
    assert not (tmp_path / "archive.db-wal").exists()
    with closing(sqlite3.connect(tmp_path / "archive.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == load_migrations()[-1].version
        channels = conn.execute("SELECT username, in_config FROM channels").fetchall()
    assert channels == [("V_Zelenskiy_official", 1)]


async def test_run_with_rejected_token_exits_2(tmp_path: Path, bot_api: BotApiServer) -> None:
    from tests.harness.bot_api import Failure

    bot_api.fail_next("getMe", Failure(401, "Unauthorized"))
    config = _write_config(tmp_path, bot_api.base_url)
    process = await _start_run(config, tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    last = stderr.decode().strip().splitlines()[-1]
    assert last == "bot.token: Telegram rejected the bot token (Unauthorized)"
    assert TOKEN not in stderr.decode()


async def test_example_config_runs_on_the_web_source_with_a_bot_token_alone(
    tmp_path: Path, bot_api: BotApiServer
) -> None:
    """The README quick start: config.example.toml as shipped, only the servers redirected."""
    preview = await PreviewServer().start()
    preview.channels["V_Zelenskiy_official"] = FakeChannel.from_full(slug="V_Zelenskiy_official")
    example = (REPO_ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        example.replace('"https://api.telegram.org"', f'"{bot_api.base_url}"', 1).replace(
            'base_url = "https://t.me"', f'base_url = "{preview.base_url}"', 1
        ),
        encoding="utf-8",
    )
    process = await _start_run(config, tmp_path)
    try:
        await asyncio.wait_for(preview.requested.wait(), timeout=30)
        await bot_api.wait_for_call("getUpdates", within_seconds=30)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await preview.stop()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert TOKEN not in log
    assert preview.requests[0] == ("V_Zelenskiy_official", None)
    with closing(sqlite3.connect(tmp_path / "chanwatch.db")) as conn:
        source = conn.execute(
            "SELECT source FROM channels WHERE username = 'V_Zelenskiy_official'"
        ).fetchone()
    assert source == ("web",)
