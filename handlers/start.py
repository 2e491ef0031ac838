"""/start and /help: what the bot does."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.config import Settings

HELP_TEXT = (
    "<b>chanwatch</b> watches public Telegram channels, keeps every post, edit and deletion "
    "in an archive, and alerts you the moment a post matches what you follow.\n\n"
    "/subscribe QUERY — alert me when a post matches (e.g. <code>санкції -шахед</code>, "
    '<code>"гарантії безпеки"</code>, <code>Witkoff~</code>, <code>channel:V_Zelenskiy_official</code>)\n'
    "/list — this chat's subscriptions\n"
    "/unsubscribe ID — delete one\n"
    "/pause, /resume — all alerts of this chat\n"
    "/search QUERY — the newest matching posts in the archive\n"
    "/help — this message\n\n"
    "Words match in any form (Ukrainian, Russian, English); AND, OR, NOT or -word, "
    '"phrases", =exact, prefix*, Name~ (any spelling), channel:name, /regex/.'
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
