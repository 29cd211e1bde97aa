"""The pass's agenda reads by bucket (minute, day, or the range for a long jump) on the real store: whatever the
window's width, exactly the entries in (after, now] are found; entries written before the buckets existed are
found once `backfill_agenda` gave them a bucketed copy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.scheduler.store import AGENDA, MongoObligationStore
from shared.settings import Settings
from shared.store import connect
from tests.support import Vhost

T0 = datetime(2019, 6, 10, 0, 59, 30, tzinfo=UTC)  # half a minute before 08:00 in Trà Vinh


@pytest.fixture
def db(settings: Settings) -> Iterator[Any]:
    client = connect(settings)
    yield client[settings.db_name("scheduler")]
    client.close()


@pytest.fixture
def settings() -> Iterator[Settings]:
    with Vhost("b") as v:
        yield Settings.from_env(v.env)


def _entries() -> list[tuple[str, datetime]]:
    """Entries around T0 at every scale: seconds, minutes, hours, days and months apart."""
    offsets = [timedelta(seconds=s) for s in (-31, -30, -1, 0, 1, 29, 30, 31, 89, 91)]
    offsets += [timedelta(minutes=m) for m in (-61, 2, 29, 31, 59, 61, 24 * 60)]
    offsets += [timedelta(days=d) for d in (-3, 1, 2, 30, 61, 63, 100, 400)]
    return [(f"U{i:02d}:2019-H1", T0 + offset) for i, offset in enumerate(offsets)]


@pytest.mark.parametrize(
    "width",
    [timedelta(seconds=0.2), timedelta(seconds=1), timedelta(minutes=1), timedelta(minutes=29), timedelta(hours=2),
     timedelta(days=2), timedelta(days=62), timedelta(days=63), timedelta(days=500)],
)  # fmt: skip
def test_every_window_finds_exactly_the_entries_in_it(db: Any, width: timedelta) -> None:
    obligations = MongoObligationStore(db)
    obligations.ensure_indexes()
    entries = _entries()
    obligations.appoint(entries)
    for after in (T0 - timedelta(seconds=30), T0, T0 + timedelta(seconds=0.5), T0 + timedelta(days=1)):
        now = after + width
        expected = sorted({key for key, at in entries if after < at <= now})
        assert obligations.due(after, now) == expected, (after, now)
    assert obligations.due(None, T0) == sorted({key for key, at in entries if at <= T0})


def test_entries_written_before_the_buckets_are_found_after_the_backfill(db: Any) -> None:
    obligations = MongoObligationStore(db)
    obligations.ensure_indexes()
    old = [("OLD1:2019-H1", T0 + timedelta(seconds=10)), ("OLD2:2019-H1", T0 + timedelta(days=5))]
    past = ("OLD0:2019-Q1", T0 - timedelta(days=40))
    db[AGENDA].insert_many([{"_id": f"{k}@{at.isoformat()}", "key": k, "at": at} for k, at in [*old, past]])
    narrow = (T0, T0 + timedelta(minutes=1))
    assert obligations.due(*narrow) == []  # the minute read cannot see an entry with no bucket

    assert obligations.backfill_agenda(T0 - timedelta(days=1)) == 2  # the past entry is behind the pass: left
    assert obligations.due(*narrow) == ["OLD1:2019-H1"]
    assert obligations.due(T0 + timedelta(days=4), T0 + timedelta(days=6)) == ["OLD2:2019-H1"]
    assert obligations.backfill_agenda(T0 - timedelta(days=1)) == 0  # once: the copies are there already
    # a jump of months reads the range, which sees every entry, bucketed or not
    assert obligations.due(T0 - timedelta(days=70), T0 + timedelta(days=6)) == sorted(k for k, _ in [*old, past])
