"""A request budget shared by every channel: a token bucket on an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.models import utc_now


class RequestBudget:
    """At most `per_minute` requests a minute on average, with a small burst.

    `pause_until` stops all spending (an account-wide flood wait) without losing tokens.
    """

    def __init__(
        self, per_minute: int, *, burst: int = 3, clock: Callable[[], datetime] = utc_now
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.capacity = float(max(1, burst))
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._paused_until: datetime | None = None

    @property
    def interval_seconds(self) -> float:
        """Seconds between requests at the sustained rate."""
        return 60.0 / self.per_minute

    def _refill(self) -> None:
        now = self._clock()
        elapsed = (now - self._updated).total_seconds()
        if elapsed > 0:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.per_minute / 60.0)
            self._updated = now

    def try_spend(self) -> bool:
        """Take one request's worth if available now."""
        if self.paused:
            return False
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def pause_until(self, until: datetime) -> None:
        """Spend nothing before `until`."""
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until

    @property
    def paused(self) -> bool:
        """Whether an account-wide wait is in force."""
        if self._paused_until is None:
            return False
        if self._clock() >= self._paused_until:
            self._paused_until = None
            return False
        return True
