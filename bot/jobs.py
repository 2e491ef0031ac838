"""APScheduler wiring: what runs when. Create inside the running event loop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.models import utc_now

log = logging.getLogger(__name__)

PERIODIC_JOB_DEFAULTS: dict[str, Any] = {
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": 30,
}


def build_scheduler() -> AsyncIOScheduler:
    """A scheduler in UTC whose jobs never overlap and never pile up after a pause."""
    return AsyncIOScheduler(timezone="UTC", job_defaults=dict(PERIODIC_JOB_DEFAULTS))


def _logged(name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job()
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next time", name)

    run.__name__ = name
    return run


def add_periodic(
    scheduler: AsyncIOScheduler,
    name: str,
    job: Callable[[], Awaitable[Any]],
    *,
    seconds: float,
    start_now: bool = True,
    jitter: int | None = None,
    first_run: datetime | None = None,
) -> None:
    """Run `job` every `seconds` (first run immediately by default)."""
    options: dict[str, Any] = {}
    if first_run is not None or start_now:
        # Omitting next_run_time lets the trigger decide; passing None would pause the job.
        options["next_run_time"] = first_run or utc_now()
    scheduler.add_job(
        _logged(name, job),
        IntervalTrigger(seconds=seconds, jitter=jitter, timezone="UTC"),
        id=name,
        name=name,
        replace_existing=True,
        **options,
    )
