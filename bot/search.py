"""Archive search: FTS5 finds candidates, the matcher confirms them, newest first.

A post is in the results exactly when a subscription with the same query matches its
current text (invariant 3): the FTS expression is only a superset filter built from the
query, and every candidate is confirmed by the same `CompiledQuery` the alerts use.
Queries FTS cannot narrow (a regex alone, `channel:` alone) scan newest first. Both ways
run within a time budget (FTS can find many candidates the matcher rejects: a phrase, whose
words the index does not keep adjacent, or `a -a`) and say when they stopped early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.models import StoredChannel, StoredPost
from bot.query import (
    FTS_NO_MATCH,
    CompiledQuery,
    Document,
    Hit,
    compile_query,
    fts_expression,
    get_normalizer,
)
from bot.query.nodes import NAME, Term
from storage import channels as channel_repo
from storage import search as search_repo
from storage.db import Database, Row
from storage.posts import row_to_post

CHUNK = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def post_link(channel: StoredChannel, message_id: int) -> str:
    """The canonical link of a post: `https://t.me/<username>/<id>` or the `/c/` form."""
    if channel.username:
        return f"https://t.me/{channel.username}/{message_id}"
    return f"https://t.me/c/{channel.telegram_id}/{message_id}"


def channel_label(channel: StoredChannel) -> str:
    """How a channel is named in a result line: `@username`, else its title (on one line),
    else `c/<numeric id>` as in its links."""
    if channel.username:
        return f"@{channel.username}"
    title = " ".join((channel.title or "").split())
    if title:
        return title
    return f"c/{channel.telegram_id}" if channel.telegram_id is not None else f"#{channel.id}"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One post in the results, with the spans that matched."""

    post: StoredPost
    channel: StoredChannel
    hits: tuple[Hit, ...]

    @property
    def link(self) -> str:
        """The post's canonical t.me link."""
        return post_link(self.channel, self.post.message_id)


@dataclass(slots=True)
class SearchResult:
    """The hits, newest first, and how the search went."""

    hits: list[SearchHit] = field(default_factory=list)
    examined: int = 0
    stopped_early: bool = False  # the time budget ran out before the archive did
    used_index: bool = True


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Restrictions on top of the query (inclusive bounds)."""

    channel_ids: tuple[int, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None

    # Post dates are whole seconds: a bound with a fraction of a second keeps only the
    # seconds wholly inside the range (--since 12:00:00.5 leaves out a post of 12:00:00).
    def since_epoch(self) -> int | None:
        """The first second in range (UTC epoch seconds), or None."""
        return None if self.since is None else -((_EPOCH - self.since) // _SECOND)

    def until_epoch(self) -> int | None:
        """The last second in range (UTC epoch seconds), or None."""
        return None if self.until is None else (self.until - _EPOCH) // _SECOND


def _confirm_documents(
    compiled: CompiledQuery, documents: Sequence[Document], wanted: int
) -> list[list[Hit] | None]:
    """Each document's hits when the query matches it, else None (one analysis per post);
    stops after `wanted` matches (the rest stay unexamined)."""
    normalizer = get_normalizer()
    confirmed: list[list[Hit] | None] = []
    found = 0
    for doc in documents:
        if found >= wanted:
            break
        analysis = normalizer.analyse(doc.text)
        if compiled.matches(doc, analysis):
            confirmed.append(compiled.explain(doc, analysis))
            found += 1
        else:
            confirmed.append(None)
    return confirmed


def _needs_vocabulary(compiled: CompiledQuery) -> bool:
    return any(
        isinstance(node, Term) and any(atom.kind == NAME for atom in node.atoms)
        for node in compiled.query.root.walk()
    )


class ArchiveSearch:
    """The one archive search, used by `chanwatch search`, the bot and backtests."""

    def __init__(
        self,
        db: Database,
        *,
        time_budget_seconds: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._budget = time_budget_seconds
        self._monotonic = monotonic
        self._vocabulary: tuple[tuple[int, int], list[str]] | None = None
        self._channel_cache: dict[int, tuple[StoredChannel, frozenset[str]]] = {}

    async def search(
        self,
        query: str | CompiledQuery,
        *,
        filters: SearchFilters = SearchFilters(),
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResult:
        """The newest `limit` posts matching `query` (after skipping `offset` matches)."""
        compiled = compile_query(query) if isinstance(query, str) else query
        expression = await self._expression(compiled, filters)
        self._channel_cache.clear()
        if expression == FTS_NO_MATCH:
            return SearchResult()
        # The time budget is for the search, not for loading the dictionaries (a first
        # search in a process, e.g. a regex that compiled without them)
        await asyncio.to_thread(get_normalizer().lemmatizer.load)
        if expression is None:
            return await self._scan(compiled, filters, limit, offset)
        return await self._indexed(compiled, expression, filters, limit, offset)

    async def count(
        self,
        query: str | CompiledQuery,
        *,
        cap: int = 1000,
        filters: SearchFilters = SearchFilters(),
    ) -> tuple[int, bool]:
        """How many posts match, counted up to `cap`; True when there are more (`cap`+)."""
        result = await self.search(query, filters=filters, limit=cap + 1)
        return min(len(result.hits), cap), len(result.hits) > cap or result.stopped_early

    async def _expression(self, compiled: CompiledQuery, filters: SearchFilters) -> str | None:
        vocabulary: list[str] | None = None
        if _needs_vocabulary(compiled):
            vocabulary = await self._vocab()
        vocab_list = vocabulary
        expression = fts_expression(
            compiled, (lambda _prefix: vocab_list) if vocab_list is not None else None
        )
        if expression is None or expression == FTS_NO_MATCH or not filters.channel_ids:
            return expression
        channels = " OR ".join(f'"{search_repo.channel_term(c)}"' for c in filters.channel_ids)
        return f"({expression}) AND ({channels})"

    async def _vocab(self) -> list[str]:
        async with self._db.read() as conn:
            stamp = await search_repo.vocabulary_stamp(conn)
            if self._vocabulary is None or self._vocabulary[0] != stamp:
                self._vocabulary = (stamp, await search_repo.vocabulary(conn))
        return self._vocabulary[1]

    async def _indexed(
        self,
        compiled: CompiledQuery,
        expression: str,
        filters: SearchFilters,
        limit: int,
        offset: int,
    ) -> SearchResult:
        result = SearchResult()
        started = self._monotonic()
        until, since = filters.until_epoch(), filters.since_epoch()
        below = search_repo.rowid_ceiling(until) + 1 if until is not None else None
        floor = search_repo.rowid_floor(since) if since is not None else None
        skipped = 0
        # Most candidates of an FTS match are confirmed: start with a chunk a little larger
        # than what is wanted and grow it, so a common term costs about `limit` analyses.
        chunk = min(CHUNK, max(16, 2 * (limit + offset)))
        while len(result.hits) < limit:
            if self._out_of_time(started):
                result.stopped_early = True
                break
            async with self._db.read() as conn:
                rows = await search_repo.match_candidates(
                    conn, expression, below_rowid=below, floor_rowid=floor, limit=chunk
                )
            if not rows:
                break
            below = int(rows[-1]["search_rowid"])
            skipped = await self._confirm(compiled, rows, result, limit, offset, skipped)
            if len(rows) < chunk:
                break
            chunk = min(CHUNK, chunk * 2)
        return result

    async def _scan(
        self, compiled: CompiledQuery, filters: SearchFilters, limit: int, offset: int
    ) -> SearchResult:
        result = SearchResult(used_index=False)
        started = self._monotonic()
        before: tuple[int, int] | None = None
        skipped = 0
        while len(result.hits) < limit:
            if self._out_of_time(started):
                result.stopped_early = True
                break
            async with self._db.read() as conn:
                rows = await search_repo.scan_newest(
                    conn,
                    before=before,
                    since=filters.since_epoch(),
                    until=filters.until_epoch(),
                    channel_ids=list(filters.channel_ids) if filters.channel_ids else None,
                    limit=CHUNK,
                )
            if not rows:
                break
            before = (int(rows[-1]["date"]), int(rows[-1]["id"]))
            skipped = await self._confirm(compiled, rows, result, limit, offset, skipped)
            if len(rows) < CHUNK:
                break
        return result

    def _out_of_time(self, started: float) -> bool:
        return self._monotonic() - started > self._budget

    async def _confirm(
        self,
        compiled: CompiledQuery,
        rows: Sequence[Row],
        result: SearchResult,
        limit: int,
        offset: int,
        skipped: int,
    ) -> int:
        posts = [row_to_post(r) for r in rows]
        channels = [await self._channel(p.channel_id) for p in posts]
        documents = [Document(p.text, keys) for p, (_, keys) in zip(posts, channels, strict=True)]
        # Matching is CPU work (morphology on cache misses): keep it off the event loop.
        wanted = limit - len(result.hits) + max(0, offset - skipped)
        matched = await asyncio.to_thread(_confirm_documents, compiled, documents, wanted)
        result.examined += len(matched)
        for post, (channel, _), hits in zip(posts, channels, matched, strict=False):
            if hits is None:
                continue
            if skipped < offset:
                skipped += 1
                continue
            result.hits.append(SearchHit(post, channel, tuple(hits)))
            if len(result.hits) >= limit:
                break
        return skipped

    async def _channel(self, channel_id: int) -> tuple[StoredChannel, frozenset[str]]:
        cached = self._channel_cache.get(channel_id)
        if cached is None:
            async with self._db.read() as conn:
                channel = await channel_repo.get_channel(conn, channel_id)
                keys = await channel_repo.channel_keys(conn, channel_id)
            assert channel is not None
            cached = (channel, keys)
            self._channel_cache[channel_id] = cached
        return cached
