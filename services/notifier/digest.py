"""Notifier's digest process: composes the daily digest (F7) once its time has come on a working day.

Any number of replicas may run: each digest is inserted once per (recipient, local date), so they agree on
one; the sender delivers it like any mail. Business time is the plan's clock (simulated or system), so a
stepped simulation gets the digest of each working day it lands on after 07:30.

It also trims the attempt logs of notifications delivered long ago (DVCQ_NOTIFY_ATTEMPTS_KEEP_DAYS of wall
time, keeping DVCQ_NOTIFY_ATTEMPTS_KEPT attempts each), a batch per tick: this loop is idle but for one
digest a day, where the sender's batches would wait behind the deletes.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta

from services.notifier import handlers
from services.notifier.bootstrap import build_dependencies
from services.notifier.domain import digest_instant
from shared.logs import configure
from shared.retention import DayPruner
from shared.retry import run_forever
from shared.settings import Settings
from shared.store import STORE_ERRORS
from shared.timerules import local_date

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
TRIM_BATCH = 100  # notifications trimmed per step: two deletes each


def main() -> None:
    """Compose each day's digest once its time has come, until killed; back off while the store is down."""
    settings = Settings.from_env()
    configure("notifier-digest", settings.log_level)
    d = build_dependencies(settings)
    composed: dict[str, date] = {}  # by plan, the day this process already composed (a restart: again, a no-op)
    attempt_logs = DayPruner(d.attempt_logs, batch=TRIM_BATCH)
    keep = timedelta(days=settings.notify_attempts_keep_days)

    def step() -> bool:
        for plan in d.rt.plans:  # each with the latest unit list published
            at = digest_instant(plan, d.rt.clock.now())
            if at is not None and local_date(at) != composed.get(plan.id):
                day = handlers.compose_digest(
                    plan=plan, facts=d.facts, ledger=d.ledger, clock=d.rt.clock, wall=d.wall, mail=d.mail
                )
                if day is not None:
                    composed[plan.id] = day
                log.info("digest composed", extra={"plan": plan.id, "day": str(day)})
        return handlers.trim_attempt_logs(attempt_logs, wall=d.wall, keep=keep, real_now=time.monotonic())

    run_forever(step, tick=TICK_SECONDS, what="digest", errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
