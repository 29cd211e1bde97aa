"""Intake's outbox relay process: publishes the events stored with reports, then intake's watermark (F17).

It is the watermark's emitter because it is the one process that publishes intake's events: a watermark it
sends after a drained round is queued behind every report it covers (shared.watermark has the reasoning).
"""

from __future__ import annotations

from services.intake.store import REPORTS, MongoReportStore, MongoUserStore
from shared.clock import build_clock
from shared.logs import configure
from shared.outbox import run_relay
from shared.plan import first_issued_at, load_plans
from shared.retry import retry_until_done
from shared.settings import Settings
from shared.store import STORE_ERRORS, connect
from shared.watermark import WatermarkEmitter


def main() -> None:
    """Run the relay until killed."""
    settings = Settings.from_env()
    configure("intake-relay", settings.log_level)
    client = connect(settings, app_name="intake-relay")
    store = MongoReportStore(client[settings.db_name("intake")])
    retry_until_done(store.ensure_indexes, what="intake indexes", errors=STORE_ERRORS)
    users = MongoUserStore(client[settings.db_name("intake")])
    retry_until_done(users.ensure_indexes, what="intake account indexes", errors=STORE_ERRORS)
    clock = build_clock(settings, client, start=first_issued_at(load_plans(settings.plan_paths)))
    watermark = WatermarkEmitter(
        clock,
        producer="intake",
        margin=settings.watermark_margin_seconds,
        interval=settings.watermark_interval_seconds,
        simulated=settings.clock_mode == "simulation",
    )
    run_relay(settings, "intake", [REPORTS], watermark=watermark)


if __name__ == "__main__":
    main()
