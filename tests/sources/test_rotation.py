"""The catch-up policy: what gets the next request."""

from __future__ import annotations

from bot.sources.rotation import ChannelState, TaskKind, fetch_interval, next_task

NOW = 1_000_000


def state(channel_id: int, **kw: object) -> ChannelState:
    base: dict[str, object] = {
        "channel_id": channel_id,
        "resolved": True,
        "joined": True,
        "has_cursor": True,
        "last_fetch_at": NOW - 10,
        "last_recheck_at": NOW - 10,
        "posts_last_week": 7,
    }
    base.update(kw)
    return ChannelState(**base)  # type: ignore[arg-type]


def pick(*states: ChannelState):  # type: ignore[no-untyped-def]
    return next_task(states, now=NOW, min_interval=60, max_interval=3600)


def test_order_resolve_join_first_sight_behind() -> None:
    assert pick(state(1, behind=True), state(2, resolved=False)).kind is TaskKind.RESOLVE
    assert pick(state(1, behind=True), state(2, joined=False)).kind is TaskKind.JOIN
    assert pick(state(1, behind=True), state(2, has_cursor=False)).kind is TaskKind.FIRST_SIGHT
    task = pick(state(1, behind=True), state(2, last_fetch_at=0))
    assert (task.kind, task.channel_id) == (TaskKind.FETCH, 1)


def test_stale_looking_busy_channel_comes_first() -> None:
    busy = state(1, posts_last_week=7 * 24 * 30, last_fetch_at=NOW - 600)  # ~every 2 min
    slow = state(2, posts_last_week=1, last_fetch_at=NOW - 3700)  # hourly, a bit late
    task = pick(slow, busy)
    assert (task.kind, task.channel_id) == (TaskKind.FETCH, 1)


def test_interval_is_clamped() -> None:
    assert fetch_interval(state(1, posts_last_week=0), min_interval=60, max_interval=3600) == 3600
    assert fetch_interval(state(1, posts_last_week=10**6), min_interval=60, max_interval=3600) == 60


def test_deferred_channels_wait_and_recheck_uses_spare_budget() -> None:
    deferred = state(1, last_fetch_at=0, deferred_until=NOW + 100)
    idle = state(2, last_recheck_at=NOW - 500)
    task = pick(deferred, idle)
    assert (task.kind, task.channel_id) == (TaskKind.RECHECK, 2)
    assert pick(state(3, last_recheck_at=NOW - 5)) is None


def test_join_not_wanted() -> None:
    assert pick(state(1, joined=False, join_wanted=False)) is None
