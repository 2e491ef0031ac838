"""The composition root: builds every part the config enables, and closes all of it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.alerts import AlertEngine
from bot.config import Settings
from bot.errors import ConfigError, RuntimeFailure
from bot.ingest import Clock, Ingestor
from bot.jobs import add_periodic, build_scheduler
from bot.models import to_epoch, utc_now
from storage import channels as channel_repo
from storage.db import Database

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.delivery.notifier import Notifier
    from bot.sources.telegram import TelegramCatchUp
    from bot.sources.web import WebPoller

log = logging.getLogger(__name__)

DEFAULT_BOT_API = "https://api.telegram.org"
WEB_TICK_SECONDS = 2.0  # how often the web poller looks for channels that are due


async def sync_config_channels(db: Database, settings: Settings, *, now: int) -> None:
    """Make the archive's watched set include every `[[channels]]` entry of the config."""
    async with db.write() as conn:
        listed = []
        for entry in settings.channels:
            channel = await channel_repo.configure_channel(
                conn, entry.username, source=entry.source, now=now
            )
            listed.append(channel.id)
        await channel_repo.retire_unlisted_config_channels(conn, listed)


def build_ingestor(db: Database, *, clock: Clock = utc_now) -> Ingestor:
    """The ingestor every source writes through: it normalises text off the event loop and
    keeps the search index current in the same transaction as each change."""
    from bot.search_index import TextAnalyser, search_index_listener

    ingestor = Ingestor(db, clock=clock, analyser=TextAnalyser().analyse)
    ingestor.add_listener(search_index_listener())
    return ingestor


class App:
    """chanwatch running: the archive, the listener and catch-up, the web preview poller,
    the scheduler, the bot."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        telegram_client: Any | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.db = Database(settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms)
        self.ingestor = build_ingestor(self.db, clock=clock)
        self._telegram_client = telegram_client
        self.catchup: TelegramCatchUp | None = None
        self.web: WebPoller | None = None
        self._web_session: Any | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self._polling: asyncio.Task[None] | None = None
        self._notifier_task: asyncio.Task[None] | None = None
        self._notifier_stop = asyncio.Event()
        self.alerts: AlertEngine | None = None
        self.notifier: Notifier | None = None
        self._started = False

    async def start(self) -> None:
        """Open the archive and start what the config enables."""
        await self.db.open()
        self._started = True
        await sync_config_channels(self.db, self.settings, now=to_epoch(self.clock()))
        self.scheduler = build_scheduler()
        # The bot (and with it the alert engine) first: a post the listener stores must
        # already find its subscribers.
        if self.settings.bot.enabled:
            await self._start_bot()
        if self.settings.telegram.enabled:
            await self._start_telegram()
        if self.settings.web.enabled:
            await self._start_web()
        self._warn_unserved_channels()
        await self._warn_stale_search_index()
        await self._settle()
        self.scheduler.start()
        log.info(
            "chanwatch running: %d configured channel(s); telegram %s, web %s, bot %s",
            len(self.settings.channels),
            "on" if self.settings.telegram.enabled else "off",
            "on" if self.settings.web.enabled else "off",
            "on" if self.settings.bot.enabled else "off",
        )

    async def _settle(self) -> None:
        """Load the dictionaries now (off the event loop), not when the first post arrives,
        then freeze what start-up built: the cyclic garbage collector stops rescanning those
        long-lived objects, which otherwise costs pauses of a few hundred milliseconds
        in the middle of sending alerts."""
        from bot.query import get_normalizer

        await asyncio.to_thread(get_normalizer().lemmatizer.load)
        gc.collect()
        gc.freeze()

    async def _warn_stale_search_index(self) -> None:
        """Say when an upgrade of the normaliser left posts to reindex for search."""
        from bot.search_index import stale_index_warning, stale_post_count

        stale = await stale_post_count(self.db)
        if stale:
            log.warning("%s", stale_index_warning(stale))

    def _warn_unserved_channels(self) -> None:
        """Say which configured channels no enabled source reads."""
        for entry in self.settings.channels:
            if not self.settings.source_enabled(entry.source):
                log.warning(
                    "channel @%s has source = %r but [%s] is disabled: it is not watched",
                    entry.username,
                    entry.source,
                    entry.source,
                )

    async def _start_web(self) -> None:
        """The web preview poller: one HTTP session, one scheduled tick."""
        import aiohttp

        from bot.sources.web import WebPoller

        self._web_session = aiohttp.ClientSession()
        self.web = WebPoller(
            self.db, self.ingestor, self.settings.web, session=self._web_session, clock=self.clock
        )
        assert self.scheduler is not None
        add_periodic(self.scheduler, "web_poll", self.web.tick, seconds=WEB_TICK_SECONDS)

    async def _start_telegram(self) -> None:
        from bot.sources.telegram import (
            TelegramCatchUp,
            TelegramListener,
            WatchedChannels,
            build_client,
        )

        client = self._telegram_client or build_client(self.settings.telegram)
        self._telegram_client = client
        watched = WatchedChannels()
        catchup = TelegramCatchUp(
            client,
            self.db,
            self.ingestor,
            watched,
            self.settings.telegram.catchup,
            join_channels=self.settings.telegram.join_channels,
            clock=self.clock,
        )
        listener = TelegramListener(
            client, self.ingestor, watched, on_failure=catchup.mark_behind_by_telegram_id
        )
        listener.register()
        await client.connect()
        if not await client.is_user_authorized():
            raise ConfigError(
                "the Telegram session is not logged in: run `chanwatch login` "
                "(or set CHANWATCH_SESSION to a StringSession)"
            )
        await catchup.refresh_watched()
        self.catchup = catchup
        assert self.scheduler is not None
        add_periodic(
            self.scheduler,
            "telegram_catchup",
            catchup.tick,
            seconds=catchup.budget.interval_seconds,
        )

    async def _start_alerts(self, bot: Bot) -> None:
        """The alert engine (an ingest listener) and the notifier that drains the outbox."""
        from bot.delivery.notifier import Notifier

        db = self.db
        engine = AlertEngine(
            max_post_age=timedelta(hours=self.settings.delivery.max_post_age_hours),
            clock=self.clock,
        )
        notifier = Notifier(
            db,
            bot,
            self.settings.delivery,
            clock=self.clock,
            on_chats_changed=lambda: engine.load(db),
        )
        engine.set_on_enqueued(notifier.notify_new)
        count = await engine.load(db)
        self.ingestor.add_listener(engine)
        self.alerts = engine
        self.notifier = notifier
        self._notifier_task = asyncio.create_task(
            notifier.run(self._notifier_stop), name="notifier"
        )
        log.info("alerting %d subscription(s)", count)

    async def _start_bot(self) -> None:
        from aiogram import Bot, Dispatcher
        from aiogram.client.default import DefaultBotProperties
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.enums import ParseMode
        from aiogram.exceptions import TelegramUnauthorizedError
        from aiogram.utils.token import TokenValidationError

        from handlers import setup_dispatcher

        token = self.settings.bot.token
        if token is None:
            raise ConfigError(
                "bot.token is not set: put it in the config file or set CHANWATCH_BOT_TOKEN"
            )
        base = self.settings.bot.api_base_url.rstrip("/")
        session = (
            AiohttpSession()
            if base == DEFAULT_BOT_API
            else AiohttpSession(api=TelegramAPIServer.from_base(base))
        )
        try:
            bot = Bot(
                token.get_secret_value(),
                session=session,
                default=DefaultBotProperties(parse_mode=ParseMode.HTML),
            )
        except TokenValidationError:
            await session.close()
            raise ConfigError(
                "bot.token: not a bot token (expected the form 123456:ABC... from @BotFather)"
            ) from None
        self.bot = bot
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise ConfigError("bot.token: Telegram rejected the bot token (Unauthorized)") from None
        except Exception as exc:
            raise RuntimeFailure(
                f"cannot reach the Bot API at {base}: {exc.__class__.__name__}"
            ) from None
        await self._start_alerts(bot)
        dispatcher = Dispatcher(settings=self.settings, db=self.db, alerts=self.alerts)
        setup_dispatcher(dispatcher, self.settings)
        self.dispatcher = dispatcher
        from bot.commands_menu import register_command_menu

        try:
            await register_command_menu(bot)
        except Exception as exc:  # the menu is a convenience: never stop the monitor for it
            log.warning("could not set the command menu: %s", exc.__class__.__name__)
        self._polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False),
            name="bot-polling",
        )
        log.info("bot @%s polling for updates", me.username)

    async def stop(self) -> None:
        """Stop the listener, scheduler and bot; close the archive. Safe to call twice."""
        if self.web is not None:
            await self.web.close(wait_seconds=5.0)  # let a poll in progress finish its page
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.dispatcher is not None and self._polling is not None:
            with contextlib.suppress(RuntimeError):
                await self.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._polling, timeout=5)
            self._polling = None
        if self._notifier_task is not None:
            self._notifier_stop.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._notifier_task, timeout=5)
            self._notifier_task = None
        if self._telegram_client is not None:
            with contextlib.suppress(Exception):
                await self._telegram_client.disconnect()
        if self._web_session is not None:
            await self._web_session.close()
            self._web_session = None
        if self.bot is not None:
            await self.bot.session.close()
            self.bot = None
        if self._started:
            await self.db.close()
            self._started = False

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then shut everything down."""
        try:
            await self.start()
            polling = self._polling
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
            if polling is not None:
                waiters.append(polling)
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for future in pending:
                if future is not polling:
                    future.cancel()
            if polling is not None and polling in done and polling.exception() is not None:
                raise RuntimeFailure(f"bot polling stopped: {polling.exception()!r}")
        finally:
            await self.stop()
