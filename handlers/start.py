"""/start and /help: what the bot does."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.config import Settings
from bot.i18n import text


def build_router(settings: Settings) -> Router:
    """The router for /start and /help."""
    router = Router(name="start")

    @router.message(CommandStart())
    async def start(message: Message, lang: str = "en") -> None:
        """Greet and explain."""
        await message.answer(text("help", lang))

    @router.message(Command("help"))
    async def help_(message: Message, lang: str = "en") -> None:
        """Explain the bot."""
        await message.answer(text("help", lang))

    return router
