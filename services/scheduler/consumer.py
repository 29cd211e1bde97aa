"""Scheduler's message entrypoint: fulfils obligations when reports arrive and applies intake's watermark.

Its queue has a single active consumer (shared.topology): a watermark is applied only after every report
published before it has been fulfilled.
"""

from __future__ import annotations

from services.scheduler import handlers
from services.scheduler.bootstrap import build_dependencies
from shared.events import Event
from shared.logs import configure
from shared.messaging import run_consumer
from shared.settings import Settings
from shared.store import STORE_ERRORS


def main() -> None:
    """Consume the scheduler's queue until killed."""
    settings = Settings.from_env()
    configure("scheduler-consumer", settings.log_level)
    d = build_dependencies(settings)

    def handle(event: Event) -> None:
        if event.type == "report.submitted":
            handlers.on_report_submitted(event, obligations=d.obligations, plan=d.rt.plan)
        elif event.type == "intake.watermark":
            handlers.on_intake_watermark(event, passes=d.passes)

    run_consumer(settings, "scheduler", handle, store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
