"""Scheduler's pass loop process: runs a pass over business time every tick and records `processed_up_to`;
then watches the ladder's input (F17): a hold is opened and closed here, once per hold whatever the replicas;
then prunes a batch of the agenda entries processed long ago (DVCQ_AGENDA_KEEP_DAYS of business time)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from services.scheduler import handlers, versions
from services.scheduler.bootstrap import build_dependencies
from shared.logs import configure
from shared.plan_versions import VersionedPlan
from shared.retention import DayPruner
from shared.retry import run_forever
from shared.settings import Settings
from shared.store import STORE_ERRORS

log = logging.getLogger(__name__)
TICK_SECONDS = 0.2
VERSIONS_SECONDS = 5.0  # how often the loop reads the published unit lists again (a handful of small documents)


def main() -> None:
    """Run passes until killed; back off while the store is down."""
    settings = Settings.from_env()
    configure("scheduler-loop", settings.log_level)
    d = build_dependencies(settings)
    synced = False
    plans: list[VersionedPlan] = []
    plans_read_at = float("-inf")
    agenda = DayPruner(d.agenda)
    keep = timedelta(days=settings.agenda_keep_days)
    watch = handlers.LadderWatch(
        limit_seconds=settings.ladder_hold_after_seconds, grace_seconds=settings.ladder_hold_grace_seconds
    )

    def step() -> bool:
        nonlocal synced, plans, plans_read_at
        if time.monotonic() - plans_read_at >= VERSIONS_SECONDS:
            # every plan with its published unit lists: the pass closes obligations and announces ceased units by
            # the latest; a period opening gets its obligations from the list in force on its deadline day
            plans = [VersionedPlan(p, tuple(d.versions.versions(p.id))) for p in d.rt.plan_files]
            plans_read_at = time.monotonic()
        if not synced:
            d.obligations.ensure_indexes()
            copied = d.obligations.backfill_agenda(d.passes.processed_up_to())
            if copied:
                log.info("agenda entries given their buckets", extra={"entries": copied})
            d.versions.ensure_indexes()
            for each in plans:
                created = handlers.sync_plan(
                    each.base, obligations=d.obligations, clock=d.rt.clock, plan_for=each.for_period
                )
                versions.announce_versions(each.base, versions=d.versions)
                log.info("plan synced", extra={"plan": each.base.id, "obligations_created": created})
            synced = True
        handlers.run_pass(plans=plans, obligations=d.obligations, passes=d.passes, clock=d.rt.clock)
        handlers.watch_ladder(watch, passes=d.passes, clock=d.rt.clock, real_now=time.monotonic())
        handlers.prune_agenda(agenda, passes=d.passes, keep=keep, real_now=time.monotonic())
        return False

    # A failing pass (a bug) must not stop the ladder for every unit: run_forever logs it and retries.
    run_forever(step, tick=TICK_SECONDS, what="pass", errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
