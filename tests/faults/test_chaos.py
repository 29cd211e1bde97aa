"""Chaos, short (issue 11, "Done when" 13): the replay of 2019-H1's deadline weeks (26/05-21/06/2019: reminders,
the deadline, overdue and both escalations of the 29 units) on a stack of its own while a random dvcq process
is `kill -9`ed every 5-15 s, the broker is crashed (`kill -9` of beam.smp) and the store restarted. At the end
the invariants hold and no unit that reported on time was told it is late (`tests/chaos.py`, which
`deploy/chaos.sh` runs over the whole year)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.chaos import run_chaos


@pytest.mark.timeout(1500)
def test_the_h1_deadline_weeks_under_kills_a_broker_crash_and_a_store_restart_keep_the_invariants() -> None:
    report = run_chaos(start=date(2019, 5, 26), end=date(2019, 6, 21), seed=11, broker_restarts=1, store_restarts=1)
    print(report.summary())
    assert sum(report.kills.values()) >= 3, report.kills
    assert report.broker_restarts == ["kill -9"] and report.store_restarts == 1
    assert report.reports > 0 and report.alerts > 0
