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
