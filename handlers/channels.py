"""/channels, /latest, and the admin commands /addchannel, /removechannel, /stats."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.i18n import text
from bot.models import from_epoch, is_valid_username, to_epoch, username_from_link, utc_now
from bot.search import post_link
from storage import channels as channel_repo
from storage import cursors as cursor_repo
from storage import posts as post_repo
from storage.db import Database


def build_router(settings: Settings) -> Router:
    """The router for channels and their administration."""
    router = Router(name="channels")
    admins = set(settings.bot.admins)

    def is_admin(message: Message) -> bool:
        return message.from_user is not None and message.from_user.id in admins

    @router.message(Command("channels"))
    async def channels(message: Message, db: Database) -> None:
        """The watched channels, their source and last post time."""
        async with db.read() as conn:
            watched = await channel_repo.list_channels(conn)
            cursors = await cursor_repo.all_cursors(conn)
        if not watched:
            await message.answer("No channels are watched yet.")
            return
        lines = []
        for channel in watched:
            cursor = cursors.get(channel.id)
            last = cursor.last_post_at if cursor else None
            when = f"{last:%Y-%m-%d %H:%M} UTC" if last else "no posts yet"
            name = html.quote(
                f"@{channel.username}" if channel.username else str(channel.telegram_id)
            )
            lines.append(f"{name} ({channel.source}) — last post {when}")
        await message.answer("\n".join(lines)[:4000])

    @router.message(Command("latest"))
    async def latest(message: Message, command: CommandObject, db: Database) -> None:
        """The newest posts, of one channel or all."""
        channel_id = None
        async with db.read() as conn:
            if command.args:
                channel = await channel_repo.find_channel_by_key(
                    conn, username_from_link(command.args)
                )
                if channel is None:
                    await message.answer(
                        f"No channel {html.quote(command.args.strip())} in the archive."
                    )
                    return
                channel_id = channel.id
            posts = await post_repo.latest_posts(conn, channel_id=channel_id, limit=5)
            blocks = []
            for post in posts:
                channel = await channel_repo.get_channel(conn, post.channel_id)
                assert channel is not None
                text = post.text.replace("\n", " ")
                snippet = text[:300] + ("…" if len(text) > 300 else "")
                blocks.append(
                    f"<b>{html.quote(channel.title or channel.username or '')}</b>, "
                    f"{post.date:%Y-%m-%d %H:%M} UTC\n{html.quote(snippet)}\n"
                    f"{html.quote(post_link(channel, post.message_id))}"
                )
        await message.answer(
            "\n\n".join(blocks)[:4000] or "No posts yet.", disable_web_page_preview=True
        )

    @router.message(Command("addchannel"))
    async def add_channel(
        message: Message, command: CommandObject, db: Database, settings: Settings, lang: str = "en"
    ) -> None:
        """Admins: watch one more channel (`@name|link [web|telegram]`); the default source is
        the listener when it is enabled, else the web preview."""
        if not is_admin(message):
            await message.answer(text("not_bot_admin", lang))
            return
        parts = (command.args or "").split()
        source = parts[1].lower() if len(parts) > 1 else settings.default_source
        if not parts or source not in ("web", "telegram"):
            await message.answer("Usage: /addchannel @username|link [web|telegram]")
            return
        username = username_from_link(parts[0])
        if not is_valid_username(username):
            await message.answer(f"{html.quote(parts[0])} is not a public channel username.")
            return
        async with db.write() as conn:
            await channel_repo.configure_channel(
                conn,
                username,
                source=source,
                now=to_epoch(utc_now()),
                in_config=False,
                added_by=message.from_user.id if message.from_user else None,
            )
        reply = f"Watching @{html.quote(username)} ({source})."
        if not settings.source_enabled(source):
            reply += f" Note: [{source}] is disabled in the config, so nothing is read yet."
        await message.answer(reply)

    @router.message(Command("removechannel"))
    async def remove_channel(
        message: Message, command: CommandObject, db: Database, lang: str = "en"
    ) -> None:
        """Admins: stop watching a channel (its posts stay in the archive)."""
        if not is_admin(message):
            await message.answer(text("not_bot_admin", lang))
            return
        username = username_from_link(command.args or "")
        async with db.write() as conn:
            channel = await channel_repo.find_channel_by_key(conn, username) if username else None
            if channel is None:
                await message.answer("Usage: /removechannel @username (a watched channel)")
                return
            await channel_repo.deactivate_channel(conn, channel.id)
        await message.answer(
            f"Stopped watching @{html.quote(channel.username or username)}; its posts stay."
        )

    @router.message(Command("stats"))
    async def stats(message: Message, db: Database, lang: str = "en") -> None:
        """Admins: archive and delivery figures."""
        if not is_admin(message):
            await message.answer(text("not_bot_admin", lang))
            return
        since = to_epoch(utc_now()) - 86400
        row = await db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM posts), (SELECT COUNT(*) FROM posts WHERE first_seen_at >= ?), "
            "(SELECT COUNT(*) FROM channels WHERE active = 1), "
            "(SELECT COUNT(*) FROM subscriptions WHERE active = 1), "
            "(SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND sent_at >= ?), "
            "(SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'claimed')), "
            "(SELECT COUNT(*) FROM outbox WHERE status = 'failed')",
            (since, since),
        )
        assert row is not None
        newest = await db.fetch_one("SELECT MAX(date) FROM posts")
        last = from_epoch(newest[0]) if newest and newest[0] else None
        await message.answer(
            f"Posts archived: {row[0]:,} ({row[1]:,} in 24 h)\n"
            f"Channels watched: {row[2]}\nSubscriptions: {row[3]}\n"
            f"Alerts sent in 24 h: {row[4]:,}; waiting: {row[5]:,}; failed: {row[6]:,}\n"
            f"Newest post: {f'{last:%Y-%m-%d %H:%M} UTC' if last else '—'}"
        )

    return router
