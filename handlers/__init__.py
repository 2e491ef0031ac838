"""aiogram routers, one module per area of the chat interface."""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings
from handlers import search, start, subscriptions


def get_routers(settings: Settings) -> list[Router]:
    """The bot's routers, built for these settings (tests build them with test values)."""
    return [
        start.build_router(settings),
        subscriptions.build_router(settings),
        search.build_router(settings),
    ]
