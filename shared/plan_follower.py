"""The unit list Sở Nội vụ published last, as the services beside the scheduler know it (issue 14, point 4).

The scheduler owns the plan's versions (services.scheduler.versions) and announces each with `plan.published`,
which carries only the codes it changes. Intake, the notifier and the aggregator each handle that event
(`on_plan_published`): they read the version with its unit list and contacts from the scheduler's API as a
service, and keep it in a `plan_versions` collection of their own database, in the scheduler's own document form
(`shared.plan_versions.version_document`, inserted once by `<plan>:v<number>`). So a unit a version adds can log
in, report and be chased, and the board and the documents give its name, in every service without a restart.

`PlanFollower.current()` is the plan file with the units of the latest version kept (`latest_plan`: whether or not
it is in force yet; each unit's own validity days say when it reports, as in the scheduler). It re-reads the
collection at most every REFRESH_SECONDS per process, and rebuilds the plan only when a newer version is there.
`Runtime.plan` answers with it (the scheduler's Runtime keeps the plan file: its versions are its own store).

Choices where the issue is silent:
- A version the scheduler cannot give while the event is handled (the scheduler down) fails the handler, which is
  retried, then dead-lettered; `dvcq dlq replay` after the scheduler is back applies it (README "Dead letters"),
  and so does each consumer's start, which keeps every published version it lacks (`catch_up`).
- The store unreachable when the plan is re-read keeps the plan last read (or the plan file) until the next
  refresh: a page or a consumer never fails for want of the version list alone. The re-read gives up after
  READ_SECONDS (not the client's server-selection timeout), and while the store is down a process tries it at most
  once per REFRESH_SECONDS, so an outage's answers (503) are hardly slower for it.
- Another plan's version (a scheduler running another plan) is ignored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from shared.auth import issue_token
from shared.clients import SchedulerClient, ServiceError
from shared.events import Event, PlanPublished
from shared.plan import Plan, unit_from_json
from shared.plan_versions import (
    PlanVersion,
    latest_plan,
    plan_in_force,
    version_document,
    version_from_document,
)
from shared.store import STORE_ERRORS, bounded, insert_once
from shared.timerules import parse_instant

log = logging.getLogger(__name__)

PLAN_VERSIONS = "plan_versions"  # the collection, in each service's own database (the scheduler's included)
REFRESH_SECONDS = 5.0
CATCH_UP_ERRORS: tuple[type[Exception], ...] = (ServiceError, *STORE_ERRORS)
READ_SECONDS = 1.0  # the re-read gives up after this (`shared.store.bounded`): the last plan read stays


class PlanFollower:
    """The published versions a service has kept, and the plan with the latest one's units (module docstring)."""

    def __init__(
        self,
        base: Plan,
        collection: Any,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        self.collection = collection
        self.refresh_seconds = refresh_seconds
        self.monotonic = monotonic
        self._plan = base
        self._versions: tuple[PlanVersion, ...] = ()
        self._in_force: dict[int, Plan] = {0: base}  # by the number of the version in force (0: the plan file)
        self._read_at: float | None = None

    def learn(self, version: PlanVersion) -> bool:
        """Keep a published version (once by its id); True when it is new here."""
        kept = insert_once(self.collection, version_document(version))
        self._read_at = None  # the next `current()` reads the collection again
        return kept

    def current(self) -> Plan:
        """The plan file with the units of the latest version kept (the plan file when there is none)."""
        self._refresh()
        return self._plan

    def in_force(self, day: date) -> Plan:
        """The plan in force on `day` (`shared.plan_versions.plan_in_force`): what a period's board, unit pages and
        documents show, the period taking the plan in force on its deadline day as the scheduler's obligations do,
        so a later version's renaming leaves earlier periods as they were."""
        self._refresh()
        effective = [v for v in self._versions if v.effective_from <= day]
        number = max((v.number for v in effective), default=0)
        if number not in self._in_force:
            self._in_force[number] = plan_in_force(self.base, effective, day)
        return self._in_force[number]

    def kept_numbers(self) -> set[int]:
        """The numbers of the versions kept in the store (a projection: no unit list is read)."""
        return {int(d["number"]) for d in self.collection.find({"plan": self.base.id}, {"number": 1})}

    def _refresh(self) -> None:
        """Read the kept versions again when REFRESH_SECONDS have passed: their numbers, then, when a newer one is
        there, the versions themselves (a plan has a handful)."""
        now = self.monotonic()
        if self._read_at is not None and now - self._read_at < self.refresh_seconds:
            return
        self._read_at = now  # before the read: other threads keep the last plan meanwhile, none waits on it too
        try:
            with bounded(READ_SECONDS):
                numbers = self.kept_numbers()
                # any version not read yet, an older one kept late (a dead letter replayed) included
                newer = numbers != {v.number for v in self._versions}
                docs = list(self.collection.find({"plan": self.base.id})) if newer else []
            if newer:
                self._versions = tuple(sorted((version_from_document(d) for d in docs), key=lambda v: v.number))
                self._plan = latest_plan(self.base, self._versions)
                self._in_force = {0: self.base}
        except STORE_ERRORS as exc:
            log.warning("plan versions not read; the last plan read stays", extra={"error": str(exc)})


def version_from_api(body: dict[str, Any]) -> PlanVersion:
    """A version as the scheduler's `GET /api/v1/plan/versions/<number>` answers it (with contacts)."""
    return PlanVersion(
        plan=str(body["plan"]),
        number=int(body["number"]),
        effective_from=date.fromisoformat(body["effective_from"]),
        published_at=parse_instant(body["published_at"]),
        published_by=str(body["published_by"]),
        units=tuple(unit_from_json(u) for u in body["units"]),
    )


def on_plan_published(
    event: Event, *, plan_followers: Mapping[str, PlanFollower], scheduler: SchedulerClient, secret: str
) -> bool:
    """Sở Nội vụ published a version of one of the stack's plans: read it from the scheduler and keep it with that
    plan's follower; True when new here."""
    data = PlanPublished.of(event)
    follower = plan_followers.get(data.plan)
    if follower is None:
        return False
    return follower.learn(version_from_api(scheduler.plan_version(_token(secret), data.number, plan=data.plan)))


def catch_up(plan_followers: Iterable[PlanFollower], scheduler: SchedulerClient, secret: str) -> int:
    """At a consumer's start: keep every version of each plan the scheduler has published that this service lacks
    (an event dead-lettered while the scheduler was down, a service added later); how many were new. Best effort:
    when the scheduler does not answer (or does not run a plan), nothing changes for that plan and the events
    still to come fill in."""
    token = _token(secret)
    learnt = 0
    for follower in plan_followers:
        plan = follower.base.id
        try:
            listed = scheduler.plan_versions(token, plan=plan)
            kept = follower.kept_numbers()
            missing = sorted(int(v["number"]) for v in listed if int(v["number"]) not in kept)
            learnt += sum(
                follower.learn(version_from_api(scheduler.plan_version(token, n, plan=plan))) for n in missing
            )
        except CATCH_UP_ERRORS as exc:
            log.warning("published plan versions not caught up", extra={"plan": plan, "error": str(exc)})
    return learnt


def _token(secret: str) -> str:
    return issue_token(secret, sub="plan-follower", role="service", ttl_seconds=60)
