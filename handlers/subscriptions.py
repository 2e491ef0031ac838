"""/subscribe, /list, /unsubscribe, /pause, /resume: a chat's subscriptions."""

from __future__ import annotations

from aiogram import Bot, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.alerts import AlertEngine
from bot.config import Settings
from bot.models import to_epoch, utc_now
from bot.query import QueryError, compile_query
from bot.search import ArchiveSearch
from handlers.keyboards import SubAction, list_keyboard, options_keyboard
from storage import chats as chat_repo
from storage import subscriptions as sub_repo
from storage.db import Database

MAX_SUBSCRIPTIONS = 50
MAX_QUERY_LENGTH = 500
BACKTEST_CAP = 1000


GROUP_TYPES = ("group", "supergroup")
NOT_ADMIN = "In groups, only the group's administrators can change its subscriptions."


async def may_change(message: Message, bot: Bot) -> bool:
    """In groups, subscriptions belong to the group: only its administrators change them."""
    if message.chat.type not in GROUP_TYPES:
        return True
    if message.from_user is None:
        return False
    member = await bot.get_chat_member(message.chat.id, message.from_user.id)
    if member.status in ("creator", "administrator"):
        return True
    await message.answer(NOT_ADMIN)
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
    ) -> None:
        """Validate the query, show how it was understood and a backtest, then save it."""
        if not await may_change(message, bot):
            return
        query = (command.args or "").strip()
        if not query:
            await message.answer("Usage: /subscribe QUERY — for example /subscribe санкції -шахед")
            return
        if len(query) > MAX_QUERY_LENGTH:
            await message.answer(f"A query may have at most {MAX_QUERY_LENGTH} characters.")
            return
        try:
            compiled = compile_query(query)
        except QueryError as exc:
            await message.answer(f"Cannot use this query: {html.quote(str(exc))}")
            return
        chat_id = message.chat.id
        async with db.read() as conn:
            existing = await sub_repo.list_for_chat(conn, chat_id)
        if len(existing) >= MAX_SUBSCRIPTIONS:
            await message.answer(f"This chat already has {MAX_SUBSCRIPTIONS} subscriptions.")
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
            f"Subscribed (#{sub_id}): <code>{html.quote(query)}</code>",
            f"Understood as: {html.quote(compiled.query.describe())}",
            f"Archived posts it would have matched: {shown}",
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
    async def list_(message: Message, db: Database) -> None:
        """The chat's subscriptions."""
        async with db.read() as conn:
            subs = await sub_repo.list_for_chat(conn, message.chat.id)
        if not subs:
            await message.answer("No subscriptions yet. Start with /subscribe QUERY.")
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
    ) -> None:
        """Toggle an option of, or delete, one of this chat's subscriptions."""
        message = query.message
        if not isinstance(message, Message):
            await query.answer("This message is too old; use /list.")
            return
        if message.chat.type in GROUP_TYPES:
            member = await bot.get_chat_member(message.chat.id, query.from_user.id)
            if member.status not in ("creator", "administrator"):
                await query.answer(NOT_ADMIN, show_alert=True)
                return
        async with db.write() as conn:
            sub = await sub_repo.get(conn, callback_data.sub_id)
            if sub is None or sub.chat_id != message.chat.id or not sub.active:
                await query.answer("This subscription no longer exists.")
                return
            if callback_data.action == "delete":
                await sub_repo.delete(conn, sub.id)
                note = f"Subscription #{sub.id} deleted."
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
    ) -> None:
        """Delete one subscription of this chat by its number."""
        if not await may_change(message, bot):
            return
        arg = (command.args or "").strip().lstrip("#")
        if not arg.isdigit():
            await message.answer("Usage: /unsubscribe ID (the number shown by /list)")
            return
        sub_id = int(arg)
        async with db.write() as conn:
            subs = {s.id for s in await sub_repo.list_for_chat(conn, message.chat.id)}
            if sub_id not in subs:
                await message.answer(f"This chat has no subscription #{sub_id}.")
                return
            await sub_repo.delete(conn, sub_id)
        if alerts is not None:
            alerts.remove(sub_id)
        await message.answer(f"Subscription #{sub_id} deleted.")

    async def _set_paused(
        message: Message, bot: Bot, db: Database, alerts: AlertEngine | None, paused: bool
    ) -> None:
        if not await may_change(message, bot):
            return
        now = to_epoch(utc_now())
        async with db.write() as conn:
            await chat_repo.ensure_chat(conn, message.chat.id, chat_type=message.chat.type, now=now)
            await chat_repo.set_paused(conn, message.chat.id, paused)
        if alerts is not None:
            await alerts.load(db)
        await message.answer("Alerts paused for this chat." if paused else "Alerts resumed.")

    @router.message(Command("pause"))
    async def pause(
        message: Message, bot: Bot, db: Database, alerts: AlertEngine | None = None
    ) -> None:
        """Pause all of the chat's alerts."""
        await _set_paused(message, bot, db, alerts, True)

    @router.message(Command("resume"))
    async def resume(
        message: Message, bot: Bot, db: Database, alerts: AlertEngine | None = None
    ) -> None:
        """Resume the chat's alerts."""
        await _set_paused(message, bot, db, alerts, False)

    return router
