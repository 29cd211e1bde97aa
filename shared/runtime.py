"""What every dvcq process builds first: settings, its store client and database, the plan and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shared.clock import SimulatedClock, SystemClock, build_clock
from shared.health import dead_letter_detail, process_detail
from shared.messaging import Publisher
from shared.plan import Plan, load_plan
from shared.plan_follower import PLAN_VERSIONS, PlanFollower
from shared.ratelimit import RATE_LIMITS, RateLimiter
from shared.settings import Settings
from shared.store import connect


@dataclass
class Runtime:
    """The shared part of a service's dependencies; build it inside the process that uses it."""

    service: str
    settings: Settings
    client: Any
    plan_file: Plan
    clock: SystemClock | SimulatedClock
    broker: Publisher
    follows_versions: bool = True

    @classmethod
    def build(cls, settings: Settings, service: str, *, follows_versions: bool = True) -> Runtime:
        """Connect to the store (lazily: pymongo connects on first use) and load the plan. `follows_versions`:
        `plan` is the one with the latest unit list published (shared.plan_follower); the scheduler, which owns
        the versions, says False and keeps the plan file."""
        client = connect(settings, app_name=service)
        plan = load_plan(settings.plan_path)
        clock = build_clock(settings, client, start=plan.issued_at)
        return cls(service, settings, client, plan, clock, Publisher(settings), follows_versions)

    @cached_property
    def plan_follower(self) -> PlanFollower:
        """The published versions this service keeps in its own database, and the plan with the latest one."""
        return PlanFollower(self.plan_file, self.db[PLAN_VERSIONS])

    @property
    def plan(self) -> Plan:
        """The plan this service works with: the plan file with the latest unit list Sở Nội vụ published, read
        again at most every few seconds (shared.plan_follower); the plan file itself for the scheduler."""
        return self.plan_follower.current() if self.follows_versions else self.plan_file

    def plan_for(self, period: str) -> Plan:
        """The plan a period's pages and documents show: the one in force on its deadline day (a later version's
        renaming leaves earlier periods as they were); `plan` for a key that is no period of the plan."""
        plan = self.plan
        found = plan.period(period)
        if found is None or not self.follows_versions:
            return plan
        return self.plan_follower.in_force(found.deadline_day)

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
