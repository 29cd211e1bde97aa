"""Retention rules (README "Growth and retention"): day buckets, cutoffs, and the pruner's bounded walk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.notifier import handlers as notifier
from services.scheduler import handlers as scheduler
from shared.clock import FixedClock
from shared.retention import DayPruner, cutoff_day, day_bucket
from shared.settings import Settings, SettingsError
from shared.timerules import LOCAL_TZ
from tests.unit.fakes import FakeDayBuckets, FakePassStore

D = date(2019, 6, 1)


def days(n: int, per_day: int = 3) -> dict[date, list[str]]:
    return {D + timedelta(days=k): [f"{k}-{i:03d}" for i in range(per_day)] for k in range(n)}


def drain(pruner: DayPruner, cutoff: date, *, limit: int = 1000) -> int:
    """Step until the pruner has nothing to do; how many steps did work."""
    worked = 0
    while pruner.step(lambda: cutoff, 0.0):
        worked += 1
        assert worked < limit, "the pruner never finished"
    return worked


def test_a_bucket_is_the_utc_day_of_the_instant() -> None:
    assert day_bucket(datetime(2019, 6, 10, 6, 59, tzinfo=LOCAL_TZ)) == "2019-06-09"
    assert day_bucket(datetime(2019, 6, 10, 7, 0, tzinfo=LOCAL_TZ)) == "2019-06-10"


def test_the_cutoff_keeps_the_day_that_holds_now_minus_the_retention() -> None:
    now = datetime(2019, 7, 31, 12, 0, tzinfo=UTC)
    assert cutoff_day(now, timedelta(days=30)) == date(2019, 7, 1)


def test_the_pruner_deletes_the_days_before_the_cutoff_and_keeps_the_rest() -> None:
    buckets = FakeDayBuckets(days(10))
    drain(DayPruner(buckets), D + timedelta(days=4))
    assert [d for d, ids in buckets.items.items() if ids] == [D + timedelta(days=k) for k in range(4, 10)]
    assert buckets.mark == D + timedelta(days=4)
    assert [b[0] for b in buckets.batches] == [D + timedelta(days=k) for k in range(4)]  # oldest day first


def test_each_step_prunes_at_most_one_batch_and_goes_on_from_its_cursor() -> None:
    buckets = FakeDayBuckets(days(1, per_day=7))
    pruner = DayPruner(buckets, batch=3)
    assert pruner.step(lambda: D + timedelta(days=1), 0.0)
    assert len(buckets.items[D]) == 4 and buckets.mark is None  # the day is not done yet
    drain(pruner, D + timedelta(days=1))
    assert buckets.items[D] == [] and buckets.mark == D + timedelta(days=1)
    assert [(after, limit) for _, after, limit in buckets.batches] == [(None, 3), ("0-002", 3), ("0-005", 3)]


def test_the_walk_starts_at_the_stored_mark_and_reads_the_earliest_day_only_without_one() -> None:
    buckets = FakeDayBuckets(days(6))
    buckets.mark = D + timedelta(days=3)
    drain(DayPruner(buckets), D + timedelta(days=5))
    assert buckets.earliest_reads == 0
    assert {b[0] for b in buckets.batches} == {D + timedelta(days=3), D + timedelta(days=4)}
    assert buckets.items[D] != []  # before the mark: left alone (pruned before, by this rule's own record)


def test_an_idle_pruner_reads_nothing_until_its_idle_time_has_passed() -> None:
    buckets = FakeDayBuckets(days(3))
    pruner = DayPruner(buckets, idle_seconds=60.0)
    asked: list[int] = []

    def cutoff() -> date:
        asked.append(1)
        return D  # nothing before it

    assert not pruner.step(cutoff, 100.0)
    assert not pruner.step(cutoff, 159.0)
    assert len(asked) == 1 and buckets.batches == []
    assert pruner.step(lambda: D + timedelta(days=1), 160.0)


def test_the_agenda_keeps_what_the_last_pass_processed_within_the_retention_in_business_time() -> None:
    buckets = FakeDayBuckets(days(60))
    passes = FakePassStore()
    pruner = DayPruner(buckets)
    assert not scheduler.prune_agenda(pruner, passes=passes, keep=timedelta(days=30), real_now=0.0)
    assert buckets.batches == []  # no pass yet: nothing is known to be processed
    passes.set_processed_up_to(datetime.combine(D + timedelta(days=45), datetime.min.time(), UTC))
    pruner.look_at = 0.0
    while scheduler.prune_agenda(pruner, passes=passes, keep=timedelta(days=30), real_now=0.0):
        pass
    kept = [d for d, ids in buckets.items.items() if ids]
    assert kept[0] == D + timedelta(days=15) and kept[-1] == D + timedelta(days=59)


def test_attempt_logs_are_trimmed_by_the_delivery_day_on_the_wall_clock() -> None:
    buckets = FakeDayBuckets(days(100))
    wall = FixedClock(datetime.combine(D + timedelta(days=99), datetime.min.time(), UTC))
    pruner = DayPruner(buckets)
    while notifier.trim_attempt_logs(pruner, wall=wall, keep=timedelta(days=90), real_now=0.0):
        pass
    assert [d for d, ids in buckets.items.items() if ids][0] == D + timedelta(days=9)


def test_the_retention_settings_have_defaults_and_refuse_nonsense() -> None:
    env = {"DVCQ_SECRET": "s" * 32}
    settings = Settings.from_env(env)
    assert (settings.agenda_keep_days, settings.notify_attempts_keep_days, settings.notify_attempts_kept) == (30, 90, 1)
    assert Settings.from_env({**env, "DVCQ_AGENDA_KEEP_DAYS": "7"}).agenda_keep_days == 7
    with pytest.raises(SettingsError):
        Settings.from_env({**env, "DVCQ_NOTIFY_ATTEMPTS_KEPT": "0"})
