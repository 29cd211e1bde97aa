"""Notifier's message entrypoint: decides who hears of each obligation event and keeps the units' staff lists.

It only inserts notifications (pending, due at once); the sender process delivers them, so no slow SMTP work
ever runs on this process's broker connection.
"""

from __future__ import annotations

from services.notifier import handlers, operations
from services.notifier.bootstrap import build_dependencies
from shared.events import Event
from shared.logs import configure
from shared.messaging import run_consumer
from shared.retry import retry_until_done
from shared.settings import Settings
from shared.store import STORE_ERRORS


def main() -> None:
    """Consume the notifier's queue until killed; each message is acked after its inserts."""
    settings = Settings.from_env()
    configure("notifier-consumer", settings.log_level)
    d = build_dependencies(settings)
    retry_until_done(d.ensure_indexes, what="notifier indexes", errors=STORE_ERRORS)

    def handle(event: Event) -> None:
        if event.type == "unit.contacts_changed":
            handlers.on_contacts_changed(event, contacts=d.contacts)
        elif event.type.startswith("obligation."):
            handlers.on_obligation_event(
                event,
                ledger=d.ledger,
                plan=d.rt.plan,
                clock=d.rt.clock,
                wall=d.wall,
                contacts=d.contacts,
                mail=d.mail,
                facts=d.facts,
            )
        elif event.type in operations.LADDER_EVENTS:
            operations.on_ladder_event(
                event, ledger=d.ledger, plan=d.rt.plan, clock=d.rt.clock, wall=d.wall, mail=d.mail
            )

    run_consumer(settings, "notifier", handle, store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
