"""Scheduler's pass loop process: runs a pass over business time every tick and records `processed_up_to`."""

from __future__ import annotations

import logging
import time

from services.scheduler import handlers
from services.scheduler.bootstrap import build_dependencies
from shared.logs import configure
from shared.retry import backoff
from shared.settings import Settings
from shared.store import STORE_ERRORS

log = logging.getLogger(__name__)
TICK_SECONDS = 0.2


def main() -> None:
    """Run passes until killed; back off while the store is down."""
    settings = Settings.from_env()
    configure("scheduler-loop", settings.log_level)
    d = build_dependencies(settings)
    delay = TICK_SECONDS
    synced = False
    while True:
        try:
            if not synced:
                d.obligations.ensure_indexes()
                created = handlers.sync_plan(d.rt.plan, obligations=d.obligations, clock=d.rt.clock)
                log.info("plan synced", extra={"obligations_created": created})
                synced = True
            handlers.run_pass(plan=d.rt.plan, obligations=d.obligations, passes=d.passes, clock=d.rt.clock)
            delay = TICK_SECONDS
        except STORE_ERRORS as exc:
            log.warning("store unavailable", extra={"error": repr(exc)})
            delay = backoff(delay)
        except Exception:
            log.exception("pass failed")  # a bug must not stop the ladder for every unit: retry with backoff
            delay = backoff(delay)
        time.sleep(delay)


if __name__ == "__main__":
    main()
