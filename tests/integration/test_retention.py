"""Growth is bounded on the real store (README "Growth and retention"): the scheduler's processed agenda entries
and the notifier's delivered attempt logs are pruned after their retention; what is recent, the ledger and the
events feeds stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifier import handlers as notifier
from services.notifier.domain import DEAD, DELIVERED, DeliveryFailed, Notification, RetryPolicy
from services.notifier.store import ATTEMPTS, CLAIMS, MongoAttemptLogStore, MongoLedgerStore
from services.scheduler import handlers as scheduler
from services.scheduler.store import AGENDA, OUTBOX, MongoAgendaStore, MongoObligationStore, MongoPassStore
from shared.clock import FixedClock
from shared.messaging import Publisher
from shared.outbox import read_events, relay_once
from shared.plan import load_plan
from shared.plan_versions import VersionedPlan
from shared.retention import DayPruner
from shared.settings import ROOT, Settings
from shared.store import connect
from tests.support import Vhost

T0 = datetime(2019, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Iterator[Settings]:
    with Vhost("r") as v:
        yield Settings.from_env(v.env)


def _drain(step: Any) -> int:
    """Run a pruning step until it has nothing to do; how many steps did work."""
    worked = 0
    while step():
        worked += 1
        assert worked < 500, "pruning never finished"
    return worked


def test_processed_agenda_entries_go_after_the_retention_and_the_pass_still_finds_what_is_due(
    settings: Settings,
) -> None:
    db = connect(settings)[settings.db_name("scheduler")]
    obligations, passes = MongoObligationStore(db), MongoPassStore(db)
    obligations.ensure_indexes()
    plan = load_plan(ROOT / "plans" / "tra-vinh-2019")
    old = [(f"OLD{i}:2019-Q1", T0 + timedelta(hours=i)) for i in range(25)]  # one day, more than a batch
    recent = [(f"NEW{i}:2019-Q2", T0 + timedelta(days=35, hours=i)) for i in range(3)]
    future = [(f"LATER{i}:2019-H1", T0 + timedelta(days=80)) for i in range(3)]
    obligations.appoint(old + recent + future)
    passes.apply_watermark(datetime(9999, 1, 1, tzinfo=UTC))
    # a pass has run before (the 2019 year opened long ago), so these passes read only the entries written here
    passes.set_processed_up_to(T0 - timedelta(hours=2))
    clock = FixedClock(T0 - timedelta(hours=1))
    scheduler.run_pass(plans=[VersionedPlan(plan)], obligations=obligations, passes=passes, clock=clock)
    outbox = db[OUTBOX].count_documents({})
    pruner = DayPruner(MongoAgendaStore(db), batch=10)
    keep = timedelta(days=30)

    def prune() -> bool:
        return scheduler.prune_agenda(pruner, passes=passes, keep=keep, real_now=0.0)

    assert _drain(prune) == 0  # nothing processed long enough ago: the pass stands before every entry
    clock.advance(timedelta(days=40))  # business time: the old entries are 40 days behind the pass
    scheduler.run_pass(plans=[VersionedPlan(plan)], obligations=obligations, passes=passes, clock=clock)
    pruner.look_at = 0.0
    assert _drain(prune) >= 3  # 25 entries in batches of 10

    left = {d["key"] for d in db[AGENDA].find({}, {"key": 1})}
    assert left == {key for key, _ in recent + future}
    assert MongoAgendaStore(db).pruned_from() == (T0 + timedelta(days=10)).date()
    assert obligations.due(passes.processed_up_to(), T0 + timedelta(days=90)) == sorted(k for k, _ in future)
    assert db[OUTBOX].count_documents({}) >= outbox  # the scheduler's transitions (its feed's source) stay


class Flaky:
    """Refuses the first `failures` sends of each notification, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: dict[str, int] = {}

    def send(self, notification: Notification) -> None:
        self.sent[notification.id] = self.sent.get(notification.id, 0) + 1
        if self.sent[notification.id] <= self.failures:
            raise DeliveryFailed("450 try later")


def _notification(nid: str, at: datetime) -> Notification:
    return Notification(
        id=nid,
        event_id=f"ev-{nid}",
        event_type="obligation.reminded",
        agency="H_CAUKE",
        period="2019-H1",
        level="reminder",
        recipient="head@cauke.example",
        recipient_role="head",
        recipient_name="Trưởng phòng",
        channel="email",
        status="pending",
        decided_at=at,
        subject="Nhắc hạn",
        text="Nhắc hạn nộp báo cáo.",
        message_id=f"<{nid}@travinh.example>",
        next_attempt_at=at,
    )


def test_delivered_attempt_logs_are_trimmed_after_the_retention_and_the_ledger_and_feed_stay(
    settings: Settings,
) -> None:
    db = connect(settings)[settings.db_name("notifier")]
    ledger = MongoLedgerStore(db)
    ledger.ensure_indexes()
    policy = RetryPolicy(base_seconds=0.0, cap_seconds=0.0, max_attempts=3, lease_seconds=120.0)
    wall = FixedClock(T0)
    ledger.record_many([_notification("old", T0), _notification("dead", T0)])
    transports = {"old": Flaky(2), "dead": Flaky(9)}  # two refusals, then delivered; refused until dead
    for _ in range(3):
        for n in ledger.due(wall.now(), 10):
            notifier.deliver(n, ledger=ledger, transport=transports[n.id], wall=wall, policy=policy)
            wall.advance(timedelta(seconds=1))
    wall.advance(timedelta(days=60))
    ledger.record(_notification("recent", wall.now()))
    flaky = Flaky(2)
    for _ in range(3):
        for n in ledger.due(wall.now(), 10):
            notifier.deliver(n, ledger=ledger, transport=flaky, wall=wall, policy=policy)
    publisher = Publisher(settings)
    assert relay_once(db, [ATTEMPTS], publisher) == 9
    feed = [e["id"] for e in read_events(db, after=None, limit=100)]
    before = {n: ledger.get(n) for n in ("old", "dead", "recent")}
    assert [n.status if n else None for n in before.values()] == [DELIVERED, DEAD, DELIVERED]
    assert db[CLAIMS].count_documents({"notification_id": "old"}) == 3

    wall.advance(timedelta(days=40))  # "old" was delivered 100 days ago, "recent" 40
    pruner = DayPruner(MongoAttemptLogStore(db, kept=1))
    assert _drain(lambda: notifier.trim_attempt_logs(pruner, wall=wall, keep=timedelta(days=90), real_now=0.0))

    attempts = ledger.attempts_of(["old", "dead", "recent"])
    assert [a.number for a in attempts["old"]] == [3] and attempts["old"][0].outcome == DELIVERED
    assert [a.number for a in attempts["recent"]] == [1, 2, 3]
    assert [a.number for a in attempts["dead"]] == [1, 2, 3]  # never delivered: its failures stay
    assert db[CLAIMS].count_documents({"notification_id": "old"}) == 0
    assert db[CLAIMS].count_documents({"notification_id": "recent"}) == 3
    assert {n: ledger.get(n) for n in before} == before  # the ledger: who, what, when, how many attempts
    assert [e["id"] for e in read_events(db, after=None, limit=100)] == feed  # every event stays in the feed
