"""Scheduler's pass loop process: runs a pass over business time every tick and records `processed_up_to`."""

from __future__ import annotations

import logging

from services.scheduler import handlers
from services.scheduler.bootstrap import build_dependencies
from shared.logs import configure
from shared.retry import run_forever
from shared.settings import Settings
from shared.store import STORE_ERRORS

log = logging.getLogger(__name__)
TICK_SECONDS = 0.2


def main() -> None:
    """Run passes until killed; back off while the store is down."""
    settings = Settings.from_env()
    configure("scheduler-loop", settings.log_level)
    d = build_dependencies(settings)
    synced = False

    def step() -> bool:
        nonlocal synced
        if not synced:
            d.obligations.ensure_indexes()
            created = handlers.sync_plan(d.rt.plan, obligations=d.obligations, clock=d.rt.clock)
            log.info("plan synced", extra={"obligations_created": created})
            synced = True
        handlers.run_pass(plan=d.rt.plan, obligations=d.obligations, passes=d.passes, clock=d.rt.clock)
        return False

    # A failing pass (a bug) must not stop the ladder for every unit: run_forever logs it and retries.
    run_forever(step, tick=TICK_SECONDS, what="pass", errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
