"""/subscribe, /list, /unsubscribe, /pause, /resume: a chat's subscriptions."""

from __future__ import annotations

from aiogram import Bot, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.alerts import AlertEngine
from bot.config import Settings
from bot.i18n import text
from bot.models import to_epoch, utc_now
from bot.query import CompiledQuery, QueryError, compile_query
from bot.query.nodes import Regex
from bot.search import ArchiveSearch
from handlers.keyboards import SubAction, list_keyboard, options_keyboard
from storage import chats as chat_repo
from storage import subscriptions as sub_repo
from storage.db import Database

MAX_SUBSCRIPTIONS = 50
MAX_QUERY_LENGTH = 500
# Regexes cannot be indexed: every post runs them, so each chat gets only a few.
MAX_REGEX_SUBSCRIPTIONS = 5
BACKTEST_CAP = 1000


GROUP_TYPES = ("group", "supergroup")


def _has_regex(compiled: CompiledQuery) -> bool:
    return any(isinstance(node, Regex) for node in compiled.query.walk())


async def may_change(message: Message, bot: Bot, lang: str = "en") -> bool:
    """In groups, subscriptions belong to the group: only its administrators change them."""
    if message.chat.type not in GROUP_TYPES:
        return True
    if message.from_user is None:
        return False
    member = await bot.get_chat_member(message.chat.id, message.from_user.id)
    if member.status in ("creator", "administrator"):
        return True
    await message.answer(text("not_group_admin", lang))
    return False


def build_router(settings: Settings) -> Router:
    """The router for a chat's subscriptions."""
    router = Router(name="subscriptions")

    @router.message(Command("subscribe"))
    async def subscribe(
        message: Message,
        bot: Bot,
        command: CommandObject,
        db: Database,
        alerts: AlertEngine | None = None,
        lang: str = "en",
    ) -> None:
        """Validate the query, show how it was understood and a backtest, then save it."""
        if not await may_change(message, bot, lang):
            return
        query = (command.args or "").strip()
        if not query:
            await message.answer(text("subscribe_usage", lang))
            return
        if len(query) > MAX_QUERY_LENGTH:
            await message.answer(text("query_too_long", lang, limit=MAX_QUERY_LENGTH))
            return
        try:
            compiled = compile_query(query)
        except QueryError as exc:
            await message.answer(text("bad_query", lang, error=html.quote(str(exc))))
            return
        chat_id = message.chat.id
        async with db.read() as conn:
            existing = await sub_repo.list_for_chat(conn, chat_id)
        if len(existing) >= MAX_SUBSCRIPTIONS:
            await message.answer(text("too_many", lang, limit=MAX_SUBSCRIPTIONS))
            return
        if _has_regex(compiled) and (
            sum(_has_regex(compile_query(s.query)) for s in existing) >= MAX_REGEX_SUBSCRIPTIONS
        ):
            await message.answer(text("too_many_regex", lang, limit=MAX_REGEX_SUBSCRIPTIONS))
            return
        search = ArchiveSearch(db)
        count, more = await search.count(compiled, cap=BACKTEST_CAP)
        newest = (await search.search(compiled, limit=3)).hits
        now = to_epoch(utc_now())
        async with db.write() as conn:
            await chat_repo.ensure_chat(conn, chat_id, chat_type=message.chat.type, now=now)
            sub_id = await sub_repo.add(
                conn,
                chat_id,
                query,
                created_by=message.from_user.id if message.from_user else None,
                now=now,
            )
        if alerts is not None:
            await alerts.refresh(db, sub_id)
        shown = f"{BACKTEST_CAP:,}+" if more else f"{count:,}"
        lines = [
            text("subscribed", lang, id=sub_id, query=html.quote(query)),
            text("understood", lang, description=html.quote(compiled.query.describe())),
            text("backtest", lang, count=shown),
        ]
        lines.extend(
            f"• {hit.post.date:%Y-%m-%d %H:%M} UTC {html.quote(hit.link)}" for hit in newest
        )
        async with db.read() as conn:
            saved = await sub_repo.get(conn, sub_id)
        assert saved is not None
        await message.answer(
            "\n".join(lines)[:4000],
            disable_web_page_preview=True,
            reply_markup=options_keyboard(saved),
        )

    @router.message(Command("list"))
    async def list_(message: Message, db: Database, lang: str = "en") -> None:
        """The chat's subscriptions."""
        async with db.read() as conn:
            subs = await sub_repo.list_for_chat(conn, message.chat.id)
        if not subs:
            await message.answer(text("no_subscriptions", lang))
            return
        lines = []
        for sub in subs:
            flags = [name for name in ("paused", "silent") if getattr(sub, name)]
            flags += [
                f"no {name}"
                for name in ("edits", "deletions", "forwards")
                if not getattr(sub, name)
            ]
            suffix = f" ({', '.join(flags)})" if flags else ""
            lines.append(f"#{sub.id} <code>{html.quote(sub.query)}</code>{suffix}")
        await message.answer("\n".join(lines)[:4000], reply_markup=list_keyboard(subs))

    @router.callback_query(SubAction.filter())
    async def on_button(
        query: CallbackQuery,
        callback_data: SubAction,
        bot: Bot,
        db: Database,
        alerts: AlertEngine | None = None,
        lang: str = "en",
    ) -> None:
        """Toggle an option of, or delete, one of this chat's subscriptions."""
        message = query.message
        if not isinstance(message, Message):
            await query.answer("This message is too old; use /list.")
            return
        if message.chat.type in GROUP_TYPES:
            member = await bot.get_chat_member(message.chat.id, query.from_user.id)
            if member.status not in ("creator", "administrator"):
                await query.answer(text("not_group_admin", lang), show_alert=True)
                return
        async with db.write() as conn:
            sub = await sub_repo.get(conn, callback_data.sub_id)
            if sub is None or sub.chat_id != message.chat.id or not sub.active:
                await query.answer("This subscription no longer exists.")
                return
            if callback_data.action == "delete":
                await sub_repo.delete(conn, sub.id)
                note = text("deleted", lang, id=sub.id)
            elif callback_data.action in ("silent", "forwards", "paused"):
                value = not getattr(sub, callback_data.action)
                await sub_repo.set_option(conn, sub.id, callback_data.action, value)
                note = f"#{sub.id}: {callback_data.action} {'on' if value else 'off'}"
            elif callback_data.action == "edits":
                value = not sub.edits
                await sub_repo.set_option(conn, sub.id, "edits", value)
                await sub_repo.set_option(conn, sub.id, "deletions", value)
                note = f"#{sub.id}: edits and deletions {'on' if value else 'off'}"
            else:
                await query.answer()
                return
            subs = await sub_repo.list_for_chat(conn, message.chat.id)
            updated = await sub_repo.get(conn, sub.id)
        if alerts is not None:
            await alerts.refresh(db, sub.id)
        await query.answer(note[:200])
        markup: InlineKeyboardMarkup | None
        if callback_data.view == "l":
            markup = list_keyboard(subs)
        else:
            markup = options_keyboard(updated) if updated is not None and updated.active else None
        await message.edit_reply_markup(reply_markup=markup)

    @router.message(Command("unsubscribe"))
    async def unsubscribe(
        message: Message,
        bot: Bot,
        command: CommandObject,
        db: Database,
        alerts: AlertEngine | None = None,
        lang: str = "en",
    ) -> None:
        """Delete one subscription of this chat by its number."""
        if not await may_change(message, bot, lang):
            return
        arg = (command.args or "").strip().lstrip("#")
        if not arg.isdigit():
            await message.answer(text("unsubscribe_usage", lang))
            return
        sub_id = int(arg)
        async with db.write() as conn:
            subs = {s.id for s in await sub_repo.list_for_chat(conn, message.chat.id)}
            if sub_id not in subs:
                await message.answer(text("no_such_subscription", lang, id=sub_id))
                return
            await sub_repo.delete(conn, sub_id)
        if alerts is not None:
            alerts.remove(sub_id)
        await message.answer(text("deleted", lang, id=sub_id))

    async def _set_paused(
        message: Message,
        bot: Bot,
        db: Database,
        alerts: AlertEngine | None,
        paused: bool,
        lang: str,
    ) -> None:
        if not await may_change(message, bot, lang):
            return
        now = to_epoch(utc_now())
        async with db.write() as conn:
            await chat_repo.ensure_chat(conn, message.chat.id, chat_type=message.chat.type, now=now)
            await chat_repo.set_paused(conn, message.chat.id, paused)
        if alerts is not None:
            await alerts.load(db)
        await message.answer(text("paused" if paused else "resumed", lang))

    @router.message(Command("pause"))
    async def pause(
        message: Message,
        bot: Bot,
        db: Database,
        alerts: AlertEngine | None = None,
        lang: str = "en",
    ) -> None:
        """Pause all of the chat's alerts."""
        await _set_paused(message, bot, db, alerts, True, lang)

    @router.message(Command("resume"))
    async def resume(
        message: Message,
        bot: Bot,
        db: Database,
        alerts: AlertEngine | None = None,
        lang: str = "en",
    ) -> None:
        """Resume the chat's alerts."""
        await _set_paused(message, bot, db, alerts, False, lang)

    return router
