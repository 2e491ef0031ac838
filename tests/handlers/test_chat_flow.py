"""The chat interface end to end: updates through the real Dispatcher and routers, replies
through the real Bot to the local Bot API server, and a post from the Telethon listener
reaching the subscribed chat as exactly one alert."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.config import parse_settings
from bot.models import ChannelRef, Post, PostOrigin, StoredChannel
from bot.sources.telegram import TelegramListener, WatchedChannels
from handlers import get_routers
from tests.harness import telethon_kit as kit
from tests.harness.delivery_rig import Delivery

_ids = itertools.count(1)


@dataclass
class Chat:
    delivery: Delivery
    dispatcher: Dispatcher
    bot: Bot

    async def send(self, text: str, chat_id: int = 10) -> str:
        """Feed a message update; return the bot's reply text."""
        before = len(self.delivery.server.calls_of("sendMessage"))
        update = {
            "update_id": next(_ids),
            "message": {
                "message_id": next(_ids),
                "date": 1767225600,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": {"id": 77, "is_bot": False, "first_name": "Reporter"},
                "text": text,
            },
        }
        await self.dispatcher.feed_update(self.bot, Update.model_validate(update))
        calls = self.delivery.server.calls_of("sendMessage")
        assert len(calls) == before + 1, f"expected one reply to {text!r}"
        return str(calls[-1].params["text"])


@pytest.fixture
async def chat(delivery: Delivery) -> AsyncIterator[Chat]:
    settings = parse_settings({}, environ={})
    dispatcher = Dispatcher(settings=settings, db=delivery.db, alerts=delivery.engine)
    dispatcher.include_routers(*get_routers(settings))
    yield Chat(delivery, dispatcher, delivery.bot)


NEWS = ChannelRef(1001, "official_news", "Official News")


async def test_subscribe_shows_understanding_and_backtest(chat: Chat) -> None:
    ingestor = chat.delivery.ingestor
    now = chat.delivery.clock()
    await ingestor.ingest_batch(
        [Post(NEWS, i, now - timedelta(days=i), f"Санкції номер {i}") for i in range(1, 6)],
        origin=PostOrigin.IMPORT,
    )
    reply = await chat.send("/subscribe санкції")
    assert "Subscribed (#1)" in reply and "lemmas: санкція" in reply
    assert "would have matched: 5" in reply
    assert reply.count("https://t.me/official_news/") == 3
    assert "https://t.me/official_news/1" in reply  # newest first
    rows = await chat.delivery.db.fetch_all("SELECT chat_id, query FROM subscriptions")
    assert [tuple(r) for r in rows] == [(10, "санкції")]


async def test_invalid_query_names_the_column_and_saves_nothing(chat: Chat) -> None:
    reply = await chat.send('/subscribe "гарантії безпеки')
    assert "unclosed quote at column 1" in reply
    assert await chat.delivery.db.fetch_all("SELECT * FROM subscriptions") == []


async def test_list_unsubscribe_pause_resume(chat: Chat) -> None:
    await chat.send("/subscribe санкції")
    await chat.send("/subscribe Witkoff~")
    listing = await chat.send("/list")
    assert "#1 <code>санкції</code>" in listing and "#2 <code>Witkoff~</code>" in listing
    assert "deleted" in await chat.send("/unsubscribe 1")
    assert "no subscription #1" in await chat.send("/unsubscribe 1")
    assert "#1" not in await chat.send("/list")
    assert len(chat.delivery.engine) == 1
    await chat.send("/pause")
    assert len(chat.delivery.engine) == 0
    await chat.send("/resume")
    assert len(chat.delivery.engine) == 1


async def test_search_replies_with_links(chat: Chat) -> None:
    await chat.delivery.ingestor.ingest(
        Post(NEWS, 9, chat.delivery.clock(), "Гарантії безпеки обговорили."),
        origin=PostOrigin.LIVE,
    )
    reply = await chat.send("/search гарантії")
    assert "https://t.me/official_news/9" in reply and "<b>Official News</b>" in reply
    assert "No posts match." == await chat.send("/search шахед")


async def test_post_from_telethon_reaches_the_chat_once(chat: Chat) -> None:
    await chat.send('/subscribe "гарантії безпеки"')
    await chat.send("/subscribe Париж", chat_id=10)
    client = kit.make_client()
    watched = WatchedChannels()
    watched.add(StoredChannel(1, 1001, "official_news", "Official News", 5, "telegram", True, True))
    TelegramListener(client, chat.delivery.ingestor, watched).register()
    msg = kit.message(1001, 77, "У Парижі обговорили гарантії безпеки.", date=chat.delivery.clock())
    await kit.dispatch(client, kit.new_post(msg))
    await kit.dispatch(client, kit.new_post(msg))  # a repeat changes nothing
    sent_before = len(chat.delivery.server.calls_of("sendMessage"))
    assert await chat.delivery.notifier.drain_once() == 1
    alerts = chat.delivery.server.calls_of("sendMessage")[sent_before:]
    assert len(alerts) == 1
    text = alerts[0].params["text"]
    assert "<b>гарантії безпеки</b>" in text and "<b>Парижі</b>" in text
    assert "https://t.me/official_news/77" in text
