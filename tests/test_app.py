"""The composition root with the Telethon part enabled (a never-connected client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import App
from bot.config import parse_settings
from tests.conftest import FakeClock
from tests.harness import telethon_kit as kit


class OfflineClient(kit.TelegramClient):  # type: ignore[misc]
    """A real client whose connection to Telegram's servers is replaced (they are not here)."""

    connected = False

    async def connect(self) -> None:
        self.connected = True

    async def is_user_authorized(self) -> bool:
        return True

    async def disconnect(self) -> None:
        self.connected = False


def _settings(tmp_path: Path) -> Any:
    return parse_settings(
        {
            "bot": {"enabled": False},
            "storage": {"path": str(tmp_path / "app.db")},
            "telegram": {"api_id": 1, "api_hash": "0" * 32},
            "channels": [{"username": "official_news"}],
        },
        environ={},
    )


async def test_app_watches_config_channels_and_stores_live_posts(
    tmp_path: Path, clock: FakeClock
) -> None:
    from telethon.sessions import StringSession

    client = OfflineClient(StringSession(), 1, "0" * 32, flood_sleep_threshold=0)
    client._mb_entity_cache.set_self_user(kit.SELF_USER_ID, False, 0)
    fake = kit.FakeTelegram().install(client)
    fake.add_channel(kit.channel(321, "official_news"))
    fake.post(kit.message(321, 40, "newest before start"))

    app = App(_settings(tmp_path), clock=clock, telegram_client=client)
    await app.start()
    try:
        assert client.connected
        assert app.scheduler is not None and app.scheduler.get_job("telegram_catchup")
        assert app.catchup is not None
        for _ in range(3):  # resolve, join, first sight
            clock.advance(3)
            await app.catchup.tick()
        await kit.dispatch(client, kit.new_post(kit.message(321, 41, "live after start")))
        rows = await app.db.fetch_all("SELECT message_id, origin FROM posts ORDER BY message_id")
        assert [tuple(r) for r in rows] == [(40, "first_sight"), (41, "live")]
    finally:
        await app.stop()
    assert not client.connected
    await app.stop()  # idempotent


async def test_app_says_when_posts_need_a_reindex(
    tmp_path: Path, clock: FakeClock, caplog: Any
) -> None:
    import logging

    from bot.query import NORMALIZER_VERSION

    settings = parse_settings(
        {
            "bot": {"enabled": False},
            "telegram": {"enabled": False},
            "web": {"enabled": False},
            "storage": {"path": str(tmp_path / "app.db")},
        },
        environ={},
    )
    app = App(settings, clock=clock)
    await app.start()
    await app.stop()
    assert "chanwatch reindex" not in caplog.text  # an empty archive: nothing to say
    from storage.db import Database

    async with Database(tmp_path / "app.db") as db, db.write() as conn:
        await conn.execute(
            "INSERT INTO channels (telegram_id, username, title, created_at) "
            "VALUES (1, 'news', 'News', 0)"
        )
        await conn.execute(
            "INSERT INTO posts (channel_id, message_id, date, text, origin, first_seen_at, "
            "search_version) VALUES (1, 7, 0, 'text', 'live', 0, ?)",
            (NORMALIZER_VERSION - 1,),
        )
    app = App(settings, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await app.start()
        await app.stop()
    assert "1 archived post(s) were indexed for search by an older normaliser" in caplog.text
