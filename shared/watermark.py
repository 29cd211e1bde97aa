"""A producer's watermark (F17): "every change I accepted before `received_before` is in an event I published
before this one", so a consumer may act on the absence of a report up to that instant and no further.

Intake emits it (`intake.watermark`) and the scheduler applies a ladder level due at L only once the watermark
it has applied is at least L: a unit that reported before its deadline is never called overdue because its
`report.submitted` was still in intake's outbox, in a relay that was down or behind a stopped broker.

Which process emits it. The outbox relay, the one process that publishes the producer's events: after a round
whose query found nothing pending (everything stored before that query has been published with confirms), it
publishes the watermark on the same channel, so the broker queues it behind every event it covers. Several
relays are safe too: an event another relay published was confirmed before it was marked published.

What instant it states. A report's acceptance instant is the business time intake stamps just before the insert
that stores the report with its pending event (`received_at`; for a paper report recorded on a unit's behalf,
the instant it is recorded, whatever date the văn thư gives, so paper reports count the same way). Each round
the relay samples (real monotonic time p, business time B(p)) before its query. Business time never goes back,
and a process's clock cache is at most CACHE_SECONDS stale, so a report stamped below B(p) was stamped before
p + CACHE_SECONDS and stored before p + CACHE_SECONDS + L, L the longest time from stamp to store. A drained
query at q >= p + margin, with margin >= CACHE_SECONDS + L, therefore saw it: the watermark is B(p) of the latest
sample taken at least `margin` before a drained query.

Real time. L is bounded by gunicorn's worker timeout (30 s: a slower request's worker is killed before it can
store), so DVCQ_WATERMARK_MARGIN_SECONDS defaults to 35 and the ladder runs that far behind the clock.

Simulated time. Business time moves only when the scheduler's clock endpoint sets it, and intake reads the new
state from the shared clock document within CACHE_SECONDS. A frozen clock gives the same B(p) at every sample
after a step, so the watermark reaches the new instant one margin after the step, as soon as the outbox is
drained. In simulation the margin defaults to 0.5 s: stamp to store is two store round trips, and the client
that steps the clock (the tests, `dvcq replay`) has its reports' answers before it steps. A request still
running more than the margin after a step could be stamped before a watermark that does not cover it: give a
simulation with concurrent posting a larger margin.

How often. After a drained round when the watermark grew: on the system clock at most every
DVCQ_WATERMARK_INTERVAL_SECONDS (5 s), on the simulated clock at once, so a clock step costs about one margin
and one relay round. Watermarks are not kept in the producer's event log (`GET /api/v1/events`): they carry no
business fact, a rebuild does not need them, and one every few seconds would grow the log without bound.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from shared.events import Event
from shared.timerules import Clock

WATERMARK_EVENT = "intake.watermark"


def watermark_event(producer: str, received_before: datetime) -> Event:
    """The watermark event; its id is deterministic, so a relay restarted mid-publish sends the same one."""
    at = received_before.astimezone(UTC)
    return Event(
        id=f"{producer}:watermark:{at.isoformat()}",
        type=f"{producer}.watermark",
        subject=producer,
        subject_version=max(1, int(at.timestamp() * 1_000_000)),
        producer=producer,
        occurred_at=at,
        data={"received_before": at.isoformat()},
    )


class WatermarkEmitter:
    """Decides the relay's next watermark from its clock samples (see the module docstring for the proof)."""

    def __init__(
        self,
        clock: Clock,
        *,
        producer: str,
        margin: float,
        interval: float,
        simulated: bool,
        real: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._producer = producer
        self._margin = margin
        self._interval = 0.0 if simulated else interval
        self._real = real
        self._samples: deque[tuple[float, datetime]] = deque()
        self.last: datetime | None = None
        self._last_real = float("-inf")

    def sample(self) -> float:
        """Record business time now (call it before the outbox query); return the real instant of the sample."""
        business = self._clock.now()
        at = self._real()
        self._samples.append((at, business))
        # keep one sample older than the margin (the best candidate), drop those it supersedes
        while len(self._samples) > 1 and self._samples[1][0] <= at - self._margin:
            self._samples.popleft()
        return at

    def after_drained(self, queried_at: float) -> Event | None:
        """The watermark to publish after a query started at `queried_at` found nothing pending, if it is due."""
        eligible = [business for at, business in self._samples if at <= queried_at - self._margin]
        if not eligible:
            return None
        mark = eligible[-1]
        if self.last is not None and mark <= self.last:
            return None
        if self._real() - self._last_real < self._interval:
            return None
        return watermark_event(self._producer, mark)

    def published(self, event: Event) -> None:
        """The broker confirmed `event`: later watermarks must be newer."""
        self.last = datetime.fromisoformat(event.data["received_before"])
        self._last_real = self._real()
