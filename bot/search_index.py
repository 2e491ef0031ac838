"""Keeping the archive's search index current: live posts in the ingest transaction, bulk
work (reindex, imports) in a process pool, since pymorphy3 is pure Python."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

import aiosqlite

from bot.ingest import ChangeKind, ChangeListener, PostChange
from bot.models import to_epoch
from bot.query import NORMALIZER_VERSION, Analysis, Normalizer, get_normalizer
from storage import search as search_repo
from storage.db import Database

log = logging.getLogger(__name__)


class TextAnalyser:
    """Normalises post texts in a worker thread, so the event loop stays responsive."""

    def __init__(self, normalizer: Callable[[], Normalizer] = get_normalizer) -> None:
        self._normalizer = normalizer

    async def analyse(self, texts: Sequence[str]) -> list[Analysis]:
        """One Analysis per text (computed off the event loop)."""
        normalizer = self._normalizer

        def work() -> list[Analysis]:
            n = normalizer()
            return [n.analyse(text) for text in texts]

        return await asyncio.to_thread(work)


async def stale_post_count(db: Database) -> int:
    """How many archived posts the search index holds from another normaliser version (they
    are found by the terms of that version until ``chanwatch reindex`` rebuilds them)."""
    async with db.read() as conn:
        return await search_repo.count_pending(conn, version=NORMALIZER_VERSION)


def stale_index_warning(count: int) -> str:
    """The one line that tells a user to reindex."""
    return (
        f"{count} archived post(s) were indexed for search by an older normaliser: run "
        "`chanwatch reindex` (until then search can miss some of them)"
    )


def search_index_listener(normalizer: Callable[[], Normalizer] = get_normalizer) -> ChangeListener:
    """An ingest listener that (re)indexes new and edited posts in the same transaction."""

    async def index_changes(conn: aiosqlite.Connection, changes: Sequence[PostChange]) -> None:
        entries: list[search_repo.IndexEntry] = []
        for change in changes:
            if change.kind not in (ChangeKind.NEW, ChangeKind.EDIT) or change.post is None:
                continue
            source = change.analysis if change.analysis is not None else change.post.text
            terms = " ".join(normalizer().index_terms(source))
            post = change.post
            entries.append(
                search_repo.IndexEntry(post.id, post.channel_id, to_epoch(post.date), terms)
            )
        if entries:
            await search_repo.index_posts(conn, entries, version=NORMALIZER_VERSION)

    return index_changes


def index_terms_batch(texts: Sequence[str]) -> list[str]:
    """The joined index terms of each text (runs in a worker process)."""
    normalizer = get_normalizer()
    return [" ".join(normalizer.index_terms(text)) for text in texts]


async def reindex(
    db: Database,
    *,
    everything: bool = False,
    batch_size: int = 500,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """(Re)build index entries of posts made by another normaliser version (or all).

    Batches are normalised in a process pool (both cores) while the previous batch is
    written, each batch in one transaction, so an interrupted run resumes where it stopped.
    """
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=workers)
    loop = asyncio.get_running_loop()
    done = 0
    after_id = 0
    try:
        while True:
            async with db.read() as conn:
                batch = await search_repo.pending_posts(
                    conn,
                    version=NORMALIZER_VERSION,
                    after_id=after_id,
                    limit=batch_size * 4,
                    everything=everything,
                )
            if not batch:
                break
            chunks = [batch[i : i + batch_size] for i in range(0, len(batch), batch_size)]
            futures = [
                loop.run_in_executor(pool, index_terms_batch, [p.text for p in chunk])
                for chunk in chunks
            ]
            for chunk, future in zip(chunks, futures, strict=True):
                terms = await future
                entries = [
                    search_repo.IndexEntry(post.id, post.channel_id, post.date, joined)
                    for post, joined in zip(chunk, terms, strict=True)
                ]
                async with db.write() as conn:
                    await search_repo.index_posts(conn, entries, version=NORMALIZER_VERSION)
                done += len(chunk)
                if progress is not None:
                    progress(len(chunk))
            after_id = batch[-1].id
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    log.info("reindexed %d post(s)", done)
    return done
