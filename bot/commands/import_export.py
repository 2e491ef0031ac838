"""`chanwatch import PATH`: a Telegram Desktop export into the archive, without alerts.

Posts are stored through the same ingestor as every other source, with origin `import`
(silent: imported posts never alert). They are written in batches of `BATCH` posts, each
batch one transaction, in message-id order: an interrupted import leaves whole batches
only, and running the same import again completes it, because a batch that is already
stored is a no-op (every post in it is `unchanged`). Re-importing a file changes nothing;
a newer export adds its new posts and stores changed texts as edits (the old text is kept
as a version). An older export never overwrites a post the archive holds in a later
edit. Exports do not say which posts were deleted, so no deletion is recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.commands._common import add_config_argument, settings_from
from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.ingest import Ingestor
    from bot.models import ChannelRef, Post, StoredChannel, StoredPost
    from bot.sources.export import ChannelExport, ExportChat
    from storage.db import Database

BATCH = 500

Progress = Callable[[int], None]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `import` command."""
    parser = subparsers.add_parser(
        "import",
        help="import a Telegram Desktop export (result.json) into the archive",
        description=(
            "Load a Telegram Desktop export into the archive: the result.json of one channel, "
            "or a full-account export (choose the chat with --channel). Imported posts never "
            "alert. Posts are stored in batches of 500, each in one transaction; running the "
            "same import again is a no-op and completes an interrupted one."
        ),
    )
    add_config_argument(parser)
    parser.add_argument("path", metavar="PATH", help="result.json, or the export's directory")
    parser.add_argument(
        "--channel",
        metavar="USERNAME",
        help=(
            "the archive channel (@username or numeric id) the export belongs to; in a "
            "full-account export also picks the chat (by id or name)"
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help="also print the summary as JSON on stdout"
    )
    parser.set_defaults(run=run)


@dataclass(slots=True)
class ImportSummary:
    """What one import did to the archive."""

    file: str
    chat: ExportChat
    channel: StoredChannel | None = None
    posts: int = 0  # posts read from the export
    imported: int = 0  # new to the archive
    unchanged: int = 0  # already present with the same text and media
    updated: int = 0  # present with another text: stored as an edit (old text kept)
    kept_newer: int = 0  # the archive holds a later edit than the export: left alone
    batches: int = 0
    seconds: float = 0.0
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        channel = self.channel
        return {
            "file": self.file,
            "chat": {
                "id": self.chat.id,
                "type": self.chat.type,
                "name": self.chat.name,
                "messages": self.chat.messages,
            },
            "channel": None
            if channel is None
            else {
                "archive_id": channel.id,
                "telegram_id": channel.telegram_id,
                "username": channel.username,
                "title": channel.title,
            },
            "posts": self.posts,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "kept_newer": self.kept_newer,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_total": sum(self.skipped.values()),
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """The human summary: one line, then one per warning."""
        channel = self.channel
        target = "the archive"
        if channel is not None:
            target = (
                f"@{channel.username}" if channel.username else f"channel {channel.telegram_id}"
            )
        name = json.dumps(self.chat.name or "", ensure_ascii=False)
        line = (
            f"{self.file}: {name} ({self.chat.type}) -> {target}: {self.posts} post(s) read; "
            f"{self.imported} imported, {self.unchanged} already present, "
            f"{self.updated} updated (edits kept as versions)"
        )
        if self.kept_newer:
            line += f", {self.kept_newer} kept (the archive has a later edit)"
        line += "; " + _skipped_text(self.skipped)
        return [line, *self.warnings]


def _skipped_text(skipped: Counter[str]) -> str:
    total = sum(skipped.values())
    if not total:
        return "nothing skipped"
    service = {
        k.removeprefix("service:"): n for k, n in skipped.items() if k.startswith("service:")
    }
    parts = []
    if service:
        detail = ", ".join(
            f"{kind} {n}" for kind, n in sorted(service.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        parts.append(f"{sum(service.values())} service ({detail})")
    parts.extend(
        f"{n} {kind}" for kind, n in sorted(skipped.items()) if not kind.startswith("service:")
    )
    return f"skipped {total}: " + ", ".join(parts)


def _is_numeric(key: str) -> bool:
    return key.strip().lstrip("@").lstrip("-").isdigit()


def target_ref(export: ChannelExport, key: str | None, known: StoredChannel | None) -> ChannelRef:
    """The archive channel the export's posts belong to.

    A channel or supergroup export is keyed by its numeric id (so it merges with the row
    the listener or the web poller knows); `--channel` adds or confirms the username.
    Other chats (groups, personal chats) have no channel id: `--channel` must name one.
    """
    from bot.models import ChannelRef, is_valid_username

    chat = export.chat
    username: str | None = None
    if key is not None and not _is_numeric(key):
        name = key.strip().lstrip("@")
        picked_by_title = (
            export.full_account
            and not key.strip().startswith("@")
            and (chat.name or "").casefold() == key.strip().casefold()
        )
        if is_valid_username(name) and not picked_by_title:
            username = name
    if known is not None:
        username = known.username
    source = export.path.name
    if chat.has_channel_id:
        assert chat.id is not None
        if known is not None and known.telegram_id not in (None, chat.id):
            raise UsageError(
                f"{source}: --channel {key} is channel {known.telegram_id} in the archive, "
                f"but the export is of channel {chat.id} ({chat.name})"
            )
        if key is not None and _is_numeric(key) and known is None and not export.full_account:
            from bot.sources.export import bare_channel_id

            if bare_channel_id(key.strip().lstrip("@")) != chat.id:
                raise UsageError(
                    f"{source}: --channel {key} does not match the export's channel id {chat.id}"
                )
        return ChannelRef(telegram_id=chat.id, username=username, title=chat.name)
    if known is not None:
        return ChannelRef(telegram_id=known.telegram_id, username=known.username)
    if username is not None:
        return ChannelRef(username=username, title=chat.name)
    raise UsageError(
        f"{source}: this is a {chat.type or 'chat'} export, which has no channel id: name the "
        "archive channel it belongs to with --channel USERNAME"
    )


def _archive_has_later_edit(current: StoredPost, post: Post) -> bool:
    if current.edit_date is None:
        return False
    return post.edit_date is None or post.edit_date < current.edit_date


def _reconcile(current: StoredPost | None, post: Post) -> Post | None:
    """The post to hand the ingestor, or None when the archive already holds a later edit."""
    from bot.models import MediaKind

    if current is None:
        return post
    if (
        post.media_kind is MediaKind.NONE
        and current.media_kind is MediaKind.WEBPAGE
        and post.text == current.text
    ):
        # Exports do not record link previews: the same text is the same post.
        post = replace(post, media_kind=MediaKind.WEBPAGE)
    if post.content_key == (current.text, current.media_kind):
        return post
    if _archive_has_later_edit(current, post):
        return None
    return post


async def prepare_channel(db: Database, ref: ChannelRef, *, now: int) -> StoredChannel:
    """The archive row for the export's channel, created if needed. A row created by an
    import is an archive of the past, not a watched channel: it starts inactive (the config
    or an admin makes it watched)."""
    from storage import channels as channel_repo

    async with db.write() as conn:
        existing = await channel_repo.find_channel(conn, ref)
        channel = await channel_repo.ensure_channel(conn, ref, now=now)
        if existing is None:
            await channel_repo.deactivate_channel(conn, channel.id)
            refreshed = await channel_repo.get_channel(conn, channel.id)
            assert refreshed is not None
            channel = refreshed
    return channel


async def import_posts(
    db: Database,
    ingestor: Ingestor,
    export: ChannelExport,
    ref: ChannelRef,
    *,
    summary: ImportSummary,
    progress: Progress | None = None,
    batch_size: int | None = None,
) -> ImportSummary:
    """Store the export's posts under `ref`, in batches of `batch_size` (default `BATCH`),
    each batch one transaction, with origin IMPORT."""
    from bot.ingest import ChangeKind
    from bot.models import PostOrigin, to_epoch, utc_now
    from storage import posts as post_repo

    size = batch_size or BATCH
    started = time.monotonic()
    channel = await prepare_channel(db, ref, now=to_epoch(utc_now()))
    summary.channel = channel
    # Posts name the channel the way ingest will resolve it (the row's own keys).
    from bot.models import ChannelRef

    key = ChannelRef(telegram_id=channel.telegram_id, username=channel.username, title=ref.title)
    posts: Sequence[Post] = export.posts
    summary.posts = len(posts)
    for start in range(0, len(posts), size):
        batch = [replace(p, channel=key) for p in posts[start : start + size]]
        async with db.read() as conn:
            stored = await post_repo.get_posts(conn, channel.id, [p.message_id for p in batch])
        current = {p.message_id: p for p in stored}
        ready: list[Post] = []
        for post in batch:
            reconciled = _reconcile(current.get(post.message_id), post)
            if reconciled is None:
                summary.kept_newer += 1
            else:
                ready.append(reconciled)
        if ready:
            changes = await ingestor.ingest_batch(ready, origin=PostOrigin.IMPORT)
            for change in changes:
                if change.kind is ChangeKind.NEW:
                    summary.imported += 1
                elif change.kind is ChangeKind.EDIT:
                    summary.updated += 1
                else:
                    summary.unchanged += 1
        summary.batches += 1
        if progress is not None:
            progress(len(batch))
    async with db.read() as conn:
        from storage import channels as channel_repo

        final = await channel_repo.get_channel(conn, channel.id)
    summary.channel = final or channel
    summary.seconds = time.monotonic() - started
    return summary


async def _import(args: argparse.Namespace) -> ImportSummary:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    from bot.app import build_ingestor
    from bot.sources.export import read_export_async, resolve_export_path
    from storage import channels as channel_repo
    from storage.db import Database

    path = resolve_export_path(Path(args.path))
    settings = settings_from(args)
    db = Database(settings.storage.path, busy_timeout_ms=settings.storage.busy_timeout_ms)
    console = Console(stderr=True)
    await db.open()
    try:
        known: StoredChannel | None = None
        if args.channel:
            async with db.read() as conn:
                known = await channel_repo.find_channel_by_key(conn, args.channel)
        with RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        ) as bar:
            reading = bar.add_task(f"reading {path.name}", total=None)
            export = await read_export_async(
                path,
                chat_key=args.channel,
                chat_id=known.telegram_id if known is not None else None,
            )
            bar.remove_task(reading)
            ref = target_ref(export, args.channel, known)
            if known is None and ref.telegram_id is not None:
                async with db.read() as conn:
                    known = await channel_repo.find_channel(conn, ref)
            if known is not None and known.title:
                ref = replace(ref, title=None)  # an export's title may be older than ours
            summary = ImportSummary(file=str(args.path), chat=export.chat)
            summary.skipped.update(export.stats.skipped)
            summary.warnings.extend(export.stats.warnings(path.name))
            task = bar.add_task("importing", total=len(export.posts))
            await import_posts(
                db,
                build_ingestor(db),
                export,
                ref,
                summary=summary,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        await db.close()
    return summary


def run(args: argparse.Namespace) -> int:
    """Import an export; print the summary (stderr, and JSON on stdout with --json)."""
    import asyncio

    summary = asyncio.run(_import(args))
    for line in summary.lines():
        print(line, file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False) + "\n")
    return 0
