"""The chat interface end to end: updates through the real Dispatcher and routers, replies
through the real Bot to the local Bot API server, and a post from the Telethon listener
reaching the subscribed chat as exactly one alert."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.config import parse_settings
from bot.models import ChannelRef, Post, PostOrigin, StoredChannel
from bot.sources.telegram import TelegramListener, WatchedChannels
from handlers import setup_dispatcher
from tests.harness import telethon_kit as kit
from tests.harness.delivery_rig import Delivery

_ids = itertools.count(1)


@dataclass
class Chat:
    delivery: Delivery
    dispatcher: Dispatcher
    bot: Bot
    user_language: str = "en"

    async def send(self, text: str, chat_id: int = 10, user_id: int = 77) -> str:
        """Feed a message update; return the bot's reply text."""
        replies = await self.send_all(text, chat_id, user_id)
        assert len(replies) == 1, f"expected one reply to {text!r}, got {replies}"
        return replies[0]

    async def press(
        self, data: str, chat_id: int = 10, user_id: int = 77, text: str = "subscription"
    ) -> str:
        """Feed a button press; return the callback answer text."""
        before = len(self.delivery.server.calls_of("answerCallbackQuery"))
        update = {
            "update_id": next(_ids),
            "callback_query": {
                "id": str(next(_ids)),
                "from": {"id": user_id, "is_bot": False, "first_name": "Reporter"},
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": 5,
                    "date": 1767225600,
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                    "text": text,
                },
            },
        }
        await self.dispatcher.feed_update(self.bot, Update.model_validate(update))
        answers = self.delivery.server.calls_of("answerCallbackQuery")[before:]
        assert len(answers) == 1
        return str(answers[0].params.get("text", ""))

    async def send_all(self, text: str, chat_id: int = 10, user_id: int = 77) -> list[str]:
        """Feed a message update; return every reply (none for ignored messages)."""
        before = len(self.delivery.server.calls_of("sendMessage"))
        update = {
            "update_id": next(_ids),
            "message": {
                "message_id": next(_ids),
                "date": 1767225600,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": {
                    "id": user_id,
                    "is_bot": False,
                    "first_name": "Reporter",
                    "language_code": self.user_language,
                },
                "text": text,
            },
        }
        await self.dispatcher.feed_update(self.bot, Update.model_validate(update))
        return [
            str(c.params["text"]) for c in self.delivery.server.calls_of("sendMessage")[before:]
        ]


ADMIN = 500


def make_chat(
    delivery: Delivery, sections: dict[str, Any] | None = None, **bot_settings: Any
) -> Chat:
    raw = {"bot": {"admins": [ADMIN], **bot_settings}, **(sections or {})}
    settings = parse_settings(raw, environ={})
    dispatcher = Dispatcher(settings=settings, db=delivery.db, alerts=delivery.engine)
    setup_dispatcher(dispatcher, settings)
    return Chat(delivery, dispatcher, delivery.bot)


@pytest.fixture
async def chat(delivery: Delivery) -> AsyncIterator[Chat]:
    settings = parse_settings({"bot": {"admins": [ADMIN]}}, environ={})
    dispatcher = Dispatcher(settings=settings, db=delivery.db, alerts=delivery.engine)
    setup_dispatcher(dispatcher, settings)
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


async def test_search_pages_with_buttons(chat: Chat) -> None:
    import json

    now = chat.delivery.clock()
    await chat.delivery.ingestor.ingest_batch(
        [
            Post(NEWS, i, now - timedelta(minutes=100 - i), f"Санкції, допис {i}")
            for i in range(1, 13)
        ],
        origin=PostOrigin.LIVE,
    )
    first = await chat.send("/search санкції")
    assert [f"official_news/{i}" in first for i in (12, 8)] == [True, True]
    assert "official_news/7" not in first
    markup = json.loads(chat.delivery.server.calls_of("sendMessage")[-1].params["reply_markup"])
    [[older]] = markup["inline_keyboard"]
    assert older["text"] == "Older ▶"
    header = "🔎 санкції — page 1"
    await chat.press(older["callback_data"], text=header + "\n\n...")
    second = chat.delivery.server.calls_of("editMessageText")[-1].params
    assert "page 2" in second["text"] and "official_news/7" in second["text"]
    assert "official_news/3" in second["text"] and "official_news/2" not in second["text"]
    buttons = [b["text"] for r in json.loads(second["reply_markup"])["inline_keyboard"] for b in r]
    assert buttons == ["◀ Newer", "Older ▶"]
    await chat.press("sp:2", text="🔎 санкції — page 2")
    third = chat.delivery.server.calls_of("editMessageText")[-1].params
    assert "official_news/2" in third["text"] and "official_news/1" in third["text"]


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


async def test_admin_commands_and_refusals(chat: Chat) -> None:
    refusal = await chat.send("/addchannel @new_channel web")
    assert "only the bot's administrators" in refusal
    assert await chat.delivery.db.fetch_all("SELECT * FROM channels") == []
    assert "Watching @new_channel (web)" in await chat.send(
        "/addchannel https://t.me/new_channel web", user_id=ADMIN
    )
    assert "not a public channel username" in await chat.send("/addchannel @x", user_id=ADMIN)
    listing = await chat.send("/channels")
    assert "@new_channel (web) — last post no posts yet" in listing
    assert "only the bot's administrators" in await chat.send("/removechannel @new_channel")
    assert "Stopped watching @new_channel" in await chat.send(
        "/removechannel @new_channel", user_id=ADMIN
    )
    assert "No channels are watched yet." == await chat.send("/channels")
    stats = await chat.send("/stats", user_id=ADMIN)
    assert "Posts archived: 0" in stats and "Subscriptions: 0" in stats
    assert "only the bot's administrators" in await chat.send("/stats")


async def test_addchannel_defaults_to_the_enabled_source(delivery: Delivery) -> None:
    web_only = make_chat(delivery, {"telegram": {"enabled": False}, "web": {"enabled": True}})
    assert await web_only.send("/addchannel @web_default", user_id=ADMIN) == (
        "Watching @web_default (web)."
    )
    warned = await web_only.send("/addchannel @by_account telegram", user_id=ADMIN)
    assert warned.startswith("Watching @by_account (telegram). Note: [telegram] is disabled")
    rows = await delivery.db.fetch_all("SELECT username, source FROM channels ORDER BY id")
    assert [tuple(r) for r in rows] == [("web_default", "web"), ("by_account", "telegram")]
    with_account = make_chat(delivery)
    assert await with_account.send("/addchannel @live_one", user_id=ADMIN) == (
        "Watching @live_one (telegram)."
    )


async def test_latest(chat: Chat) -> None:
    now = chat.delivery.clock()
    await chat.delivery.ingestor.ingest_batch(
        [Post(NEWS, i, now - timedelta(minutes=10 - i), f"Пост {i}") for i in range(1, 8)]
        + [Post(ChannelRef(3003, "other_chan"), 1, now, "Інший канал")],
        origin=PostOrigin.LIVE,
    )
    everything = await chat.send("/latest")
    assert everything.count("https://t.me/") == 5 and "other_chan/1" in everything
    one = await chat.send("/latest @official_news")
    assert "other_chan" not in one and "official_news/7" in one and "official_news/2" not in one
    assert "No channel" in await chat.send("/latest @missing_chan")


async def test_allowed_users_limit_access_with_one_refusal(delivery: Delivery) -> None:
    private = make_chat(delivery, allowed_users=[77])
    assert "Subscribed" in await private.send("/subscribe санкції", user_id=77)
    assert "this bot is private" in await private.send("/subscribe шахед", chat_id=20, user_id=99)
    assert await private.send_all("/list", chat_id=20, user_id=99) == []  # refused only once
    rows = await delivery.db.fetch_all("SELECT chat_id FROM subscriptions")
    assert [r[0] for r in rows] == [10]


async def test_groups_only_admins_change_subscriptions_everyone_searches(chat: Chat) -> None:
    group = -100123
    assert "only the group's administrators" in await chat.send(
        "/subscribe санкції", chat_id=group, user_id=1
    )
    chat.delivery.server.chat_admins.add((group, 2))
    assert "Subscribed" in await chat.send("/subscribe санкції", chat_id=group, user_id=2)
    assert "No posts match." == await chat.send("/search санкції", chat_id=group, user_id=1)
    rows = await chat.delivery.db.fetch_all("SELECT chat_id FROM subscriptions")
    assert [r[0] for r in rows] == [group]


async def test_commands_for_another_bot_are_ignored(chat: Chat) -> None:
    assert await chat.send_all("/subscribe@some_other_bot санкції") == []
    assert "Subscribed" in await chat.send("/subscribe@chanwatch_test_bot санкції")


async def test_option_buttons_toggle_and_delete(chat: Chat) -> None:
    import json

    await chat.send("/subscribe санкції")
    markup = json.loads(chat.delivery.server.calls_of("sendMessage")[-1].params["reply_markup"])
    buttons = {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}
    assert set(buttons) == {"Sound: on", "Edits & deletions: on", "Forwards: on", "Pause", "Delete"}
    assert all(len(data.encode()) <= 64 for data in buttons.values())
    assert "silent on" in await chat.press(buttons["Sound: on"])
    assert "edits and deletions off" in await chat.press(buttons["Edits & deletions: on"])
    row = await chat.delivery.db.fetch_one("SELECT silent, edits, deletions FROM subscriptions")
    assert tuple(row) == (1, 0, 0)
    redrawn = json.loads(
        chat.delivery.server.calls_of("editMessageReplyMarkup")[-1].params["reply_markup"]
    )
    texts = {b["text"] for r in redrawn["inline_keyboard"] for b in r}
    assert "Sound: off" in texts and "Edits & deletions: off" in texts
    # Another chat cannot touch it.
    assert "no longer exists" in await chat.press(buttons["Delete"], chat_id=20)
    assert "deleted" in await chat.press(buttons["Delete"])
    assert len(chat.delivery.engine) == 0
    listing = await chat.send("/list")
    assert "No subscriptions" in listing


async def test_settings_time_zone_and_language(chat: Chat) -> None:
    shown = await chat.send("/settings")
    assert "Time zone: <b>Europe/Kyiv</b>" in shown
    assert "Unknown time zone" in await chat.send("/settings Mars/Olympus")
    assert "Time zone: <b>America/New_York</b>" in await chat.send("/settings America/New_York")
    assert "Збережено: uk" in await chat.press("set:lang:uk")
    assert "Часовий пояс" in await chat.send("/settings")
    assert "Збережено: Europe/London" in await chat.press("set:tz:Europe/London")
    row = await chat.delivery.db.fetch_one("SELECT timezone, language FROM chats WHERE id = 10")
    assert tuple(row) == ("Europe/London", "uk")
    # Alerts use the chat's zone.
    await chat.send("/subscribe санкції")
    await chat.delivery.ingestor.ingest(
        Post(NEWS, 3, chat.delivery.clock(), "Нові санкції."), origin=PostOrigin.LIVE
    )
    await chat.delivery.notifier.drain_once()
    assert (
        "12:00 (Europe/London)" in chat.delivery.server.calls_of("sendMessage")[-1].params["text"]
    )


async def test_command_menu_in_three_languages(chat: Chat) -> None:
    from bot.commands_menu import register_command_menu

    await register_command_menu(chat.bot)
    calls = chat.delivery.server.calls_of("setMyCommands")
    assert sorted(c.params.get("language_code", "") for c in calls) == ["", "en", "ru", "uk"]
    import json

    uk = next(c for c in calls if c.params.get("language_code") == "uk")
    assert "Пошук в архіві" in [c["description"] for c in json.loads(uk.params["commands"])]


async def test_replies_and_alerts_speak_the_chat_language(chat: Chat) -> None:
    chat.user_language = "ru"
    assert "Подписка создана (#1)" in await chat.send("/subscribe санкції")
    chat.user_language = "de"
    assert "Subscribed (#2)" in await chat.send("/subscribe шахед", chat_id=20)
    await chat.press("set:lang:uk")
    assert "Підписку створено" in await chat.send("/subscribe Париж")
    await chat.delivery.ingestor.ingest(
        Post(NEWS, 4, chat.delivery.clock(), "Санкції, Париж.", forward=None),
        origin=PostOrigin.CATCHUP,
    )
    await chat.delivery.notifier.drain_once()
    alert = chat.delivery.server.calls_of("sendMessage")[-1].params["text"]
    assert "Збіглося: санкції; Париж" in alert


async def test_limits_on_queries(chat: Chat) -> None:
    import handlers.subscriptions as subs

    assert "at most 500 characters" in await chat.send("/subscribe " + "a" * 501)
    for i in range(subs.MAX_REGEX_SUBSCRIPTIONS):
        assert "Subscribed" in await chat.send(f"/subscribe /номер{i}/")
    assert "regular expressions" in await chat.send("/subscribe /ще/")
    for i in range(subs.MAX_SUBSCRIPTIONS - subs.MAX_REGEX_SUBSCRIPTIONS):
        await chat.send(f"/subscribe слово{i}")
    assert "already has 50 subscriptions" in await chat.send("/subscribe останнє")
    rows = await chat.delivery.db.fetch_one("SELECT COUNT(*) FROM subscriptions")
    assert rows[0] == 50
