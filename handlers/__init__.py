"""aiogram routers, one module per area of the chat interface."""

from __future__ import annotations

from aiogram import Dispatcher, Router

from bot.config import Settings
from handlers import channels, search, start, subscriptions
from handlers import settings as chat_settings
from handlers.access import AccessMiddleware
from handlers.language import LanguageMiddleware


def get_routers(settings: Settings) -> list[Router]:
    """The bot's routers, built for these settings (tests build them with test values)."""
    return [
        start.build_router(settings),
        subscriptions.build_router(settings),
        search.build_router(settings),
        channels.build_router(settings),
        chat_settings.build_router(settings),
    ]


def setup_dispatcher(dispatcher: Dispatcher, settings: Settings) -> None:
    """Include the routers and the access middleware (the app and tests call this)."""
    access = AccessMiddleware(settings)
    dispatcher.message.outer_middleware(access)
    dispatcher.callback_query.outer_middleware(access)
    language = LanguageMiddleware()
    dispatcher.message.middleware(language)
    dispatcher.callback_query.middleware(language)
    dispatcher.include_routers(*get_routers(settings))
