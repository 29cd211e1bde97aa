"""Business time (F14): the system clock in production, or one simulated clock shared by every process.

Both satisfy `shared.timerules.Clock`, the protocol handlers depend on.

The simulated clock's state (simulated anchor, real anchor, rate; rate 0 = frozen) is one document of the
`<prefix>clock` database, owned by this module and read with at most CACHE_SECONDS of caching, so every
service and worker agrees. Only the scheduler's clock endpoint sets it. Security times, logs and retry
delays use the real clock, never this one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.settings import Settings
from shared.store import insert_once

CACHE_SECONDS = 0.1
CLOCK_ID = "clock"


class SystemClock:
    """Production: business time is the system clock."""

    simulated = False

    def now(self) -> datetime:
        """The real current instant."""
        return datetime.now(UTC)


@dataclass(frozen=True)
class ClockState:
    """Simulated time = sim_anchor + (real now - real_anchor) x rate."""

    sim_anchor: datetime
    real_anchor: datetime
    rate: float

    def at(self, real_now: datetime) -> datetime:
        """The simulated instant corresponding to a real instant."""
        return self.sim_anchor + (real_now - self.real_anchor) * self.rate

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {"_id": CLOCK_ID, "sim_anchor": self.sim_anchor, "real_anchor": self.real_anchor, "rate": self.rate}


class SimulatedClock:
    """The shared simulated clock, backed by the `dvcq_clock` document."""

    simulated = True

    def __init__(self, collection: Any, *, start: datetime) -> None:
        self._collection = collection
        self._start = start
        self._cached: ClockState | None = None
        self._cached_at = 0.0

    def state(self) -> ClockState:
        """The clock's state, re-read from the store at most every CACHE_SECONDS."""
        mono = time.monotonic()
        if self._cached is None or mono - self._cached_at > CACHE_SECONDS:
            doc = self._collection.find_one({"_id": CLOCK_ID})
            if doc is None:
                # an insert, not an upsert: concurrent first readers cannot collide (FerretDB updates lack isolation)
                insert_once(self._collection, ClockState(self._start, datetime.now(UTC), 0.0).to_doc())
                doc = self._collection.find_one({"_id": CLOCK_ID})
            self._cached = ClockState(doc["sim_anchor"], doc["real_anchor"], float(doc["rate"]))
            self._cached_at = mono
        return self._cached

    def now(self) -> datetime:
        """The current simulated instant."""
        return self.state().at(datetime.now(UTC)).astimezone(UTC)

    def set(self, now: datetime, rate: float = 0.0) -> ClockState:
        """Move the clock to `now`, running at `rate` simulated seconds per real second."""
        if now.tzinfo is None:
            raise ValueError("the clock is set with an aware instant")
        if rate < 0:
            raise ValueError("rate must be >= 0")
        state = ClockState(now.astimezone(UTC), datetime.now(UTC), float(rate))
        self._collection.replace_one({"_id": CLOCK_ID}, state.to_doc(), upsert=True)
        self._cached, self._cached_at = state, time.monotonic()
        return state


def build_clock(settings: Settings, client: Any, *, start: datetime) -> SystemClock | SimulatedClock:
    """The clock this process uses: simulated (frozen at `start` until set) or the system clock."""
    if settings.clock_mode == "simulation":
        return SimulatedClock(client[settings.db_name("clock")]["clock"], start=start)
    return SystemClock()


class FixedClock:
    """A clock for unit tests: stands still until moved."""

    simulated = True

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        """The fixed instant."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        self._now += delta
