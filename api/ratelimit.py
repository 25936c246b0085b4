"""Token buckets per client address and per API key (in memory, one process)."""

from __future__ import annotations

import math
import time

from api.config import Rate


class Buckets:
    """``take(key)`` spends a token of ``key``'s bucket; returns 0 or the seconds to wait."""

    def __init__(self, rate: Rate, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self._buckets: dict[str, list[float]] = {}

    def take(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_idle(now)
            self._buckets[key] = [self.rate.burst - 1.0, now]
            return 0.0
        tokens = min(float(self.rate.burst), bucket[0] + (now - bucket[1]) * self.rate.per_second)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate.per_second

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled completely (they hold no information)."""
        full = self.rate.burst / self.rate.per_second
        self._buckets = {k: b for k, b in self._buckets.items() if now - b[1] < full}
        if len(self._buckets) >= self.max_keys:  # all busy: start afresh rather than grow
            self._buckets.clear()


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
