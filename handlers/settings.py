"""/settings: the chat's time zone (for alerts) and language."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram import Bot, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import text
from bot.models import to_epoch, utc_now
from handlers.subscriptions import may_change
from storage import chats as chat_repo
from storage.db import Database

LANGUAGES = {"uk": "Українська", "en": "English", "ru": "Русский"}
ZONES = ("Europe/Kyiv", "Europe/London", "Europe/Berlin", "America/New_York", "UTC")


class SettingAction(CallbackData, prefix="set"):
    """A settings button."""

    key: str  # lang or tz
    value: str


def settings_keyboard() -> InlineKeyboardMarkup:
    """Language and common time zones as buttons."""
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGES.items():
        builder.button(text=name, callback_data=SettingAction(key="lang", value=code))
    for zone in ZONES:
        builder.button(text=zone, callback_data=SettingAction(key="tz", value=zone))
    builder.adjust(3, 3, 2)
    return builder.as_markup()


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def build_router(settings: Settings) -> Router:
    """The router for /settings."""
    router = Router(name="settings")

    async def show(message: Message, db: Database, lang: str) -> None:
        async with db.read() as conn:
            zone = await chat_repo.timezone_of(conn, message.chat.id)
            language = await chat_repo.language_of(conn, message.chat.id)
        await message.answer(
            text(
                "settings",
                lang,
                zone=html.quote(zone),
                language=LANGUAGES.get(language or "", "Telegram"),
            ),
            reply_markup=settings_keyboard(),
        )

    @router.message(Command("settings"))
    async def settings_(
        message: Message, command: CommandObject, bot: Bot, db: Database, lang: str = "en"
    ) -> None:
        """Show the settings, or set the time zone given as text."""
        zone = (command.args or "").strip()
        if zone:
            if not await may_change(message, bot, lang):
                return
            if not _valid_zone(zone):
                await message.answer(text("unknown_zone", lang, zone=html.quote(zone)))
                return
            async with db.write() as conn:
                await chat_repo.ensure_chat(
                    conn, message.chat.id, chat_type=message.chat.type, now=to_epoch(utc_now())
                )
                await chat_repo.set_timezone(conn, message.chat.id, zone)
        await show(message, db, lang)

    @router.callback_query(SettingAction.filter())
    async def on_button(
        query: CallbackQuery, callback_data: SettingAction, db: Database, lang: str = "en"
    ) -> None:
        """Apply a language or time zone button."""
        message = query.message
        if not isinstance(message, Message):
            await query.answer()
            return
        async with db.write() as conn:
            await chat_repo.ensure_chat(
                conn, message.chat.id, chat_type=message.chat.type, now=to_epoch(utc_now())
            )
            if callback_data.key == "lang" and callback_data.value in LANGUAGES:
                await chat_repo.set_language(conn, message.chat.id, callback_data.value)
            elif callback_data.key == "tz" and _valid_zone(callback_data.value):
                await chat_repo.set_timezone(conn, message.chat.id, callback_data.value)
            else:
                await query.answer("Unknown setting.")
                return
        chosen = callback_data.value if callback_data.key == "lang" else lang
        await query.answer(text("saved", chosen, value=callback_data.value))

    return router
