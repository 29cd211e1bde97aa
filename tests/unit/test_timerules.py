"""The pure time rules: local-midnight deadlines, the on-time verdict, generations, working days."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.plan import load_plan
from shared.timerules import (
    LOCAL_TZ,
    Deadline,
    at_local,
    days_late,
    days_overdue,
    deadline_day,
    deadline_in_force,
    due_before_for_deadline_day,
    is_on_time,
    is_working_day,
    local_date,
    local_midnight,
    next_working_day,
    parse_instant,
    previous_working_day,
)

PLAN = load_plan(Path(__file__).resolve().parents[2] / "plans" / "tra-vinh-2019")
HOLIDAYS = PLAN.holidays
H1_DUE = due_before_for_deadline_day(date(2019, 6, 10))
H1 = [Deadline(generation=1, due_before=H1_DUE)]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def test_due_before_of_a_deadline_day_is_local_midnight_starting_the_next_day():
    assert H1_DUE == datetime(2019, 6, 10, 17, 0, tzinfo=UTC)
    assert H1_DUE.astimezone(LOCAL_TZ) == local(2019, 6, 11, 0, 0)
    assert H1_DUE.utcoffset() == timedelta(0)


def test_local_midnight_is_returned_in_utc():
    assert local_midnight(date(2019, 3, 30)) == datetime(2019, 3, 29, 17, 0, tzinfo=UTC)
    assert local_midnight(date(2019, 3, 30)).tzinfo is UTC


def test_deadline_day_is_the_local_day_before_due_before():
    assert deadline_day(H1_DUE) == date(2019, 6, 10)
    assert deadline_day(local_midnight(date(2019, 3, 30))) == date(2019, 3, 29)


def test_last_second_of_the_deadline_day_is_on_time():
    assert is_on_time(local(2019, 6, 10, 23, 59, 59), H1) is True


def test_local_midnight_after_the_deadline_day_is_late():
    assert is_on_time(local(2019, 6, 11, 0, 0, 0), H1) is False


def test_one_microsecond_before_due_before_is_on_time():
    assert is_on_time(H1_DUE - timedelta(microseconds=1), H1) is True


def test_verdict_does_not_depend_on_the_offset_the_instant_is_written_in():
    late_in_utc = datetime(2019, 6, 10, 17, 0, 1, tzinfo=UTC)
    assert is_on_time(late_in_utc, H1) is False
    assert is_on_time(late_in_utc.astimezone(LOCAL_TZ), H1) is False


def test_later_generation_is_not_in_force_before_its_effective_from():
    granted = local(2019, 6, 12, 9, 0)
    gens = [*H1, Deadline(generation=2, due_before=local_midnight(date(2019, 6, 21)), effective_from=granted)]
    assert deadline_in_force(granted - timedelta(microseconds=1), gens).generation == 1
    assert deadline_in_force(granted, gens).generation == 2
    assert deadline_in_force(granted + timedelta(days=3), gens).generation == 2


def test_report_received_before_the_extension_was_granted_is_judged_on_the_old_deadline():
    granted = local(2019, 6, 12, 9, 0)
    gens = [*H1, Deadline(generation=2, due_before=local_midnight(date(2019, 6, 21)), effective_from=granted)]
    assert is_on_time(local(2019, 6, 11, 8, 0), gens) is False
    assert is_on_time(local(2019, 6, 13, 8, 0), gens) is True


def test_deadline_in_force_ignores_the_order_generations_are_given_in():
    gens = [
        Deadline(generation=3, due_before=local_midnight(date(2019, 7, 1)), effective_from=local(2019, 6, 25)),
        Deadline(generation=2, due_before=local_midnight(date(2019, 6, 21)), effective_from=local(2019, 6, 5)),
        *H1,
    ]
    assert deadline_in_force(local(2019, 6, 1), gens).generation == 1
    assert deadline_in_force(local(2019, 6, 10), gens).generation == 2
    assert deadline_in_force(local(2019, 6, 26), gens).generation == 3


def test_deadline_in_force_needs_at_least_one_deadline():
    with pytest.raises(ValueError):
        deadline_in_force(local(2019, 6, 1), [])


def test_days_late_is_zero_when_on_time():
    assert days_late(local(2019, 6, 10, 23, 59), H1_DUE) == 0


def test_days_late_counts_local_dates_not_utc_dates():
    # 00:30 local on 11/6 is still 10/6 in UTC, yet one local day late.
    received = datetime(2019, 6, 10, 17, 30, tzinfo=UTC)
    assert days_late(received, H1_DUE) == 1
    assert days_late(local(2019, 6, 11, 23, 59), H1_DUE) == 1
    assert days_late(local(2019, 6, 17, 8, 0), H1_DUE) == 7


def test_days_overdue_is_today_minus_the_deadline_day():
    assert days_overdue(date(2019, 6, 11), H1_DUE) == 1
    assert days_overdue(date(2019, 6, 20), H1_DUE) == 10


def test_days_overdue_is_never_negative():
    assert days_overdue(date(2019, 6, 10), H1_DUE) == 0
    assert days_overdue(date(2019, 6, 1), H1_DUE) == 0


def test_local_date_uses_asia_ho_chi_minh():
    assert local_date(datetime(2019, 6, 10, 17, 0, tzinfo=UTC)) == date(2019, 6, 11)
    assert local_date(datetime(2019, 6, 10, 16, 59, tzinfo=UTC)) == date(2019, 6, 10)


def test_sunday_before_h1_deadline_moves_back_to_friday():
    assert previous_working_day(date(2019, 6, 9), HOLIDAYS) == date(2019, 6, 7)


def test_saturday_moves_forward_to_monday():
    assert next_working_day(date(2019, 6, 15), HOLIDAYS) == date(2019, 6, 17)
    assert next_working_day(date(2019, 3, 30), HOLIDAYS) == date(2019, 4, 1)


def test_a_working_day_is_its_own_previous_and_next_working_day():
    assert previous_working_day(date(2019, 6, 10), HOLIDAYS) == date(2019, 6, 10)
    assert next_working_day(date(2019, 6, 10), HOLIDAYS) == date(2019, 6, 10)


def test_plan_holidays_are_not_working_days():
    assert is_working_day(date(2019, 4, 15), HOLIDAYS) is False  # Giỗ Tổ Hùng Vương (Monday)
    assert is_working_day(date(2019, 4, 15), ()) is True
    assert is_working_day(date(2019, 9, 2), HOLIDAYS) is False


def test_working_day_shifts_skip_holiday_runs_and_weekends():
    assert next_working_day(date(2019, 4, 27), HOLIDAYS) == date(2019, 5, 2)
    assert previous_working_day(date(2019, 5, 1), HOLIDAYS) == date(2019, 4, 26)
    assert previous_working_day(date(2019, 2, 10), HOLIDAYS) == date(2019, 2, 1)
    assert next_working_day(date(2019, 8, 31), HOLIDAYS) == date(2019, 9, 3)
    assert previous_working_day(date(2019, 4, 15), HOLIDAYS) == date(2019, 4, 12)


def test_at_local_gives_the_utc_instant_of_a_local_time():
    assert at_local(date(2019, 6, 3), 8) == datetime(2019, 6, 3, 1, 0, tzinfo=UTC)
    assert at_local(date(2019, 6, 3), 7, 30) == datetime(2019, 6, 3, 0, 30, tzinfo=UTC)


def test_parse_instant_converts_to_utc():
    assert parse_instant("2019-06-11T00:00:00+07:00") == datetime(2019, 6, 10, 17, 0, tzinfo=UTC)
    assert parse_instant("2019-06-10T17:00:00Z") == datetime(2019, 6, 10, 17, 0, tzinfo=UTC)
    assert parse_instant("2019-06-10T17:00:00Z").tzinfo is UTC


def test_naive_text_is_refused_by_parse_instant():
    with pytest.raises(ValueError):
        parse_instant("2019-06-11T00:00:00")


def test_naive_received_at_is_refused_by_is_on_time():
    with pytest.raises(ValueError):
        is_on_time(datetime(2019, 6, 10, 12, 0), H1)  # noqa: DTZ001 - the naive value under test


def test_naive_instant_is_refused_by_local_date():
    with pytest.raises(ValueError):
        local_date(datetime(2019, 6, 10, 12, 0))  # noqa: DTZ001 - the naive value under test
