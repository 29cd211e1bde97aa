"""Versions of a plan's unit list (shared/plan_versions.py, issue 14 point 4): the plan in force at a date, the
preview of a new version (units added, ended, renamed; obligations created or closed; the calendar), the effective
day's rules and the stored form. On the Vĩnh Long plan (its 2026 calendar)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from shared.plan import Contact, Unit, load_plan
from shared.plan_versions import (
    PlanVersion,
    VersionDateError,
    check_effective_from,
    diff_units,
    latest_plan,
    plan_for_period,
    plan_in_force,
    preview,
    version_document,
    version_from_document,
)
from shared.settings import ROOT

PLAN = load_plan(ROOT / "plans" / "vinh-long-2026")
JULY = date(2026, 7, 1)
PUBLISHED = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)


def _new(code: str, name: str) -> Unit:
    return Unit(
        code=code,
        name=name,
        order=None,
        types=("SO",),
        reports=True,
        valid_from=JULY,
        valid_until=None,
        contacts=(
            Contact("focal", "Lê Văn C", "Chuyên viên", f"c.{code.lower()}@vinhlong.gov.vn"),
            Contact("head", "Phạm Thị D", "Giám đốc", f"d.{code.lower()}@vinhlong.gov.vn"),
        ),
    )


def _new_list() -> tuple[Unit, ...]:
    """The plan's units, with Sở Dân tộc và Tôn giáo ending on 1/7/2026 (successor: a new Sở Tư pháp), Sở Tư pháp
    and Sở Y tế added from that day, and one ward renamed; orders follow the list."""
    units = []
    for unit in PLAN.units:
        if unit.code == "VL_SDTTG":
            unit = replace(unit, valid_until=JULY, successors=("VL_STP",))
        elif unit.code == "X_29242":
            unit = replace(unit, name="Phường Trà Vinh (tên mới)")
        units.append(unit)
    units[2:2] = [_new("VL_STP", "Sở Tư pháp tỉnh Vĩnh Long"), _new("VL_SYT", "Sở Y tế tỉnh Vĩnh Long")]
    return tuple(replace(u, order=i) for i, u in enumerate(units, start=1))


def _version(number: int, effective: date, units: tuple[Unit, ...]) -> PlanVersion:
    return PlanVersion(PLAN.id, number, effective, PUBLISHED, "chuyenvien@snv", units)


def test_the_preview_lists_units_added_ended_renamed_and_the_obligations_and_calendar_concerned() -> None:
    shown = preview(PLAN, _new_list(), JULY)
    assert shown.count("added") == 2 and shown.count("ended") == 1 and shown.count("renamed") == 1
    by_code = {c.code: c for c in shown.units}
    assert by_code["VL_SDTTG"].details[0] == "Hết hiệu lực từ 01/07/2026; kế thừa: VL_STP."
    assert by_code["X_29242"].kinds == ("renamed",)
    assert not any("changed" in c.kinds for c in shown.units)  # rows inserted above a unit do not change it
    # Q1 (10/3) and H1 (10/6) fall before 1/7/2026: untouched; Q3 (10/9) and FY (10/12) are concerned.
    assert [c.period.key for c in shown.calendar] == ["2026-Q3", "2026-FY"]
    assert [(c.expected_before, c.expected_after) for c in shown.calendar] == [(126, 127), (126, 127)]
    effects = {(e.agency, e.period, e.effect) for e in shown.obligations}
    assert effects == {
        ("VL_STP", "2026-Q3", "created"),
        ("VL_SYT", "2026-Q3", "created"),
        ("VL_STP", "2026-FY", "created"),
        ("VL_SYT", "2026-FY", "created"),
        ("VL_SDTTG", "2026-Q3", "closed"),
        ("VL_SDTTG", "2026-FY", "closed"),
    }
    closed = next(e for e in shown.obligations if e.effect == "closed")
    assert "01/07/2026" in closed.note and "VL_STP" in closed.note


def test_nothing_changes_when_the_list_is_the_same() -> None:
    shown = preview(PLAN, PLAN.units, JULY)
    assert shown.units == () and shown.obligations == ()
    assert all(c.expected_before == c.expected_after == 126 for c in shown.calendar)


def test_a_unit_that_stops_reporting_no_longer_owes_later_periods() -> None:
    units = tuple(replace(u, types=(), reports=False) if u.code == "VL_SDTTG" else u for u in PLAN.units)
    shown = preview(PLAN, units, date(2026, 9, 11))
    assert [(e.agency, e.period, e.effect) for e in shown.obligations] == [("VL_SDTTG", "2026-FY", "dropped")]
    assert shown.units[0].kinds == ("changed",) and "không báo cáo" in shown.units[0].details[0]


def test_the_plan_in_force_is_the_file_until_a_version_takes_effect_then_the_latest_effective() -> None:
    first = _version(1, JULY, _new_list())
    renamed = tuple(replace(u, name="Sở Y tế") if u.code == "VL_SYT" else u for u in first.units)
    second = _version(2, date(2026, 10, 1), renamed)
    versions = [second, first]
    assert plan_in_force(PLAN, versions, date(2026, 6, 30)) is PLAN
    july = plan_in_force(PLAN, versions, JULY)
    assert july.unit("VL_SYT") is not None and july.unit("VL_SYT").name == "Sở Y tế tỉnh Vĩnh Long"  # type: ignore[union-attr]
    assert plan_in_force(PLAN, versions, date(2026, 12, 1)).unit("VL_SYT").name == "Sở Y tế"  # type: ignore[union-attr]
    assert latest_plan(PLAN, versions).unit("VL_SYT").name == "Sở Y tế"  # type: ignore[union-attr]
    q3, fy = PLAN.period("2026-Q3"), PLAN.period("2026-FY")
    assert q3 is not None and fy is not None
    q3_plan = plan_for_period(PLAN, versions, q3)
    assert {u.code for u in q3_plan.expected_units(q3)} - {u.code for u in PLAN.expected_units(q3)} == {
        "VL_STP",
        "VL_SYT",
    }
    assert plan_for_period(PLAN, versions, fy).unit("VL_SYT").name == "Sở Y tế"  # type: ignore[union-attr]
    h1 = PLAN.period("2026-H1")
    assert h1 is not None and plan_for_period(PLAN, versions, h1) is PLAN  # earlier periods are unchanged
    assert plan_in_force(PLAN, [replace(first, plan="tra-vinh-2019")], JULY) is PLAN  # another plan's version


def test_the_difference_between_two_versions() -> None:
    first = _version(1, JULY, _new_list())
    second = tuple(replace(u, valid_until=date(2026, 10, 1)) if u.code == "VL_SYT" else u for u in first.units)
    (change,) = diff_units(first.units, second)
    assert change.code == "VL_SYT" and change.kinds == ("ended",)


def test_a_version_takes_effect_no_earlier_than_today_and_the_latest_version() -> None:
    check_effective_from(JULY, today=JULY, versions=[])
    with pytest.raises(VersionDateError, match="hôm nay"):
        check_effective_from(date(2026, 6, 30), today=JULY, versions=[])
    later = _version(1, date(2026, 10, 1), PLAN.units)
    with pytest.raises(VersionDateError, match="phiên bản 1"):
        check_effective_from(date(2026, 9, 1), today=JULY, versions=[later])
    check_effective_from(date(2026, 10, 1), today=JULY, versions=[later])


def test_a_version_reads_back_from_its_stored_form() -> None:
    version = _version(3, JULY, _new_list())
    doc = version_document(version)
    assert doc["_id"] == "vinh-long-2026:v3"
    again = version_from_document(doc)
    assert again == version
