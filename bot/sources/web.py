"""The web preview poller: `source = "web"` channels read from `{base_url}/s/<username>`.

No Telegram account is needed. `WebPoller.tick()` is scheduled every few seconds; each tick
polls the channels that are due, within one request budget shared by all of them:

- Each channel is due every `interval_seconds` (+-10 % jitter per poll, so channels drift
  apart). A channel that fails (redirect = no public preview, HTTP errors, timeouts, network
  errors, unreadable HTML, 429) is retried after a growing delay (interval x 2^failures, at
  most `max_backoff_seconds`; for 429 at least its Retry-After, which also pauses the whole
  budget, since the limit is per client). The error is logged and kept with
  `cursors.record_error`; the other channels go on.
- First sight (no cursor yet): the first page's posts are stored with origin FIRST_SIGHT,
  which never alerts, and the cursor is set to the newest id.
- Afterwards every post of the page is handed to the ingestor with origin WEB: new ids are
  new posts; a post still on the page whose text or media changed is an edit (the ingestor
  compares). When the page's oldest id is beyond the cursor, older pages are followed with
  `?before=` until the cursor is reached (at most `max_pages` pages), so nothing is skipped.
  If a later page fails, what was read is stored but the cursor stays, so the next poll
  fills the gap again.
- A deletion is recorded only for an id that was seen shown on its own before and is now
  missing from two consecutive successful polls while older and newer ids remain on the
  page. Album members and service messages are never shown on their own, so they can never
  be taken for deletions.

The poller's own state (next poll time, failures, ids seen, missing counts) is one row per
channel in `web_channel_state`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import aiohttp
import aiosqlite

from bot.config import WebSettings
from bot.ingest import ChangeKind, Ingestor, PostChange
from bot.models import ChannelRef, Post, PostOrigin, StoredChannel, to_epoch, utc_now
from bot.sources.budget import RequestBudget
from bot.sources.web_parse import WebPage, WebPageError, parse_page
from storage import channels as channel_repo
from storage import cursors as cursor_repo
from storage import posts as post_repo
from storage.db import Database
from storage.web_state import WebChannelState, load_states, save_state

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

JITTER = 0.1  # each poll is rescheduled interval x (1 +- JITTER)
MAX_BUDGET_WAIT_SECONDS = 120.0  # paging waits at most this long for the budget
MISSING_POLLS_FOR_DELETION = 2
_HEADERS = {
    "User-Agent": "chanwatch (web preview poller)",
    "Accept": "text/html",
    "Accept-Language": "en",
}


class PollStatus(enum.StrEnum):
    """How one channel's poll ended."""

    FIRST_SIGHT = "first_sight"  # the channel's first page was recorded (no alerts)
    OK = "ok"
    ERROR = "error"


class FetchErrorKind(enum.StrEnum):
    """Why a page could not be used."""

    NO_PREVIEW = "no_preview"  # redirect: the channel has no public web preview
    RATE_LIMITED = "rate_limited"  # HTTP 429
    HTTP = "http"  # any other non-200 status
    TIMEOUT = "timeout"
    NETWORK = "network"
    MALFORMED = "malformed"  # HTML that is not a readable preview
    BUDGET = "budget"  # the request budget stayed empty while paging
    STOPPED = "stopped"  # the poller is closing: the rest is left for the next run
    INTERNAL = "internal"  # an unexpected error (logged with its traceback)


class WebFetchError(Exception):
    """A page could not be fetched or read."""

    def __init__(
        self, kind: FetchErrorKind, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class PollResult:
    """What polling one channel did."""

    channel_id: int
    username: str | None
    status: PollStatus
    changes: tuple[PostChange, ...] = ()
    pages: int = 0  # pages fetched (successfully)
    error: str | None = None  # why it failed, or a note (a gap left by max_pages)
    error_kind: FetchErrorKind | None = None
    next_poll_at: datetime | None = None

    def of_kind(self, kind: ChangeKind) -> list[int]:
        """Message ids of the changes of one kind, in order."""
        return [c.message_id for c in self.changes if c.kind is kind]


# --- the deletion rule (pure) ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeletionVerdict:
    """What one successful poll tells about ids seen before."""

    deleted: tuple[int, ...]
    seen_ids: frozenset[int]
    missing: tuple[tuple[int, int], ...]


def judge_deletions(
    seen_ids: Iterable[int],
    missing: Iterable[tuple[int, int]],
    shown_ids: Iterable[int],
    accounted_ids: Iterable[int] = (),
) -> DeletionVerdict:
    """Apply the deletion rule to the ids shown on their own by this poll.

    An id seen before counts as missing in this poll only when the page still shows an older
    and a newer id; it is deleted when that happened in two consecutive polls. An id older
    than everything shown has scrolled off and is forgotten; an id newer than everything
    shown waits (its count neither grows nor resets) until newer posts appear. An id the
    page accounts for otherwise (an album member, a service message) is present, never
    missing, and no longer tracked.
    """
    shown = set(shown_ids)
    accounted = set(accounted_ids)
    counts = dict(missing)
    if not shown:
        return DeletionVerdict((), frozenset(seen_ids), tuple(sorted(counts.items())))
    low, high = min(shown), max(shown)
    deleted: list[int] = []
    kept: set[int] = set(shown)
    still_missing: dict[int, int] = {}
    for message_id in seen_ids:
        if message_id in shown or message_id in accounted or message_id < low:
            continue
        if message_id > high:
            kept.add(message_id)
            if message_id in counts:
                still_missing[message_id] = counts[message_id]
            continue
        count = counts.get(message_id, 0) + 1
        if count >= MISSING_POLLS_FOR_DELETION:
            deleted.append(message_id)
        else:
            kept.add(message_id)
            still_missing[message_id] = count
    return DeletionVerdict(
        tuple(sorted(deleted)), frozenset(kept), tuple(sorted(still_missing.items()))
    )


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (it is either seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _merge_posts(pages: Sequence[WebPage]) -> list[Post]:
    """The posts of several pages once each (the newest page's copy wins), by id."""
    posts: dict[int, Post] = {}
    for page in pages:
        for post in page.posts:
            posts.setdefault(post.message_id, post)
    return [posts[i] for i in sorted(posts)]


# --- the poller ------------------------------------------------------------------------------
class WebPoller:
    """Polls the web preview of every active `source = "web"` channel that is due."""

    def __init__(
        self,
        db: Database,
        ingestor: Ingestor,
        settings: WebSettings,
        *,
        session: aiohttp.ClientSession,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        self._db = db
        self._ingestor = ingestor
        self._settings = settings
        self._session = session
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.budget = budget or RequestBudget(settings.requests_per_minute, clock=clock)
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)
        self._closed = False
        self._running: asyncio.Task[object] | None = None  # the tick in progress

    # -- scheduling --
    async def tick(self) -> list[PollResult]:
        """Poll the channels that are due, most overdue first, while the budget allows.

        A tick that starts while another one runs returns at once (nothing is polled twice).
        """
        if self._closed or self.budget.paused or self._running is not None:
            return []
        self._running = asyncio.current_task()
        try:
            return await self._tick()
        finally:
            self._running = None

    async def close(self, wait_seconds: float = 30.0) -> None:
        """Start no more polls and wait (at most `wait_seconds`) for one in progress."""
        self._closed = True
        running = self._running
        if running is None or running.done():
            return
        done, _ = await asyncio.wait([running], timeout=wait_seconds)
        if not done:
            log.warning("web: a poll still ran after %.0fs; cancelling it", wait_seconds)
            running.cancel()  # its write transaction rolls back; the cursor stays
            await asyncio.wait([running])

    async def _tick(self) -> list[PollResult]:
        now = to_epoch(self._clock())
        async with self._db.read() as conn:
            channels = await channel_repo.list_channels(conn, source="web")
            states = await load_states(conn)

        def due_at(channel: StoredChannel) -> int:
            state = states.get(channel.id)
            return 0 if state is None or state.next_poll_at is None else state.next_poll_at

        due = sorted((c for c in channels if due_at(c) <= now), key=lambda c: (due_at(c), c.id))
        results: list[PollResult] = []
        for channel in due:
            if self._closed or not self.budget.try_spend():
                break
            results.append(await self.poll(channel, states.get(channel.id)))
        return results

    def _interval(self) -> float:
        base = float(self._settings.interval_seconds)
        return base * (1.0 + self._rng.uniform(-JITTER, JITTER))

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        base = float(self._settings.interval_seconds) * 2.0 ** min(failures, 30)
        delay = base * (1.0 + self._rng.uniform(0.0, JITTER))
        delay = min(float(self._settings.max_backoff_seconds), delay)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    # -- one channel --
    async def poll(
        self, channel: StoredChannel, state: WebChannelState | None = None
    ) -> PollResult:
        """Poll one channel now (its first page already paid for); never raises for it."""
        state = state or WebChannelState(channel.id)
        if not channel.username:
            error = WebFetchError(FetchErrorKind.INTERNAL, "a web channel needs a username")
            return await self._failed(channel, state, error)
        try:
            return await self._poll(channel, channel.username, state)
        except WebFetchError as exc:
            return await self._failed(channel, state, exc)
        except Exception as exc:  # one channel's bug or data never stops the others
            log.exception("web @%s: poll failed", channel.username)
            error = WebFetchError(FetchErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")
            return await self._failed(channel, state, error)

    async def _poll(
        self, channel: StoredChannel, username: str, state: WebChannelState
    ) -> PollResult:
        first = await self._fetch(username, None)
        async with self._db.read() as conn:
            cursor = await cursor_repo.get_cursor(conn, channel.id)
        last = cursor.last_message_id if cursor is not None else None
        ref = ChannelRef(
            telegram_id=first.channel_id,
            username=first.username or username,
            title=first.title or channel.title,
        )
        if last is None:
            return await self._first_sight(channel, ref, first)

        pages = [first]
        gap_note: str | None = None
        failure: WebFetchError | None = None
        while True:
            ids = pages[-1].all_ids
            if not ids or ids[0] <= last + 1 or pages[-1].before is None:
                break
            if len(pages) >= self._settings.max_pages:
                gap_note = (
                    f"more than {self._settings.max_pages} pages of new posts: "
                    f"ids {last + 1}..{ids[0] - 1} were not fetched"
                )
                log.warning("web @%s: %s", username, gap_note)
                break
            if self._closed:
                failure = WebFetchError(FetchErrorKind.STOPPED, "stopping: paging left for later")
                break
            try:
                await self._spend()
                pages.append(await self._fetch(username, pages[-1].before))
            except WebFetchError as exc:
                failure = exc
                break

        posts = _merge_posts(pages)
        newest = max((i for page in pages for i in page.all_ids), default=last)
        # An id at or below the cursor that the archive lacks is no new post (ids only
        # grow): an older post that came into view, e.g. after a deletion above it.
        async with self._db.read() as conn:
            stored = await channel_repo.find_channel(conn, ref)
            known = await post_repo.known_message_ids(
                conn,
                stored.id if stored is not None else channel.id,
                [p.message_id for p in posts if p.message_id <= last],
            )
        history = [p for p in posts if p.message_id <= last and p.message_id not in known]
        changes: list[PostChange] = []
        if history:
            log.info(
                "web @%s: %d older post(s) came into view, archived without alerts",
                username,
                len(history),
            )
            changes = await self._ingestor.ingest_batch(history, origin=PostOrigin.BACKFILL)
        history_ids = {p.message_id for p in history}
        changes += await self._ingestor.ingest_batch(
            [p for p in posts if p.message_id not in history_ids],
            origin=PostOrigin.WEB,
            channel=ref,
            advance_cursor_to=None if failure is not None else newest,
        )
        if failure is not None and failure.kind is FetchErrorKind.STOPPED:
            # Shutting down: what was read is stored, the cursor stays, nothing failed.
            return PollResult(
                channel.id,
                username,
                PollStatus.ERROR,
                tuple(changes),
                len(pages),
                str(failure),
                failure.kind,
                None,
            )
        if failure is not None:
            # The cursor stays: the next poll pages back to it again.
            log.warning("web @%s: page %d failed: %s", username, len(pages) + 1, failure)
            result = await self._failed(channel, state, failure, ref=ref, pages=len(pages))
            return replace(result, changes=tuple(changes))

        shown = {i for page in pages for i in page.shown_ids}
        accounted = {i for page in pages for i in page.all_ids}
        verdict = judge_deletions(state.seen_ids, state.missing, shown, accounted)
        deletions: list[PostChange] = []
        if verdict.deleted:
            log.info("web @%s: deleted from the page: %s", username, list(verdict.deleted))
            deletions = await self._ingestor.ingest_deletions(
                ref, verdict.deleted, detected_by="web", origin=PostOrigin.WEB
            )
        all_changes = (*changes, *deletions)
        channel_id, next_at = await self._succeeded(
            channel, ref, verdict.seen_ids, verdict.missing, PollStatus.OK, note=gap_note
        )
        counts = {kind: sum(1 for c in all_changes if c.kind is kind) for kind in ChangeKind}
        if counts[ChangeKind.NEW] or counts[ChangeKind.EDIT] or counts[ChangeKind.DELETION]:
            log.info(
                "web @%s: %d new, %d edited, %d deleted (%d page(s))",
                username,
                counts[ChangeKind.NEW],
                counts[ChangeKind.EDIT],
                counts[ChangeKind.DELETION],
                len(pages),
            )
        return PollResult(
            channel_id, username, PollStatus.OK, all_changes, len(pages), gap_note, None, next_at
        )

    async def _first_sight(
        self, channel: StoredChannel, ref: ChannelRef, page: WebPage
    ) -> PollResult:
        # An empty channel gets cursor 0, so its first post is new (and alerts).
        newest = max(page.all_ids, default=0)
        changes = await self._ingestor.ingest_batch(
            page.posts, origin=PostOrigin.FIRST_SIGHT, channel=ref, advance_cursor_to=newest
        )
        channel_id, next_at = await self._succeeded(
            channel, ref, frozenset(page.shown_ids), (), PollStatus.FIRST_SIGHT
        )
        log.info(
            "web @%s: first sight, %d post(s) recorded without alerts",
            ref.username,
            len(page.posts),
        )
        return PollResult(
            channel_id, ref.username, PollStatus.FIRST_SIGHT, tuple(changes), 1, None, None, next_at
        )

    # -- history on request --
    async def backfill(self, username: str, *, limit: int) -> int:
        """Store up to `limit` of a channel's newest posts, page by page (never alerts).

        Follows `?before=` back from the newest page, within the request budget; returns how
        many posts were new to the archive. Raises `WebFetchError` when the first page fails.
        """
        stored = 0
        seen = 0
        before: int | None = None
        while seen < limit:
            await self._spend()
            try:
                page = await self._fetch(username, before)
            except WebFetchError:
                if before is None:
                    raise
                log.warning("web @%s: backfill stopped at ?before=%d", username, before)
                break
            posts = sorted(page.posts, key=lambda p: p.message_id, reverse=True)[: limit - seen]
            if not posts:
                break
            changes = await self._ingestor.ingest_batch(
                sorted(posts, key=lambda p: p.message_id), origin=PostOrigin.BACKFILL
            )
            stored += sum(1 for c in changes if c.kind is ChangeKind.NEW)
            seen += len(posts)
            if page.before is None or page.before == before:
                break
            before = page.before
        return stored

    # -- bookkeeping --
    async def _current_id(
        self, conn: aiosqlite.Connection, channel: StoredChannel, ref: ChannelRef | None
    ) -> int:
        """The channel's key now: storing a numeric id may have merged it into another row."""
        if ref is not None:
            found = await channel_repo.find_channel(conn, ref)
            if found is not None:
                return found.id
        return channel.id

    async def _succeeded(
        self,
        channel: StoredChannel,
        ref: ChannelRef,
        seen_ids: frozenset[int],
        missing: Sequence[tuple[int, int]],
        status: PollStatus,
        *,
        note: str | None = None,
    ) -> tuple[int, datetime]:
        """Save the state of a successful poll; the channel's current key and next poll time."""
        now = self._clock()
        next_at = now + timedelta(seconds=self._interval())
        state = WebChannelState(
            channel_id=channel.id,
            next_poll_at=to_epoch(next_at),
            failures=0,
            seen_ids=seen_ids,
            missing=tuple(missing),
            last_poll_at=to_epoch(now),
            last_status=status.value,
        )
        channel_id = await self._save(channel, ref, state, note)
        return channel_id, next_at

    async def _save(
        self,
        channel: StoredChannel,
        ref: ChannelRef | None,
        state: WebChannelState,
        error: str | None,
    ) -> int:
        """Store a poll's state (and its error or note) under the channel's current key."""
        async with self._db.write() as conn:
            channel_id = await self._current_id(conn, channel, ref)
            await save_state(conn, replace(state, channel_id=channel_id))
            if error is not None:
                await cursor_repo.record_error(conn, channel_id, error)
        return channel_id

    async def _failed(
        self,
        channel: StoredChannel,
        state: WebChannelState,
        error: WebFetchError,
        *,
        ref: ChannelRef | None = None,
        pages: int = 0,
    ) -> PollResult:
        now = self._clock()
        failures = state.failures + 1
        delay = self._backoff(failures, error.retry_after)
        next_at = now + timedelta(seconds=delay)
        if error.kind is FetchErrorKind.RATE_LIMITED:
            pause = error.retry_after if error.retry_after is not None else delay
            self.budget.pause_until(now + timedelta(seconds=pause))
        reason = f"web: {error}"
        log.warning(
            "web @%s: %s (failure %d in a row; next try in %.0fs)",
            channel.username,
            error,
            failures,
            delay,
        )
        failed = WebChannelState(
            channel_id=channel.id,
            next_poll_at=to_epoch(next_at),
            failures=failures,
            seen_ids=state.seen_ids,
            missing=state.missing,
            last_poll_at=to_epoch(now),
            last_status=error.kind.value,
        )
        channel_id = await self._save(channel, ref, failed, reason)
        return PollResult(
            channel_id,
            channel.username,
            PollStatus.ERROR,
            (),
            pages,
            str(error),
            error.kind,
            next_at,
        )

    async def _spend(self) -> None:
        """Take one request from the budget, waiting for it (paging within one poll)."""
        waited = 0.0
        while not self.budget.try_spend():
            if self._closed:
                raise WebFetchError(FetchErrorKind.STOPPED, "stopping: paging left for later")
            if waited >= MAX_BUDGET_WAIT_SECONDS:
                raise WebFetchError(
                    FetchErrorKind.BUDGET, "the request budget stayed empty while paging"
                )
            step = self.budget.interval_seconds
            await self._sleep(step)
            waited += step

    # -- HTTP --
    def page_url(self, username: str) -> str:
        """Where a channel's preview lives."""
        return f"{self._base_url}/s/{quote(username)}"

    async def _fetch(self, username: str, before: int | None) -> WebPage:
        params: dict[str, str] = {"before": str(before)} if before is not None else {}
        try:
            async with self._session.get(
                self.page_url(username),
                params=params,
                allow_redirects=False,
                timeout=self._timeout,
                headers=_HEADERS,
            ) as response:
                status = response.status
                if status == 429:
                    retry = _retry_after_seconds(response.headers.get("Retry-After"), self._clock())
                    raise WebFetchError(
                        FetchErrorKind.RATE_LIMITED,
                        f"HTTP 429 (Retry-After: {response.headers.get('Retry-After', '-')})",
                        retry_after=retry,
                    )
                if 300 <= status < 400:
                    location = response.headers.get("Location", "?")
                    raise WebFetchError(
                        FetchErrorKind.NO_PREVIEW,
                        f"no public preview (HTTP {status} to {location})",
                    )
                if status != 200:
                    raise WebFetchError(FetchErrorKind.HTTP, f"HTTP {status}")
                body = await response.read()
                charset = response.charset or "utf-8"
        except TimeoutError:
            raise WebFetchError(
                FetchErrorKind.TIMEOUT, f"no answer within {self._settings.timeout_seconds}s"
            ) from None
        except aiohttp.ClientResponseError as exc:  # a session made with raise_for_status
            if exc.status == 429:
                header = exc.headers.get("Retry-After") if exc.headers is not None else None
                raise WebFetchError(
                    FetchErrorKind.RATE_LIMITED,
                    f"HTTP 429 (Retry-After: {header or '-'})",
                    retry_after=_retry_after_seconds(header, self._clock()),
                ) from None
            raise WebFetchError(FetchErrorKind.HTTP, f"HTTP {exc.status}") from None
        except aiohttp.ClientError as exc:
            raise WebFetchError(FetchErrorKind.NETWORK, f"{type(exc).__name__}: {exc}") from None
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        try:
            page = parse_page(text, username=username)
        except WebPageError as exc:
            raise WebFetchError(FetchErrorKind.MALFORMED, f"unreadable page: {exc}") from None
        if page.no_preview:
            raise WebFetchError(FetchErrorKind.NO_PREVIEW, "no public preview (channel page)")
        if page.username is not None and page.username.lower() != username.lower():
            raise WebFetchError(
                FetchErrorKind.MALFORMED, f"the page is of @{page.username}, not @{username}"
            )
        return page
