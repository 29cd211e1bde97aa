"""Notifier's message entrypoint: decides who hears of each obligation event and keeps the units' staff lists.

It only inserts notifications (pending, due at once); the sender process delivers them, so no slow SMTP work
ever runs on this process's broker connection.
"""

from __future__ import annotations

from services.notifier import handlers, operations
from shared.events import (
    OBLIGATION_EVENTS,
    PlanPublished,
    SchedulerLadderHeld,
    SchedulerLadderResumed,
    UnitContactsChanged,
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
    UnitContactsChanged: [handlers.on_contacts_changed],
    SchedulerLadderHeld: [operations.on_ladder_event],
    SchedulerLadderResumed: [operations.on_ladder_event],
    PlanPublished: [on_plan_published],
}
# Releases before the EVENT_HANDLERS table bound `obligation.*`: removed when the topology is declared.
QUEUE = ConsumerQueue.handling("notifier", EVENT_HANDLERS, retired_bindings=("obligation.*",))


def main() -> None:
    """Consume the notifier's queue until killed; each message is acked after its inserts."""
    # Imported here: the topology reads this module for its EVENT_HANDLERS in every process that declares it,
    # which needs none of the clients.
    from services.notifier.bootstrap import build_dependencies

    settings = Settings.from_env()
    configure("notifier-consumer", settings.log_level)
    d = build_dependencies(settings)
    retry_until_done(d.ensure_indexes, what="notifier indexes", errors=STORE_ERRORS)
    catch_up(d.rt.plan_followers.values(), d.scheduler, settings.secret)  # versions whose event it missed
    dependencies = {
        "ledger": d.ledger,
        "plan": Live(d.rt.plan_of_event),  # its unit's plan, latest unit list published (shared.plan_follower)
        "plan_followers": d.rt.plan_followers,
        "scheduler": d.scheduler,
        "secret": settings.secret,
        "clock": d.rt.clock,
        "wall": d.wall,
        "contacts": d.contacts,
        "mail": d.mail,
        "facts": d.facts,
    }
    run_consumer(settings, QUEUE, bind_handlers(EVENT_HANDLERS, dependencies), store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
