"""A delivery rig: real archive, alert engine, real aiogram Bot against the local Bot API.

Test packages use it with `from tests.harness.delivery_rig import delivery` in conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.alerts import AlertEngine
from bot.app import build_ingestor
from bot.delivery.notifier import Notifier
from bot.ingest import Ingestor
from bot.models import to_epoch
from storage import chats as chat_repo
from storage import subscriptions as sub_repo
from storage.db import Database
from tests.conftest import FakeClock
from tests.harness.bot_api import BotApiServer

TOKEN = "123456:delivery-test-token-abcdefghijklmnopqrstu"


@dataclass
class Monotonic:
    """A monotonic clock the fake sleep advances."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Delivery:
    db: Database
    ingestor: Ingestor
    engine: AlertEngine
    notifier: Notifier
    server: BotApiServer
    bot: Bot
    clock: FakeClock
    monotonic: Monotonic

    async def subscribe(self, chat_id: int, query: str, **options: bool) -> int:
        async with self.db.write() as conn:
            await chat_repo.ensure_chat(
                conn,
                chat_id,
                chat_type="private" if chat_id > 0 else "supergroup",
                now=to_epoch(self.clock()),
            )
            sub_id = await sub_repo.add(
                conn, chat_id, query, created_by=1, now=to_epoch(self.clock())
            )
            for option, value in options.items():
                await sub_repo.set_option(conn, sub_id, option, value)
        await self.engine.refresh(self.db, sub_id)
        return sub_id

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [
            c.params["text"]
            for c in self.server.calls
            if c.method in ("sendMessage", "editMessageText")
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    async def outbox(self) -> list[tuple[int, str, int, str]]:
        rows = await self.db.fetch_all(
            "SELECT chat_id, kind, version, status FROM outbox ORDER BY id"
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
async def delivery(db: Database, clock: FakeClock) -> AsyncIterator[Delivery]:
    server = await BotApiServer().start()
    bot = Bot(
        TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)),
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    monotonic = Monotonic()
    ingestor = build_ingestor(db, clock=clock)
    engine = AlertEngine(clock=clock)
    ingestor.add_listener(engine)
    notifier = Notifier(
        db,
        bot,
        clock=clock,
        monotonic=monotonic,
        sleep=monotonic.sleep,
        on_chats_changed=lambda: engine.load(db),
    )
    try:
        yield Delivery(db, ingestor, engine, notifier, server, bot, clock, monotonic)
    finally:
        await bot.session.close()
        await server.stop()
