"""Intake's message entrypoint: learns the extensions Sở Nội vụ grants, for its own on-time answer, and the unit
lists it publishes (shared.plan_follower), so a unit a version adds can log in and report."""

from __future__ import annotations

from services.intake import handlers
from shared.events import ObligationExtended, PlanPublished
from shared.logs import configure
from shared.messaging import EventHandlers, bind_handlers, run_consumer
from shared.plan_follower import catch_up, on_plan_published
from shared.retry import retry_until_done
from shared.settings import Settings
from shared.store import STORE_ERRORS
from shared.topology import ConsumerQueue

EVENT_HANDLERS: EventHandlers = {
    ObligationExtended: [handlers.on_obligation_extended],
    PlanPublished: [on_plan_published],
}
QUEUE = ConsumerQueue.handling("intake", EVENT_HANDLERS)


def main() -> None:
    """Consume intake's queue until killed; each message is acked after its write."""
    # Imported here: the topology reads this module for its EVENT_HANDLERS in every process that declares it,
    # which needs none of the clients.
    from services.intake.bootstrap import build_dependencies

    settings = Settings.from_env()
    configure("intake-consumer", settings.log_level)
    d = build_dependencies(settings)
    retry_until_done(d.extensions.ensure_indexes, what="intake extension indexes", errors=STORE_ERRORS)
    catch_up(d.rt.plan_followers.values(), d.scheduler, settings.secret)  # versions whose event it missed
    dependencies = {
        "extensions": d.extensions,
        "plan_followers": d.rt.plan_followers,
        "scheduler": d.scheduler,
        "secret": settings.secret,
    }
    bound = bind_handlers(EVENT_HANDLERS, dependencies)
    run_consumer(settings, QUEUE, bound, store_errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
