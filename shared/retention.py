"""Bounded growth: documents that are done with are pruned by day buckets, oldest day first, in bounded batches.

A pruned collection stamps each document at write time with the day it becomes prunable from (`day_bucket`, a
UTC date as text), and declares an index on that field, so a day is found by equality, which FerretDB on
PostgreSQL pushes down to an index (a range on a timestamp would scan the whole collection: SPEC "Store
rules"). A `DayPruner` walks the days from a stored mark (the first day not pruned yet) up to a cutoff that the
owner's retention rule gives, one batch per call from the owner's worker loop, and moves the mark once a day is
done; every replica may run one (deleting twice deletes nothing, and a mark written back by a slower replica
only makes the next step look at a day again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

BATCH = 300  # documents deleted (or owners trimmed) per step: one step never holds its loop for long
IDLE_SECONDS = 60.0  # once caught up, look again at most this often (real seconds)


def day_bucket(at: datetime) -> str:
    """The bucket of an instant: its UTC date, ISO text (`2019-06-10`)."""
    return at.astimezone(UTC).date().isoformat()


def cutoff_day(now: datetime, keep: timedelta) -> date:
    """The first day kept when what is older than `keep` before `now` may go: every bucket before it is pruned.

    A bucket is a whole UTC day, so a document stays between `keep` and `keep` plus one day."""
    return (now - keep).astimezone(UTC).date()


class DayBuckets(Protocol):
    """A collection pruned by day buckets, as a `DayPruner` sees it (each owner's store adapter)."""

    def earliest_day(self) -> date | None:
        """The oldest bucket present, None when there is none (read once, before any mark exists)."""
        ...

    def pruned_from(self) -> date | None:
        """The stored mark: the first day not pruned yet, None before the first prune."""
        ...

    def set_pruned_from(self, day: date) -> None:
        """Store the mark."""
        ...

    def prune_day(self, day: date, after: str | None, limit: int) -> str | None:
        """Prune at most `limit` items of bucket `day` from cursor `after` on; the cursor to go on from, None
        once the day is done."""
        ...


@dataclass
class DayPruner:
    """Prunes the buckets of `buckets` before a cutoff, one bounded batch per `step`, oldest day first."""

    buckets: DayBuckets
    batch: int = BATCH
    idle_seconds: float = IDLE_SECONDS
    day: date | None = None
    cursor: str | None = None
    look_at: float = 0.0  # real (monotonic) seconds before which an idle pruner reads nothing

    def step(self, cutoff: Callable[[], date | None], real_now: float) -> bool:
        """Prune one batch of the oldest day before `cutoff()` (None: nothing may go yet); False when there was
        nothing to do, or when it found nothing less than IDLE_SECONDS of real time ago (then it reads nothing)."""
        if real_now < self.look_at:
            return False
        first_kept = cutoff()
        if self.day is None and first_kept is not None:
            self.day = self.buckets.pruned_from() or self.buckets.earliest_day()
        if first_kept is None or self.day is None or self.day >= first_kept:
            self.look_at = real_now + self.idle_seconds
            return False
        self.cursor = self.buckets.prune_day(self.day, self.cursor, self.batch)
        if self.cursor is None:
            self.day += timedelta(days=1)
            self.buckets.set_pruned_from(self.day)
        return True
