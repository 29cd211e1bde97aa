"""What intake, the notifier and the aggregator know of the unit lists Sở Nội vụ publishes (shared.plan_follower):
a version read from the scheduler's API as it answers, kept once, and the plan with the latest one, re-read at
most every few seconds; the store unreachable keeps the plan last read."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import jwt
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from services.scheduler.plan_api import _version_json
from services.scheduler.versions import published_event
from shared.auth import verify_token
from shared.clients import ServiceError
from shared.plan import load_plan
from shared.plan_follower import PlanFollower, catch_up, on_plan_published, version_from_api
from shared.plan_versions import PlanVersion, diff_units
from shared.settings import ROOT

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
SECRET = "s" * 32


class FakeCollection:
    """Equality `find` on one field, `find_one` by `_id`, `insert_one` refusing a taken `_id`; `down` fails reads."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.reads = 0
        self.down = False

    def insert_one(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("taken")
        self.docs[doc["_id"]] = copy.deepcopy(doc)

    def find(self, query: dict[str, Any], projection: Any = None) -> list[dict[str, Any]]:
        self.reads += 1
        if self.down:
            raise ServerSelectionTimeoutError("down")
        return [copy.deepcopy(d) for d in self.docs.values() if all(d.get(k) == v for k, v in query.items())]

    def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        found = self.find(query)
        return found[0] if found else None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def version(number: int, *extra: str) -> PlanVersion:
    """The plan's units plus departments named `extra`, as version `number`."""
    base = PLAN.units[0]
    added = tuple(
        replace(base, code=code, name=f"Sở mới {code}", order=100 + i, valid_from=date(2019, 7, 1))
        for i, code in enumerate(extra)
    )
    return PlanVersion(
        plan=PLAN.id,
        number=number,
        effective_from=date(2019, 7, 1),
        published_at=datetime(2019, 6, 12, 2, 0, tzinfo=UTC),
        published_by="chuyenvien@snv",
        units=(*PLAN.units, *added),
    )


class FakeScheduler:
    """The scheduler's `GET /api/v1/plan/versions/<n>` as a service reads it (with contacts)."""

    def __init__(self, *versions: PlanVersion) -> None:
        self.versions = {v.number: v for v in versions}
        self.tokens: list[str] = []

    def plan_version(self, token: str, number: int, *, plan: str | None = None) -> dict[str, Any]:
        self.tokens.append(token)
        assert plan in (None, PLAN.id)
        return _version_json(self.versions[number], with_units=True, with_contacts=True)


def test_a_version_as_the_api_answers_it_reads_back_whole():
    v1 = version(1, "S_NGOAIVU")
    assert version_from_api(_version_json(v1, with_units=True, with_contacts=True)) == v1


def test_without_a_version_the_plan_is_the_plan_file():
    assert PlanFollower(PLAN, FakeCollection()).current() is PLAN


def test_the_event_keeps_the_version_once_and_the_plan_has_its_units():
    kept, clock = FakeCollection(), Clock()
    follower = PlanFollower(PLAN, kept, monotonic=clock)
    assert follower.current().unit("S_NGOAIVU") is None
    v1 = version(1, "S_NGOAIVU")
    event = published_event(v1, diff_units(PLAN.units, v1.units))
    scheduler = FakeScheduler(v1)
    assert on_plan_published(event, plan_followers={PLAN.id: follower}, scheduler=scheduler, secret=SECRET) is True  # type: ignore[arg-type]
    assert on_plan_published(event, plan_followers={PLAN.id: follower}, scheduler=scheduler, secret=SECRET) is False  # type: ignore[arg-type]
    assert list(kept.docs) == [f"{PLAN.id}:v1"]
    unit = follower.current().unit("S_NGOAIVU")  # learnt at once by this process, without waiting for the refresh
    assert unit is not None and unit.name == "Sở mới S_NGOAIVU" and unit.contacts == PLAN.units[0].contacts


def test_another_process_sees_a_version_within_the_refresh_and_the_latest_wins():
    kept, clock = FakeCollection(), Clock()
    reader = PlanFollower(PLAN, kept, refresh_seconds=5.0, monotonic=clock)
    writer = PlanFollower(PLAN, kept)
    assert reader.current() is PLAN
    writer.learn(version(2, "S_A", "S_B"))
    writer.learn(version(1, "S_A"))
    clock.now += 4.9
    assert reader.current() is PLAN  # read at most every 5 s
    reads = kept.reads
    clock.now += 0.2
    plan = reader.current()
    assert plan.unit("S_A") is not None and plan.unit("S_B") is not None  # version 2, the highest number
    assert reader.current() is plan and kept.reads == reads + 2  # the numbers, then the one version


def test_the_store_down_keeps_the_plan_last_read_and_tries_again_at_the_next_refresh():
    kept, clock = FakeCollection(), Clock()
    follower = PlanFollower(PLAN, kept, refresh_seconds=5.0, monotonic=clock)
    follower.learn(version(1, "S_A"))
    plan = follower.current()
    kept.down = True
    clock.now += 10
    reads = kept.reads
    assert follower.current() is plan and kept.reads == reads + 1  # tried once, failed: the last plan stays
    assert follower.current() is plan and follower.in_force(date(2019, 9, 10)) is not None
    assert kept.reads == reads + 1  # a request using the plan many times pays the store's timeout once
    kept.down = False
    writer = PlanFollower(PLAN, kept)
    writer.learn(version(2, "S_A", "S_B"))
    assert follower.current().unit("S_B") is None
    clock.now += 5
    assert follower.current().unit("S_B") is not None


def test_another_plans_version_is_ignored():
    v1 = replace(version(1, "S_A"), plan="another-plan")
    event = published_event(v1, ())
    follower = PlanFollower(PLAN, FakeCollection())
    scheduler = FakeScheduler()
    assert on_plan_published(event, plan_followers={PLAN.id: follower}, scheduler=scheduler, secret=SECRET) is False  # type: ignore[arg-type]
    assert scheduler.tokens == [] and follower.current() is PLAN


def test_the_version_is_read_with_a_short_lived_service_token():
    v1 = version(1, "S_A")
    scheduler = FakeScheduler(v1)
    event = published_event(v1, diff_units(PLAN.units, v1.units))
    follower = PlanFollower(PLAN, FakeCollection())
    on_plan_published(event, plan_followers={PLAN.id: follower}, scheduler=scheduler, secret=SECRET)  # type: ignore[arg-type]
    assert verify_token(SECRET, scheduler.tokens[0]).role == "service"
    claims = jwt.decode(scheduler.tokens[0], options={"verify_signature": False})
    assert 0 < claims["exp"] - claims["iat"] <= 60


def test_a_period_takes_the_list_in_force_on_its_deadline_day_so_a_renaming_leaves_earlier_periods_alone():
    follower = PlanFollower(PLAN, FakeCollection())
    first = PLAN.units[0]
    renamed = replace(version(1), units=(replace(first, name="Tên mới từ 01/7/2019"), *PLAN.units[1:]))
    follower.learn(renamed)
    assert follower.in_force(date(2019, 6, 10)).unit(first.code).name == first.name  # 2019-H1's deadline day
    assert follower.in_force(date(2019, 9, 10)).unit(first.code).name == "Tên mới từ 01/7/2019"  # 2019-Q3's
    assert follower.current().unit(first.code).name == "Tên mới từ 01/7/2019"
    assert follower.in_force(date(2019, 6, 10)) is follower.in_force(date(2019, 6, 11))  # built once per version


class ListingScheduler(FakeScheduler):
    """The scheduler's version list too (`GET /api/v1/plan/versions`), or down."""

    down = False

    def plan_versions(self, token: str, *, plan: str | None = None) -> list[dict[str, Any]]:
        if self.down:
            raise ServiceError(503)
        return [{"number": n} for n in sorted(self.versions)]


def test_a_consumer_start_keeps_the_versions_whose_event_it_missed():
    kept = FakeCollection()
    follower = PlanFollower(PLAN, kept)
    follower.learn(version(1, "S_A"))
    scheduler = ListingScheduler(version(1, "S_A"), version(2, "S_A", "S_B"))
    scheduler.down = True
    assert catch_up([follower], scheduler, SECRET) == 0 and scheduler.tokens == []  # type: ignore[arg-type]
    scheduler.down = False
    assert catch_up([follower], scheduler, SECRET) == 1  # type: ignore[arg-type]
    assert sorted(kept.docs) == [f"{PLAN.id}:v1", f"{PLAN.id}:v2"] and len(scheduler.tokens) == 1  # v2 only read
    assert follower.current().unit("S_B") is not None
    assert catch_up([follower], scheduler, SECRET) == 0  # type: ignore[arg-type]


def test_an_older_version_kept_after_a_newer_one_was_read_is_taken_into_account():
    """v1's event was dead-lettered, v2 learnt and read, then v1 replayed: the periods v1 governs follow it."""
    kept, clock = FakeCollection(), Clock()
    reader = PlanFollower(PLAN, kept, refresh_seconds=5.0, monotonic=clock)
    first = PLAN.units[0]
    v1 = replace(version(1), units=(replace(first, name="Tên từ 01/7/2019"), *PLAN.units[1:]))
    v2 = replace(version(2), effective_from=date(2019, 10, 1))
    PlanFollower(PLAN, kept).learn(v2)
    assert reader.in_force(date(2019, 9, 10)).unit(first.code).name == first.name
    PlanFollower(PLAN, kept).learn(v1)
    clock.now += 5
    assert reader.in_force(date(2019, 9, 10)).unit(first.code).name == "Tên từ 01/7/2019"
