"""A small in-memory cache with a time to live, for one Lambda@Edge container.

It keeps the warm path off DynamoDB: positive and negative answers are both
kept for the TTL (a revoked licence stops working at the edge within it). It
holds at most `max_entries`, dropping the oldest first, so a stream of random
keys cannot grow the 128 MB function's memory without bound.
"""

import time
from collections.abc import Callable

_MISSING = object()


class TtlCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str, default: object = None) -> object:
        """The value stored under `key`, or `default` when it is absent or has expired."""
        found = self._entries.get(key, _MISSING)
        if found is _MISSING:
            return default
        expires, value = found
        if self.clock() >= expires:
            del self._entries[key]
            return default
        return value

    def put(self, key: str, value: object) -> None:
        self._entries.pop(key, None)  # re-inserting moves the key to the young end
        self._entries[key] = (self.clock() + self.ttl_seconds, value)
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
