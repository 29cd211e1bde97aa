"""Notifier's message entrypoint: records who should hear of each obligation event."""

from __future__ import annotations

from services.notifier import handlers
from services.notifier.bootstrap import build_dependencies
from shared.events import Event
from shared.logs import configure
from shared.messaging import run_consumer
from shared.retry import retry_until_done
from shared.settings import Settings
from shared.store import STORE_ERRORS


def main() -> None:
    """Consume the notifier's queue until killed."""
    settings = Settings.from_env()
    configure("notifier-consumer", settings.log_level)
    d = build_dependencies(settings)
    retry_until_done(d.ledger.ensure_indexes, what="notifier indexes", errors=STORE_ERRORS)

    def handle(event: Event) -> None:
        if event.type.startswith("obligation."):
            handlers.on_obligation_event(event, ledger=d.ledger, plan=d.rt.plan, clock=d.rt.clock)

    run_consumer(settings, "notifier", handle, store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
