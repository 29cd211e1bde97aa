"""Aggregator's message entrypoint: folds events into the read models."""

from __future__ import annotations

from services.aggregator import handlers
from services.aggregator.bootstrap import build_dependencies
from services.aggregator.domain import REPORT_EVENTS
from shared.events import Event
from shared.logs import configure
from shared.messaging import run_consumer
from shared.retry import retry_until_done
from shared.settings import Settings
from shared.store import STORE_ERRORS


def main() -> None:
    """Consume the aggregator's queue until killed."""
    settings = Settings.from_env()
    configure("aggregator-consumer", settings.log_level)
    d = build_dependencies(settings)
    retry_until_done(d.ensure_indexes, what="aggregator indexes", errors=STORE_ERRORS)

    def handle(event: Event) -> None:
        if event.type.startswith("obligation."):
            handlers.on_obligation_event(event, boards=d.boards, plan=d.rt.plan)
        elif event.type in REPORT_EVENTS:
            handlers.on_report_event(event, reports=d.reports, closings=d.closings, plan=d.rt.plan)

    run_consumer(settings, "aggregator", handle, store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
