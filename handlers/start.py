"""/start and /help: what the bot does."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.config import Settings

HELP_TEXT = (
    "<b>chanwatch</b> watches public Telegram channels, keeps every post, edit and deletion "
    "in an archive, and alerts you the moment a post matches what you follow.\n\n"
    "/help — this message"
)


def build_router(settings: Settings) -> Router:
    """The router for /start and /help."""
    router = Router(name="start")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        """Greet and explain."""
        await message.answer(HELP_TEXT)

    @router.message(Command("help"))
    async def help_(message: Message) -> None:
        """Explain the bot."""
        await message.answer(HELP_TEXT)

    return router
