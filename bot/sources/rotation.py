"""Which channel catch-up asks about next: a pure policy over channel states.

Every request comes out of one budget, so the order matters:
1. channels that cannot be watched yet: resolve the username once, then join;
2. first sight of a channel (no cursor yet);
3. channels known to be behind (the last fetch returned a full page);
4. fetches that are due, most overdue first. A channel is due when the time since its last
   fetch exceeds its interval: its usual gap between posts over the last week, clamped to
   [min_interval, max_interval] (so every channel is checked at least every max_interval).
   The score is elapsed / interval, so a busy channel that has gone quiet ("stale-looking")
   comes before a slow one checked a little late;
5. with budget to spare, re-checking recent ids for unannounced deletions and missed edits,
   the channel re-checked longest ago first, at most once per min_interval.
Deferred channels (a long flood wait) are skipped until their time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class TaskKind(enum.StrEnum):
    """One request's worth of catch-up work."""

    RESOLVE = "resolve"
    JOIN = "join"
    FIRST_SIGHT = "first_sight"
    FETCH = "fetch"
    RECHECK = "recheck"


@dataclass(frozen=True, slots=True)
class ChannelState:
    """What the policy needs to know about a channel (times are epoch seconds)."""

    channel_id: int
    resolved: bool
    joined: bool
    has_cursor: bool
    last_fetch_at: int | None
    last_recheck_at: int | None
    posts_last_week: int
    deferred_until: int | None = None
    behind: bool = False
    join_wanted: bool = True


@dataclass(frozen=True, slots=True)
class Task:
    """The chosen work: what to do, for which channel."""

    kind: TaskKind
    channel_id: int


WEEK = 7 * 24 * 3600


def fetch_interval(state: ChannelState, *, min_interval: int, max_interval: int) -> int:
    """The channel's expected gap between posts, clamped to the configured bounds."""
    usual_gap = WEEK // max(1, state.posts_last_week)
    return max(min_interval, min(max_interval, usual_gap))


def next_task(
    states: Iterable[ChannelState], *, now: int, min_interval: int, max_interval: int
) -> Task | None:
    """The most urgent task, or None when nothing needs a request now."""
    ready = [s for s in states if s.deferred_until is None or s.deferred_until <= now]
    for state in sorted(ready, key=lambda s: s.channel_id):
        if not state.resolved:
            return Task(TaskKind.RESOLVE, state.channel_id)
    for state in sorted(ready, key=lambda s: s.channel_id):
        if state.join_wanted and not state.joined:
            return Task(TaskKind.JOIN, state.channel_id)
    for state in sorted(ready, key=lambda s: s.channel_id):
        if not state.has_cursor:
            return Task(TaskKind.FIRST_SIGHT, state.channel_id)
    behind = [s for s in ready if s.behind]
    if behind:
        oldest = min(behind, key=lambda s: (s.last_fetch_at or 0, s.channel_id))
        return Task(TaskKind.FETCH, oldest.channel_id)

    best: tuple[float, int] | None = None
    for state in ready:
        interval = fetch_interval(state, min_interval=min_interval, max_interval=max_interval)
        elapsed = now - (state.last_fetch_at or 0)
        if elapsed < interval:
            continue
        score = elapsed / interval
        if best is None or (score, -state.channel_id) > (best[0], -best[1]):
            best = (score, state.channel_id)
    if best is not None:
        return Task(TaskKind.FETCH, best[1])

    recheck = [
        s for s in ready if s.last_recheck_at is None or now - s.last_recheck_at >= min_interval
    ]
    if recheck:
        oldest = min(recheck, key=lambda s: (s.last_recheck_at or 0, s.channel_id))
        return Task(TaskKind.RECHECK, oldest.channel_id)
    return None
