"""What every dvcq process builds first: settings, its store client and database, the plan and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shared.clock import SimulatedClock, SystemClock, build_clock
from shared.events import Event
from shared.health import dead_letter_detail, process_detail
from shared.messaging import Publisher
from shared.plan import Plan, first_issued_at, load_plans
from shared.plan_follower import PLAN_VERSIONS, PlanFollower
from shared.ratelimit import RATE_LIMITS, RateLimiter
from shared.revocation import REVOKED, RevocationList
from shared.settings import Settings
from shared.store import connect


@dataclass
class Runtime:
    """The shared part of a service's dependencies; build it inside the process that uses it.

    A stack runs one plan or several at once (`DVCQ_PLAN`, `shared.plan.load_plans`): `plan_files` in that order,
    each unit code in one of them. `plan` is the one in force today (the default of the pages and of what names
    no plan), `plan_of(agency)` the one a unit reports under, `plan_for(period, plan_id)` the one a period's pages
    and documents show."""

    service: str
    settings: Settings
    client: Any
    plan_files: tuple[Plan, ...]
    clock: SystemClock | SimulatedClock
    broker: Publisher
    follows_versions: bool = True

    @classmethod
    def build(cls, settings: Settings, service: str, *, follows_versions: bool = True) -> Runtime:
        """Connect to the store (lazily: pymongo connects on first use) and load the plans. `follows_versions`:
        each plan is the one with the latest unit list published (shared.plan_follower); the scheduler, which
        owns the versions, says False and keeps the plan files."""
        client = connect(settings, app_name=service)
        plans = load_plans(settings.plan_paths)
        clock = build_clock(settings, client, start=first_issued_at(plans))
        return cls(service, settings, client, plans, clock, Publisher(settings), follows_versions)

    @property
    def plan_file(self) -> Plan:
        """The plan file of the plan in force today (`plan`, without the published versions)."""
        return self._default(self.plan_files)

    @cached_property
    def plan_followers(self) -> dict[str, PlanFollower]:
        """Each plan's published versions this service keeps in its own database, by plan id."""
        return {plan.id: PlanFollower(plan, self.db[PLAN_VERSIONS]) for plan in self.plan_files}

    @property
    def plans(self) -> tuple[Plan, ...]:
        """Every plan the stack runs, each with the latest unit list Sở Nội vụ published, read again at most every
        few seconds (shared.plan_follower); the plan files themselves for the scheduler."""
        if not self.follows_versions:
            return self.plan_files
        return tuple(self.plan_followers[plan.id].current() for plan in self.plan_files)

    @property
    def plan(self) -> Plan:
        """The plan in force today: the last listed that has taken effect by business time now (the first when
        none has); the only one on a stack that runs one plan."""
        return self._default(self.plans)

    def _default(self, plans: tuple[Plan, ...]) -> Plan:
        if len(plans) == 1:
            return plans[0]
        now = self.clock.now()
        return next((p for p in reversed(plans) if p.takes_effect_at <= now), plans[0])

    def plan_named(self, plan_id: str) -> Plan | None:
        """The plan with this id (its latest unit list), None when the stack does not run it."""
        return next((p for p in self.plans if p.id == plan_id), None)

    def plan_of(self, agency: str) -> Plan:
        """The plan a unit reports under: the one whose latest list has its code (`plan` for a code none has)."""
        plans = self.plans
        return next((p for p in plans if p.unit(agency) is not None), self._default(plans))

    def unit_plan_for(self, agency: str, period: str) -> Plan:
        """The plan a unit's report for a period goes by: the unit's plan (`plan_of`) as in force on the period's
        deadline day (`plan_for`)."""
        return self.plan_for(period, self.plan_of(agency).id)

    def plan_of_event(self, event: Event) -> Plan:
        """The plan an event is about: its unit's (`agency`, or `code` for a unit's own events), else `plan`."""
        code = event.data.get("agency") or event.data.get("code")
        return self.plan_of(code) if isinstance(code, str) else self.plan

    def plan_for(self, period: str, plan_id: str | None = None) -> Plan:
        """The plan a period's pages and documents show: plan `plan_id` (default: `plan` when the period is one of
        its, else the first that has it) as in force on the period's deadline day, so a later version's renaming
        leaves earlier periods as they were; `plan` for a key that is no period of any plan."""
        default = self.plan
        if plan_id is not None:
            plan = self.plan_named(plan_id) or default
        elif default.period(period) is not None:
            plan = default
        else:
            plan = next((p for p in self.plans if p.period(period) is not None), default)
        found = plan.period(period)
        if found is None or not self.follows_versions:
            return plan
        return self.plan_followers[plan.id].in_force(found.deadline_day)

    @property
    def db(self) -> Any:
        """This service's own database."""
        return self.client[self.settings.db_name(self.service)]

    @cached_property
    def limiter(self) -> RateLimiter:
        """This process's rate limiter (`shared.ratelimit`), counting in a database of the service's own beside its
        main one (`<prefix><service>_ratelimit`), so the counters' churn stays apart from the service's own data
        (chosen when FerretDB's SQLite backend had one writer per database; kept: it costs nothing on PostgreSQL)."""
        return RateLimiter(self.client[self.settings.db_name(f"{self.service}_ratelimit")][RATE_LIMITS])

    @cached_property
    def revocations(self) -> RevocationList:
        """The tokens logged out, in the one database every service reads (`<prefix>sessions`)."""
        return RevocationList(self.client[self.settings.db_name("sessions")][REVOKED])

    def check_store(self) -> None:
        """Ping the store."""
        self.client.admin.command("ping")

    def check_broker(self) -> None:
        """Check the broker on this process's own connection (opened lazily, so after any fork)."""
        self.broker.ping()

    def web_checks(self, *, broker_required: bool = True) -> dict[str, Any]:
        """Keyword arguments for shared.web.create_service_app: readiness checks and client provenance."""
        broker = {"broker": self.check_broker}
        return {
            "ready_checks": {"store": self.check_store, **(broker if broker_required else {})},
            "info_checks": {} if broker_required else broker,
            "clients": {
                "store": lambda: getattr(self.client, "created_in_pid", None),
                "broker": lambda: self.broker.connected_in_pid,
            },
            "details": {
                "dead_letters": lambda: dead_letter_detail(self.broker, self.service),
                "processes": lambda: process_detail(self.service),
            },
        }
