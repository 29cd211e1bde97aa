"""Intake's outbox relay process: publishes the events stored with reports."""

from __future__ import annotations

from services.intake.store import REPORTS, MongoReportStore, MongoUserStore
from shared.logs import configure
from shared.outbox import run_relay
from shared.retry import retry_until_done
from shared.settings import Settings
from shared.store import STORE_ERRORS, connect


def main() -> None:
    """Run the relay until killed."""
    settings = Settings.from_env()
    configure("intake-relay", settings.log_level)
    client = connect(settings, app_name="intake-relay")
    store = MongoReportStore(client[settings.db_name("intake")])
    retry_until_done(store.ensure_indexes, what="intake indexes", errors=STORE_ERRORS)
    users = MongoUserStore(client[settings.db_name("intake")])
    retry_until_done(users.ensure_indexes, what="intake account indexes", errors=STORE_ERRORS)
    client.close()
    run_relay(settings, "intake", [REPORTS])


if __name__ == "__main__":
    main()
