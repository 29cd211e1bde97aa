"""Rate limits shared by every worker and replica of a service: fixed windows counted in the service's own store.

A window of a limit and a key (`login-account` and an e-mail, `login-address` and a client address, `api` and
a token subject) has numbered slots. Each allowed request claims the lowest free slot by inserting the document
`<limit>:<hash of the key>:<window>:<n>` once (`shared.store.insert_once`), so the slots taken are exactly 1..n
and n counts what the window has allowed, on FerretDB as on MongoDB: no counter is ever updated (FerretDB v1
runs an update as read, change, write back without isolation, SPEC "Store rules"). When the last slot is taken
the window is full and the request gets `RateLimited` (HTTP 429) with the seconds until the window ends; a
refused request claims nothing, so it neither counts nor grows the store.

Each process remembers the next slot of the windows it has seen, so an allowed request costs one insert and a
refused one, once this process has seen the window full, no round trip at all; when other processes took the
slots it expected, it tries the next one, then finds the first free one by `_id` reads (a binary search: the
taken slots never leave a gap). A limit with many requests
per window lets one slot stand for several requests (`per_slot`), claimed by one process and spent by it: the
API limit costs one insert per `per_slot` requests, and a subject may be refused up to `per_slot - 1` requests
early per process, never late.

The windows are fixed (aligned on the epoch), so a burst across a window's end may reach twice the limit in a
short time; that is the price of counting without a shared mutable counter. Windows that have ended are
deleted by whichever process notices, at most once a minute per process, by their `expires_bucket` (the minute
the window ends in, an equality FerretDB pushes down: `ExpiryPruner`), so no key, an unknown e-mail included,
keeps a document for longer than its window and two minutes. Security times use the real clock (SPEC F14),
never the simulated one.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.retention import BATCH
from shared.settings import Settings
from shared.store import DuplicateKeyError, delete_batch, insert_once

RATE_LIMITS = "rate_limits"  # the collection, in a database of each service's own (shared.runtime.Runtime.limiter)
PRUNE_SECONDS = 60.0
MAX_HINTS = 10_000  # windows one process remembers (a hint lost costs reads, never correctness)
MAX_SLOTS = 50  # slots per window at most: a larger limit lets one slot stand for several requests
MAX_KEY = 320
EXPIRY_BUCKET_SECONDS = 60
MAX_BUCKETS_WALKED = 120  # the walk's reach behind the mark (`ExpiryPruner`), in minutes
PRUNE_MARKS = "prune_marks"  # how far each collection's expiry walk has got (`ExpiryPruner`)


@dataclass(frozen=True)
class Limit:
    """At most `limit` requests per key in each fixed window of `window_seconds`; `limit` 0 turns it off.

    `message` is what a person reads when refused (Vietnamese); `{wait}` becomes the time left.
    """

    name: str
    limit: int
    window_seconds: int
    message: str

    @property
    def per_slot(self) -> int:
        """Requests one slot stands for: 1 (exact) up to MAX_SLOTS requests a window."""
        return max(1, math.ceil(self.limit / MAX_SLOTS))

    @property
    def slots(self) -> int:
        """Slots of one window (their requests never exceed `limit`)."""
        return self.limit // self.per_slot


@dataclass(frozen=True)
class RateLimits:
    """The limits of every service, from the settings (README "Configuration")."""

    login_account: Limit
    login_address: Limit
    api: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        """The login limits (per account and per client address) and the API limit (per token subject)."""
        login = "Quá nhiều lần đăng nhập. Vui lòng thử lại sau {wait}."
        return cls(
            login_account=Limit("login-account", settings.login_account_limit, settings.login_window_seconds, login),
            login_address=Limit("login-address", settings.login_address_limit, settings.login_window_seconds, login),
            api=Limit(
                "api",
                settings.api_subject_limit,
                settings.api_window_seconds,
                "Quá nhiều yêu cầu từ tài khoản này. Vui lòng thử lại sau {wait}.",
            ),
        )


class RateLimited(Exception):
    """The window of `limit` for this key is full: retry after `retry_after` seconds (its end)."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.message = limit.message.format(wait=wait_text(retry_after))
        super().__init__(self.message)


def wait_text(seconds: int) -> str:
    """A wait in Vietnamese words: "45 giây", "5 phút"."""
    return f"{seconds} giây" if seconds < 120 else f"{math.ceil(seconds / 60)} phút"


class Throttle:
    """True at most once per `seconds` (per process): for upkeep done on the request path at a bounded rate."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = -math.inf

    def due(self, now: float) -> bool:
        """Whether the upkeep is due at `now`; if so, the next one is `seconds` later."""
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


def expiry_bucket(expires: float) -> int:
    """The bucket of an expiry instant (real seconds since the epoch): every document of bucket b has expired once
    the clock reaches b minutes."""
    return math.ceil(expires / EXPIRY_BUCKET_SECONDS)


class ExpiryPruner:
    """Deletes the documents of a collection whose `expires_bucket` (`expiry_bucket`) has passed: bucket by bucket,
    each an equality on the declared index, in batches of BATCH; never a range, so a request that prunes reads the
    store by equality like every other (README "FerretDB differences that shaped the code").

    How far the walk has got is a mark in the store (`prune_marks`, `_id` the collection's name), so a process
    goes on from where any other left off. Every write is followed within PRUNE_SECONDS by its process's prune
    (callers bound the rate with `Throttle`), which moves the mark up to it; so when no process ran for a while
    the documents left lie in the buckets just after the mark, none more than its window further. A mark more than
    MAX_BUCKETS_WALKED buckets behind is therefore walked that far, then set to now: nothing is missed for
    windows up to MAX_BUCKETS_WALKED minutes, less the minute of the throttle. Without a mark (a new store) the
    walk starts MAX_BUCKETS_WALKED buckets back. Two processes writing the mark at once make, at worst, buckets
    walked again.
    """

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.marks = collection.database[PRUNE_MARKS]
        self.indexed = False

    def prune(self, now: float) -> int:
        """Delete what has expired at `now` (real seconds); how many were deleted."""
        if not self.indexed:
            self.collection.create_index("expires_bucket")
            self.indexed = True
        name = self.collection.name
        last = math.floor(now / EXPIRY_BUCKET_SECONDS)
        mark = self.marks.find_one({"_id": name})
        walked = int(mark["bucket"]) if mark else last - MAX_BUCKETS_WALKED
        deleted = 0
        for bucket in range(walked + 1, min(last, walked + MAX_BUCKETS_WALKED) + 1):
            while (batch := delete_batch(self.collection, {"expires_bucket": bucket}, BATCH)) > 0:
                deleted += batch
                if batch < BATCH:
                    break
        if last > walked:
            try:
                self.marks.replace_one({"_id": name}, {"_id": name, "bucket": last}, upsert=True)
            except DuplicateKeyError:
                pass  # another process's first mark won: it walked the same buckets
        return deleted


@dataclass
class _Hint:
    next_slot: int  # every slot below it is taken
    spare: int  # requests left on the slot this process claimed last
    ends: float


class RateLimiter:
    """Counts requests against limits in one collection of the service's store (see the module docstring)."""

    def __init__(self, collection: Any, *, now: Callable[[], float] = time.time) -> None:
        self.collection = collection
        self.now = now
        self.prune_throttle = Throttle(PRUNE_SECONDS)
        self.pruner = ExpiryPruner(collection)
        self.hints: OrderedDict[tuple[str, str, int], _Hint] = OrderedDict()
        self.by = f"{socket.gethostname()}:{os.getpid()}"

    def hit(self, limit: Limit, key: str) -> None:
        """Count one request of `key` against `limit`; RateLimited when its window is full."""
        if limit.limit <= 0:
            return
        key = key.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be stored
        now = self.now()
        if self.prune_throttle.due(now):
            self.prune(now)
        window = int(now // limit.window_seconds)
        ends = (window + 1) * limit.window_seconds
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        hint = self.hints.get((limit.name, digest, window))
        if hint is not None and hint.spare > 0:
            hint.spare -= 1
            return
        slot = self._claim(limit, key, digest, window, hint.next_slot if hint else 1)
        if len(self.hints) >= MAX_HINTS:
            self.hints.popitem(last=False)
        if slot is None:
            self.hints[(limit.name, digest, window)] = _Hint(limit.slots + 1, 0, ends)
            raise RateLimited(limit, max(1, math.ceil(ends - now)))
        self.hints[(limit.name, digest, window)] = _Hint(slot + 1, limit.per_slot - 1, ends)

    def _claim(self, limit: Limit, key: str, digest: str, window: int, slot: int) -> int | None:
        """Insert the lowest free slot from `slot` on; None when every slot of the window is taken."""
        start = datetime.fromtimestamp(window * limit.window_seconds, UTC)
        ends = datetime.fromtimestamp((window + 1) * limit.window_seconds, UTC)
        misses = 0
        while slot <= limit.slots:
            doc = {
                "_id": f"{limit.name}:{digest}:{window}:{slot}",
                "limit": limit.name,
                "key": key[:MAX_KEY],
                "window": start,
                "expires_at": ends,
                "expires_bucket": expiry_bucket(ends.timestamp()),
                "slot": slot,
                "by": self.by,
            }
            if insert_once(self.collection, doc):
                return slot
            misses += 1
            # another process took it: most often just the next one is free; else search by reads
            slot = slot + 1 if misses < 2 else self._first_free(limit, digest, window, slot + 1)
        return None

    def _first_free(self, limit: Limit, digest: str, window: int, low: int) -> int:
        """The lowest slot at or above `low` not taken yet, by `_id` reads (slots are taken without gaps)."""

        def taken(slot: int) -> bool:
            found = self.collection.find_one({"_id": f"{limit.name}:{digest}:{window}:{slot}"}, {"_id": 1})
            return found is not None

        high = limit.slots + 1
        if low >= high or taken(limit.slots):
            return high
        while low < high:
            mid = (low + high) // 2
            if taken(mid):
                low = mid + 1
            else:
                high = mid
        return low

    def prune(self, now: float | None = None) -> int:
        """Delete the slots of windows that have ended (and forget their hints); how many were deleted."""
        at = self.now() if now is None else now
        for key in [k for k, h in self.hints.items() if h.ends <= at]:
            del self.hints[key]
        return self.pruner.prune(at)
