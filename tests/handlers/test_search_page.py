"""/search pages: what the bot says when the search stopped at its time budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import build_ingestor
from bot.models import ChannelRef, Post, PostOrigin
from bot.search import ArchiveSearch
from handlers.search import render_page
from storage.db import Database
from tests.conftest import FakeClock

NEWS = ChannelRef(1001, "official_news", "Official News")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _budgeted(db: Database) -> ArchiveSearch:
    """A search whose budget runs out after its first chunk (each clock reading is 1 s on)."""
    ticks = iter(range(1000))
    return ArchiveSearch(db, time_budget_seconds=1.5, monotonic=lambda: float(next(ticks)))


async def test_stopped_search_does_not_say_no_posts_match(db: Database, clock: FakeClock) -> None:
    await build_ingestor(db, clock=clock).ingest_batch(
        [Post(NEWS, i, T0 + timedelta(minutes=i), f"Санкції, допис {i}") for i in range(1, 41)],
        origin=PostOrigin.IMPORT,
    )
    page, markup = await render_page(db, "санкції -санкції", 0, search=_budgeted(db))
    assert page.startswith("No match in the ") and "time limit" in page and markup is None
    assert "No posts match." not in page
    page, _ = await render_page(db, "санкції -санкції", 0)
    assert page == "No posts match."  # with time to read every candidate


async def test_stopped_search_with_hits_says_older_posts_were_not_searched(
    db: Database, clock: FakeClock
) -> None:
    await build_ingestor(db, clock=clock).ingest_batch(
        [Post(NEWS, i, T0 + timedelta(minutes=i), f"Допис {i}") for i in range(1, 400)]
        + [Post(NEWS, 500, T0, "Санкції, 5 хвилин")],
        origin=PostOrigin.IMPORT,
    )
    page, _ = await render_page(db, "/санкц/", 0, search=_budgeted(db), lang="uk")
    assert page.startswith("Серед 200 дописів") and "official_news/500" not in page  # not reached
    await build_ingestor(db, clock=clock).ingest(
        Post(NEWS, 501, T0 + timedelta(hours=9), "Санкції знову"), origin=PostOrigin.LIVE
    )
    page, _ = await render_page(db, "/санкц/", 0, search=_budgeted(db))
    header, note, first = page.split("\n\n")[:3]
    assert header == "🔎 /санкц/ — page 1" and "official_news/501" in first
    assert note.startswith("The search stopped at its time limit: older posts were not searched")
