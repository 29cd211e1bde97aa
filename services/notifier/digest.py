"""Notifier's digest process: composes the daily digest (F7) once its time has come on a working day.

Any number of replicas may run: each digest is inserted once per (recipient, local date), so they agree on
one; the sender delivers it like any mail. Business time is the plan's clock (simulated or system), so a
stepped simulation gets the digest of each working day it lands on after 07:30.
"""

from __future__ import annotations

import logging
from datetime import date

from services.notifier import handlers
from services.notifier.bootstrap import build_dependencies
from services.notifier.domain import digest_instant
from shared.logs import configure
from shared.retry import run_forever
from shared.settings import Settings
from shared.store import STORE_ERRORS
from shared.timerules import local_date

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0


def main() -> None:
    """Compose each day's digest once its time has come, until killed; back off while the store is down."""
    settings = Settings.from_env()
    configure("notifier-digest", settings.log_level)
    d = build_dependencies(settings)
    plan = d.rt.plan
    composed: date | None = None  # the day this process already composed (a restart composes it again: no-op)

    def step() -> bool:
        nonlocal composed
        at = digest_instant(plan, d.rt.clock.now())
        if at is not None and local_date(at) != composed:
            composed = handlers.compose_digest(
                plan=plan, facts=d.facts, ledger=d.ledger, clock=d.rt.clock, wall=d.wall, mail=d.mail
            )
            log.info("digest composed", extra={"day": str(composed)})
        return False

    run_forever(step, tick=TICK_SECONDS, what="digest", errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
