"""Aggregator's message entrypoint: folds events into the read models."""

from __future__ import annotations

from services.aggregator import handlers
from shared.events import (
    OBLIGATION_EVENTS,
    PlanPublished,
    ReportAmended,
    ReportSubmitted,
)
from shared.logs import configure
from shared.messaging import EventHandlers, Live, bind_handlers, run_consumer
from shared.plan_follower import catch_up, on_plan_published
from shared.retry import retry_until_done
from shared.settings import Settings
from shared.store import STORE_ERRORS
from shared.topology import ConsumerQueue

EVENT_HANDLERS: EventHandlers = {
    **{obligation_event: [handlers.on_obligation_event] for obligation_event in OBLIGATION_EVENTS},
    ReportSubmitted: [handlers.on_report_event],
    ReportAmended: [handlers.on_report_event],
    PlanPublished: [on_plan_published],
}
# One active consumer keeps the one-writer rule for the per-unit rows however many replicas run.
# Releases before the EVENT_HANDLERS table bound `#`: removed when the topology is declared.
QUEUE = ConsumerQueue.handling("aggregator", EVENT_HANDLERS, single_active=True, retired_bindings=("#",))


def main() -> None:
    """Consume the aggregator's queue until killed."""
    # Imported here: the topology reads this module for its EVENT_HANDLERS in every process that declares it,
    # which needs none of the clients.
    from services.aggregator.bootstrap import build_dependencies

    settings = Settings.from_env()
    configure("aggregator-consumer", settings.log_level)
    d = build_dependencies(settings)
    retry_until_done(d.ensure_indexes, what="aggregator indexes", errors=STORE_ERRORS)
    catch_up(d.rt.plan_followers.values(), d.scheduler, settings.secret)  # versions whose event it missed
    dependencies = {
        "boards": d.boards,
        "reports": d.reports,
        "closings": d.closings,
        "plan": Live(d.rt.plan_of_event),  # its unit's plan, latest unit list published (shared.plan_follower)
        "plan_followers": d.rt.plan_followers,
        "scheduler": d.scheduler,
        "secret": settings.secret,
    }
    run_consumer(settings, QUEUE, bind_handlers(EVENT_HANDLERS, dependencies), store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
