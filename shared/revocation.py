"""Sessions that end (issue 15 point 6): a logout revokes its token server-side, and every service refuses it.

Tokens are signed and carry their expiry, so without state a stolen or logged-out token stays good until then.
The revocation list is one collection in a database every service reads (`<prefix>sessions`, like the shared
clock's): a logout inserts the token's `jti` once, with the token's expiry, and every authenticated request of
every service asks whether its token's `jti` is there. The answer "not revoked" is remembered for
`CACHE_SECONDS` per token (so a token used many times a second costs one read a second), "revoked" until the
token expires; a logout is therefore refused everywhere within `CACHE_SECONDS`. Entries past their token's
expiry are of no use (the signature check refuses the token first): each carries its expiry's UTC day, and a
logout deletes the days that ended since the last prune, by equality (the store's rule on request paths),
keeping the day it reached in the marker document `PRUNED`.
A store that does not answer fails the request (503): a revoked token is never taken for a good one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.store import insert_once

REVOKED = "revoked_tokens"
CACHE_SECONDS = 1.0
CACHE_SIZE = 10_000  # tokens remembered per process (the oldest forgotten first)
PRUNED = "pruned-through"  # the marker: the last expiry day whose entries were deleted
PRUNE_DAYS = 31  # at most this many days are deleted by one logout (the rest by the next)


class RevocationList:
    """The revoked tokens, by `jti`, with a short per-process memory of the answers (module docstring)."""

    def __init__(
        self,
        collection: Any,
        *,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.collection = collection
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self.wall = wall
        self._seen: OrderedDict[str, tuple[bool, float]] = OrderedDict()  # jti -> (revoked, remembered until)
        self._lock = threading.Lock()

    def revoke(self, jti: str, expires_at: int) -> bool:
        """Revoke a token until its expiry (epoch seconds); True when it was not revoked yet. Prunes a batch of
        entries whose token has expired."""
        expires = datetime.fromtimestamp(expires_at, UTC)
        revoked = insert_once(
            self.collection, {"_id": jti, "expires_at": expires, "expires_day": expires.date().isoformat()}
        )
        self._remember(jti, True, self.monotonic() + max(0.0, expires_at - self.wall()))
        self._prune(datetime.fromtimestamp(self.wall(), UTC).date() - timedelta(days=1))
        return revoked

    def _prune(self, through: date) -> None:
        """Delete the entries whose token expired on a day up to `through` (UTC) not deleted yet."""
        marker = self.collection.find_one({"_id": PRUNED})
        day = date.fromisoformat(marker["day"]) if marker else through - timedelta(days=1)
        if day >= through:
            return
        for _ in range(PRUNE_DAYS):
            if day >= through:
                break
            day += timedelta(days=1)
            self.collection.delete_many({"expires_day": day.isoformat()})
        self.collection.replace_one({"_id": PRUNED}, {"_id": PRUNED, "day": day.isoformat()}, upsert=True)

    def is_revoked(self, jti: str) -> bool:
        """Whether the token was revoked (read from the store at most every `cache_seconds` per token)."""
        now = self.monotonic()
        with self._lock:
            seen = self._seen.get(jti)
        if seen is not None and now < seen[1]:
            return seen[0]
        revoked = self.collection.find_one({"_id": jti}, {"_id": 1}) is not None
        self._remember(jti, revoked, now + (3600.0 if revoked else self.cache_seconds))
        return revoked

    def _remember(self, jti: str, revoked: bool, until: float) -> None:
        with self._lock:
            self._seen[jti] = (revoked, until)
            self._seen.move_to_end(jti)
            while len(self._seen) > CACHE_SIZE:
                self._seen.popitem(last=False)
