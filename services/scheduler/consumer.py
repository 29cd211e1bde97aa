"""Scheduler's message entrypoint: fulfils obligations when reports arrive and applies intake's watermark.

Its queue has a single active consumer: a watermark is applied only after every report
published before it has been fulfilled.
"""

from __future__ import annotations

from services.scheduler import handlers
from shared.events import IntakeWatermark, ReportSubmitted
from shared.logs import configure
from shared.messaging import EventHandlers, bind_handlers, run_consumer
from shared.plan_versions import VersionedPlan
from shared.settings import Settings
from shared.store import STORE_ERRORS
from shared.topology import ConsumerQueue

EVENT_HANDLERS: EventHandlers = {
    ReportSubmitted: [handlers.on_report_submitted],
    IntakeWatermark: [handlers.on_intake_watermark],
}
# One active consumer: messages are handled one at a time in the order intake's relay published them, so a
# watermark is applied only after the reports published before it (with competing consumers one could apply
# a watermark while another still holds an earlier report).
QUEUE = ConsumerQueue.handling("scheduler", EVENT_HANDLERS, single_active=True)


def main() -> None:
    """Consume the scheduler's queue until killed."""
    # Imported here: the topology reads this module for its EVENT_HANDLERS in every process that declares it,
    # which needs none of the clients.
    from services.scheduler.bootstrap import build_dependencies

    settings = Settings.from_env()
    configure("scheduler-consumer", settings.log_level)
    d = build_dependencies(settings)

    def plans() -> list[VersionedPlan]:  # read only for a report whose obligation the pass has not created yet
        return [VersionedPlan(p, tuple(d.versions.versions(p.id))) for p in d.rt.plan_files]

    dependencies = {"obligations": d.obligations, "plans": plans, "passes": d.passes}
    bound = bind_handlers(EVENT_HANDLERS, dependencies)
    run_consumer(settings, QUEUE, bound, store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
