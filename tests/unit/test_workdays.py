"""Working days for every year (issue 14, point 2): the table of official days off and make-up Saturdays
(shared/data/holidays_vn.csv, from shared/domain/holidays_vn.md), the `holidays` library beyond it (unconfirmed),
and the F7 ladder over them: one test per documented year at least."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from services.notifier.domain import digest_instant
from services.scheduler.domain import Obligation, pass_step
from shared.plan import load_plan
from shared.settings import ROOT
from shared.timerules import (
    LOCAL_TZ,
    DaysOff,
    WorkingDayCalendar,
    due_before_for_deadline_day,
    ladder,
    local_iso,
)
from shared.workdays import (
    COLUMNS,
    TABLE_FILE,
    CalendarDay,
    WorkingDays,
    estimated_days,
    load_table,
    vietnam_working_days,
)

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
CAL = PLAN.working_days
POLICY = [asdict(lv) for lv in PLAN.escalation]
DOCUMENTED = range(2019, 2027)
# §2.1 of the research file: every make-up working Saturday of 2019-2026.
MAKEUP_SATURDAYS = {
    date(2019, 1, 5): date(2018, 12, 31),
    date(2019, 5, 4): date(2019, 4, 29),
    date(2024, 5, 4): date(2024, 4, 29),
    date(2025, 4, 26): date(2025, 5, 2),
    date(2026, 1, 10): date(2026, 1, 2),
    date(2026, 8, 22): date(2026, 8, 31),
}


def at8(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 8, 0, tzinfo=LOCAL_TZ)


def rungs(deadline: date, calendar: WorkingDayCalendar | Iterable[date] = CAL) -> dict[str, datetime]:
    return {r.level: r.at for r in ladder(deadline, POLICY, calendar, "08:00")}


def table_rows() -> list[dict[str, str]]:
    with TABLE_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# The data file


def test_the_table_has_one_row_per_day_each_named_and_sourced() -> None:
    rows = table_rows()
    days = [row["date"] for row in rows]
    assert len(days) == len(set(days)), [d for d in days if days.count(d) > 1]
    for row in rows:
        assert row["kind"] in ("off", "makeup"), row
        assert row["source"].strip() and row["name"].strip(), row
        assert row["confirmed"] in ("yes", "no"), row
        assert unicodedata.is_normalized("NFC", row["name"] + row["source"] + row["note"]), row
        if row["confirmed"] == "no":
            assert row["note"].strip(), f"an unconfirmed row says why: {row}"
    assert {int(row["year"]) for row in rows} == set(DOCUMENTED)
    assert len(load_table()) == len(rows)


def test_the_make_up_saturdays_are_those_of_the_research_and_each_pays_back_a_weekday_off() -> None:
    table = {d.day: d for d in load_table()}
    makeup = {d.day: d for d in table.values() if d.kind == "makeup"}
    assert set(makeup) == set(MAKEUP_SATURDAYS)
    for saturday, swapped in MAKEUP_SATURDAYS.items():
        assert saturday.weekday() == 5 and swapped.weekday() < 5
        assert table[swapped].kind == "off" and saturday.strftime("%d/%m/%Y") in table[swapped].name
        assert makeup[saturday].name.endswith(swapped.strftime("%d/%m/%Y"))
        assert makeup[saturday].source == table[swapped].source


def test_the_table_keeps_the_documented_ranges() -> None:
    """Spot checks of holidays_vn.md §2: whole ranges, weekends inside them included."""
    off = {d.day for d in load_table() if d.kind == "off"}

    def whole(first: date, last: date) -> bool:
        return all(first + timedelta(days=i) in off for i in range((last - first).days + 1))

    assert whole(date(2019, 2, 2), date(2019, 2, 10)) and whole(date(2020, 1, 23), date(2020, 1, 29))
    assert whole(date(2021, 9, 2), date(2021, 9, 5)) and whole(date(2023, 4, 29), date(2023, 5, 3))
    assert whole(date(2024, 8, 31), date(2024, 9, 3)) and whole(date(2025, 1, 25), date(2025, 2, 2))
    assert whole(date(2026, 2, 14), date(2026, 2, 22)) and date(2026, 11, 24) in off
    assert date(2020, 9, 3) not in off and date(2019, 9, 3) not in off  # one Quốc khánh day before 2021
    assert date(2026, 2, 13) not in off and date(2026, 2, 23) not in off


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("2019,2019-01-01,off,Tết Dương lịch,Văn bản khác,yes,", "already on line 2"),
        ("2019,2019-02-01,off,Ngày nghỉ,,yes,", "a name and a source"),
        ("2019,2019-05-03,makeup,Làm bù,Văn bản,yes,", "weekend"),
        ("2019,2019-02-01,holiday,Ngày nghỉ,Văn bản,yes,", "kind"),
        ("2019,2019-02-01,off,Ngày nghỉ,Văn bản,maybe,", "confirmed"),
    ],
)
def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, line: str, why: str) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text(",".join(COLUMNS) + "\n2019,2019-01-01,off,Tết Dương lịch,Bộ luật Lao động,yes,\n" + line + "\n")
    with pytest.raises(ValueError, match=why) as raised:
        load_table(path)
    assert "line 3" in str(raised.value)


# The plan carries the calendar; 2019 as before


def test_the_2019_plans_holidays_agree_with_the_table() -> None:
    off_2019 = vietnam_working_days().days_off(2019)
    assert PLAN.holidays <= off_2019
    assert {d for d in off_2019 if d.weekday() < 5} == {d for d in PLAN.holidays if d.weekday() < 5}
    assert vietnam_working_days().makeup_days(2019) == {date(2019, 1, 5), date(2019, 5, 4)}
    # The plan adds nothing the table lacks, so every 2019 day keeps its document.
    assert all(d.source != PLAN.title for d in CAL.days(2019))


def test_the_2019_plans_ladders_are_unchanged() -> None:
    old = DaysOff(PLAN.holidays)
    periods = [p for p in PLAN.calendar if p.due_before is not None]
    assert len(periods) >= 4
    for period in periods:
        assert rungs(period.deadline_day) == rungs(period.deadline_day, old), period.key
    start = date(2019, 3, 14)
    changed = [
        start + timedelta(days=i)
        for i in range(292)
        if CAL.is_working_day(start + timedelta(days=i)) != old.is_working_day(start + timedelta(days=i))
    ]
    assert changed == [date(2019, 5, 4)]  # the one make-up Saturday after the plan took effect


def test_2019_a_reminder_on_the_make_up_saturday_04_05_is_sent_that_day() -> None:
    # D = Monday 06/05/2019: the day before is Sunday, the previous working day the make-up Saturday 04/05.
    assert rungs(date(2019, 5, 6))["reminder_1"] == at8(2019, 5, 4)
    assert rungs(date(2019, 5, 6), PLAN.holidays)["reminder_1"] == at8(2019, 5, 3)  # the bare list knew no make-up


def test_2020_tet_canh_ty_moves_the_overdue_after_it_and_the_reminder_before_it() -> None:
    assert rungs(date(2020, 1, 22))["overdue"] == at8(2020, 1, 30)  # 23/01-29/01 off
    assert rungs(date(2020, 1, 31))["reminder_7"] == at8(2020, 1, 22)


def test_2021_the_two_quoc_khanh_days_move_a_reminder_to_the_wednesday_before() -> None:
    assert rungs(date(2021, 9, 6))["reminder_1"] == at8(2021, 9, 1)  # 02/09-05/09 off
    assert not CAL.is_working_day(date(2021, 9, 3)) and CAL.is_working_day(date(2021, 9, 6))


def test_2022_an_escalation_in_the_30_4_break_moves_past_both_compensatory_days() -> None:
    assert rungs(date(2022, 4, 25))["escalation_1"] == at8(2022, 5, 4)  # 30/04-03/05 off


def test_2023_gio_to_and_30_4_make_five_days_off_for_the_overdue() -> None:
    assert rungs(date(2023, 4, 28))["overdue"] == at8(2023, 5, 4)  # 29/04-03/05 off


def test_2024_a_reminder_on_the_make_up_saturday_04_05_is_sent_that_saturday_at_8() -> None:
    assert rungs(date(2024, 5, 5))["reminder_1"] == at8(2024, 5, 4)
    assert rungs(date(2024, 5, 11))["reminder_7"] == at8(2024, 5, 4)
    assert rungs(date(2024, 4, 26))["overdue"] == at8(2024, 5, 2)  # 27/04-01/05 off, 29/04 swapped


def test_2024_the_schedulers_pass_sends_the_reminder_on_the_make_up_saturday() -> None:
    deadline = date(2024, 5, 5)
    ob = Obligation(
        agency="H_CAUKE", period="2024-TEST", unit_name="Cầu Kè", unit_order=1, unit_types=("HUYEN",),
        due_before=due_before_for_deadline_day(deadline), deadline_day=deadline, data_window=None,
        policy=tuple(POLICY),
    )  # fmt: skip
    step = pass_step(ob, [], at8(2024, 5, 4), working_days=CAL, local_time="08:00", closing=None)
    assert step.rung is not None and (step.rung.level, step.rung.at) == ("reminder_1", at8(2024, 5, 4))
    assert step.skipped == ("reminder_7",)
    assert step.next_at == at8(2024, 5, 6)  # the overdue rung, Monday


def test_2025_a_reminder_on_the_make_up_saturday_26_04_is_sent_that_saturday() -> None:
    assert rungs(date(2025, 5, 3))["reminder_7"] == at8(2025, 4, 26)
    assert rungs(date(2025, 4, 27))["reminder_1"] == at8(2025, 4, 26)
    assert rungs(date(2025, 4, 29))["overdue"] == at8(2025, 5, 5)  # 30/04-04/05 off, 02/05 swapped
    assert digest_instant(PLAN, at8(2025, 4, 26)) == datetime(2025, 4, 26, 7, 30, tzinfo=LOCAL_TZ)
    assert digest_instant(PLAN, at8(2025, 5, 2)) is None


def test_2026_a_reminder_falling_in_tet_moves_to_the_working_day_before_it() -> None:
    # Tết Bính Ngọ: 14/02-22/02/2026 off. Reminders go to the working day before, the others after.
    ladder_of_24_02 = rungs(date(2026, 2, 24))
    assert ladder_of_24_02["reminder_7"] == at8(2026, 2, 13)  # 17/02 is mùng 1
    assert ladder_of_24_02["reminder_1"] == at8(2026, 2, 23)
    assert rungs(date(2026, 2, 15))["overdue"] == at8(2026, 2, 23)
    assert local_iso(rungs(date(2026, 2, 15))["overdue"]) == "2026-02-23T08:00:00+07:00"


def test_2026_the_new_year_swap_and_its_make_up_saturday() -> None:
    assert not CAL.is_working_day(date(2026, 1, 2)) and CAL.is_working_day(date(2026, 1, 10))
    assert rungs(date(2026, 1, 11))["reminder_1"] == at8(2026, 1, 10)
    # The library misses this swap (CV 12729/VPCP-KGVX): the table wins.
    assert date(2026, 1, 2) not in {d.day for d in estimated_days(2026)}


def test_2026_the_open_points_are_applied_and_reported_unconfirmed() -> None:
    unconfirmed = {d.day for d in CAL.unconfirmed_days(2026)}
    assert unconfirmed == {date(2026, 8, 22), date(2026, 8, 31), date(2026, 11, 24)}
    assert not CAL.is_working_day(date(2026, 11, 24)) and CAL.is_working_day(date(2026, 8, 22))
    assert not CAL.is_confirmed(2026)
    assert all(CAL.is_confirmed(year) for year in range(2019, 2026))


# Beyond the table: the `holidays` library, unconfirmed


def test_2027_days_come_from_the_library_and_are_reported_unconfirmed() -> None:
    days = CAL.days(2027)
    assert days and CAL.unconfirmed_days(2027) == days and not CAL.is_confirmed(2027)
    assert all(d.source.startswith("Thư viện holidays") for d in days)
    off = CAL.days_off(2027)
    assert {date(2027, 1, 1), date(2027, 2, 6), date(2027, 4, 16), date(2027, 9, 2)} <= off  # mùng 1 is 06/02
    assert rungs(date(2027, 2, 7))["overdue"] == at8(2027, 2, 11)  # 08/02-10/02 off (Tết Đinh Mùi)
    assert rungs(date(2027, 2, 11))["reminder_7"] == at8(2027, 2, 3)


def test_the_library_is_asked_only_for_years_the_table_does_not_document() -> None:
    asked: list[int] = []

    def estimate(year: int) -> list[CalendarDay]:
        asked.append(year)
        return [CalendarDay(date(year, 3, 2), "off", "Ngày dự tính", "ước tính", confirmed=False, year=year)]

    cal = WorkingDays(load_table(), estimate=estimate)
    for year in range(2018, 2029):
        cal.is_working_day(date(year, 3, 2))
        cal.is_working_day(date(year, 6, 2))
    assert asked == [2018, 2027, 2028]
    assert not cal.is_working_day(date(2027, 3, 2)) and cal.is_working_day(date(2026, 3, 2))
    # On a date the table has, the table wins even in an estimated year (the 2019 swap, 31/12/2018).
    assert {d.day: d.confirmed for d in cal.days(2018)} == {
        date(2018, 3, 2): False, date(2018, 12, 29): True, date(2018, 12, 30): True, date(2018, 12, 31): True,
    }  # fmt: skip


def test_the_librarys_swaps_give_make_up_saturdays_in_estimated_years() -> None:
    cal = vietnam_working_days()
    assert cal.is_working_day(date(2014, 4, 26)) and not cal.is_working_day(date(2014, 5, 2))
    assert cal.is_working_day(date(2014, 12, 27))  # made up for 02/01/2015
    assert {d.day for d in cal.unconfirmed_days(2014) if d.working} == {
        date(2014, 4, 26), date(2014, 9, 6), date(2014, 12, 27),
    }  # fmt: skip


# A plan's own days off


def test_a_plans_own_day_off_is_added_and_wins_over_estimates_and_make_up_days() -> None:
    cal = vietnam_working_days().with_days_off(
        [date(2027, 2, 3), date(2027, 2, 4), date(2024, 5, 4), date(2024, 2, 8)], source="Kế hoạch thử"
    )
    assert not cal.is_working_day(date(2027, 2, 3)) and not cal.is_working_day(date(2024, 5, 4))
    by_day = {d.day: d for y in (2024, 2027) for d in cal.days(y)}
    assert by_day[date(2027, 2, 4)].source == "Kế hoạch thử" and by_day[date(2027, 2, 4)].confirmed
    assert by_day[date(2024, 2, 8)].source.startswith("Thông báo 5015/TB-LĐTBXH")  # a documented day keeps its row
    assert vietnam_working_days().is_working_day(date(2024, 5, 4))  # the national calendar is unchanged
