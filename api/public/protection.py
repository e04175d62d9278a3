"""In-process protection of the public comment form: rate limits and recent duplicates.

Both live in the memory of one API process (several processes each count on their own; the
view of stored comments catches duplicates across them). Memory stays bounded: keys whose
window has passed are dropped, and at most ``max_keys`` keys are tracked (the oldest go).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from domain.shared import fold

__all__ = ["RateLimiter", "RecentTexts", "text_fingerprint"]

MAX_KEYS = 100_000


def text_fingerprint(text: str) -> str:
    """Two comments are the same if their folded words are (case, diacritics, spacing)."""
    return hashlib.sha256(fold(text).encode("utf-8")).hexdigest()


class RateLimiter:
    """At most ``limit`` events per key within a sliding window of ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float],
        *,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def retry_after(self, key: str) -> int:
        """0 if one more event is allowed now, else the seconds until it is."""
        now = self._clock()
        with self._lock:
            events = self._recent(key, now)
            if len(events) < self.limit:
                return 0
            return max(1, math.ceil(events[0] + self.window - now))

    def record(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            events = self._recent(key, now)
            events.append(now)
            self._events[key] = events
            self._events.move_to_end(key)
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)


class RecentTexts:
    """The fingerprints of the comments this process accepted lately, per dossier, so a
    duplicate sent before the views have caught up is still recognised."""

    def __init__(
        self, window: float, clock: Callable[[], float], *, max_keys: int = MAX_KEYS
    ) -> None:
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, dossier: str, fingerprint: str) -> bool:
        now = self._clock()
        with self._lock:
            moment = self._seen.get((dossier, fingerprint))
            return moment is not None and moment > now - self.window

    def add(self, dossier: str, fingerprint: str) -> None:
        now = self._clock()
        with self._lock:
            self._seen[(dossier, fingerprint)] = now
            self._seen.move_to_end((dossier, fingerprint))
            while self._seen:
                oldest, moment = next(iter(self._seen.items()))
                if moment > now - self.window and len(self._seen) <= self._max_keys:
                    break
                del self._seen[oldest]
