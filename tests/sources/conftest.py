"""A listener rig: a real TelegramClient (never connected), a fake Telegram, a real archive."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from telethon import TelegramClient

from bot.config import CatchUpSettings
from bot.ingest import Ingestor
from bot.models import to_epoch
from bot.sources.rotation import Task
from bot.sources.telegram import TelegramCatchUp, TelegramListener, WatchedChannels
from storage import channels as channel_repo
from storage.db import Database
from tests.conftest import FakeClock
from tests.harness import telethon_kit as kit

CHANNEL_ID = 123
USERNAME = "official_news"


@pytest.fixture(autouse=True)
def no_unhandled_handler_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Telethon logs handler exceptions instead of raising them: fail the test on such a log."""
    caplog.set_level(logging.ERROR, logger="telethon")
    yield
    unhandled = [r for r in caplog.records if "Unhandled exception" in r.getMessage()]
    assert not unhandled, f"a handler raised inside Telethon: {unhandled[0].exc_info}"


@dataclass
class Rig:
    client: TelegramClient
    fake: kit.FakeTelegram
    db: Database
    ingestor: Ingestor
    watched: WatchedChannels
    catchup: TelegramCatchUp
    clock: FakeClock
    slept: list[float] = field(default_factory=list)

    async def step(self) -> Task | None:
        """Let one budget interval pass, then tick once."""
        self.clock.advance(self.catchup.budget.interval_seconds)
        return await self.catchup.tick()

    async def settle(self, max_steps: int = 50) -> list[Task]:
        """Tick until nothing is due."""
        done: list[Task] = []
        for _ in range(max_steps):
            task = await self.step()
            if task is None:
                return done
            done.append(task)
        raise AssertionError(f"catch-up did not settle: {done[-5:]}")

    async def add_channel(self, username: str, telegram_id: int) -> None:
        self.fake.add_channel(kit.channel(telegram_id, username))
        async with self.db.write() as conn:
            await channel_repo.configure_channel(
                conn, username, source="telegram", now=to_epoch(self.clock())
            )


def build_rig(db: Database, clock: FakeClock, settings: CatchUpSettings | None = None) -> Rig:
    client = kit.make_client()
    fake = kit.FakeTelegram().install(client)
    ingestor = Ingestor(db, clock=clock)
    watched = WatchedChannels()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        # Time passes for us and for Telethon's own flood-wait memory.
        slept.append(seconds)
        clock.advance(seconds)
        client._flood_waited_requests.clear()

    catchup = TelegramCatchUp(
        client,
        db,
        ingestor,
        watched,
        settings or CatchUpSettings(),
        clock=clock,
        sleep=sleep,
    )
    listener = TelegramListener(
        client, ingestor, watched, on_failure=catchup.mark_behind_by_telegram_id
    )
    listener.register()
    return Rig(client, fake, db, ingestor, watched, catchup, clock, slept)


@pytest.fixture
async def rig(db: Database, clock: FakeClock) -> AsyncIterator[Rig]:
    """One watched channel, resolved, joined and first-sighted at message 10."""
    r = build_rig(db, clock)
    for i in range(1, 11):
        r.fake.post(kit.message(CHANNEL_ID, i, f"old post {i}"))
    await r.add_channel(USERNAME, CHANNEL_ID)
    await r.settle()
    yield r
