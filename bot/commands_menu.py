"""The bot's command menu in Ukrainian, English and Russian (`setMyCommands`)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand

MENU: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("subscribe", "Alert me when a post matches a query"),
        ("list", "This chat's subscriptions"),
        ("unsubscribe", "Delete a subscription"),
        ("search", "Search the archive"),
        ("latest", "The newest posts"),
        ("channels", "Watched channels"),
        ("settings", "Time zone and language"),
        ("pause", "Pause all alerts"),
        ("resume", "Resume alerts"),
        ("help", "What the bot does and the query language"),
    ],
    "uk": [
        ("subscribe", "Сповіщати, коли допис відповідає запиту"),
        ("list", "Підписки цього чату"),
        ("unsubscribe", "Видалити підписку"),
        ("search", "Пошук в архіві"),
        ("latest", "Найновіші дописи"),
        ("channels", "Канали, за якими стежимо"),
        ("settings", "Часовий пояс і мова"),
        ("pause", "Призупинити сповіщення"),
        ("resume", "Відновити сповіщення"),
        ("help", "Що вміє бот і мова запитів"),
    ],
    "ru": [
        ("subscribe", "Оповещать, когда пост подходит под запрос"),
        ("list", "Подписки этого чата"),
        ("unsubscribe", "Удалить подписку"),
        ("search", "Поиск по архиву"),
        ("latest", "Самые новые посты"),
        ("channels", "Отслеживаемые каналы"),
        ("settings", "Часовой пояс и язык"),
        ("pause", "Приостановить оповещения"),
        ("resume", "Возобновить оповещения"),
        ("help", "Что умеет бот и язык запросов"),
    ],
}


async def register_command_menu(bot: Bot) -> None:
    """Set the menu for each language and the default (English)."""
    for language, commands in MENU.items():
        await bot.set_my_commands(
            [BotCommand(command=c, description=d) for c, d in commands], language_code=language
        )
    await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in MENU["en"]])
