"""The scheduler's plan-version use cases (services/scheduler/versions.py) with recording fakes: an import with bad
rows applies nothing; a clean one is kept and previewed; publishing stores the version once, announces it, creates
the new units' obligations for the periods from its effective day, leaves earlier periods alone, and the pass
closes the obligations of a unit the new list ends. On the Vĩnh Long plan (its 2026 calendar)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from services.scheduler import handlers
from services.scheduler.versions import (
    DraftNotFound,
    EffectiveDateRefused,
    UnitListInvalid,
    announce_versions,
    compare_versions,
    create_version_obligations,
    current_plan,
    import_unit_list,
    preview_draft,
    publish_version,
    version_of,
)
from shared.auth import Principal
from shared.clock import FixedClock
from shared.events import PlanPublished
from shared.plan import load_plan
from shared.plan_versions import VersionedPlan, plan_for_period
from shared.settings import ROOT
from shared.timerules import at_local
from shared.unit_list import unit_list_rows
from tests.unit.fakes import FakeObligationStore, FakePassStore, FakePlanVersionStore, report_event, xlsx

BASE = load_plan(ROOT / "plans" / "vinh-long-2026")
SNV = Principal(sub="chuyenvien@snv", role="home_affairs")
JUNE_20 = at_local(date(2026, 6, 20), 9, 0)
JULY = date(2026, 7, 1)


def _new_row(code: str, name: str) -> list[Any]:
    slug = code.lower()
    return [code, name, "SO", "01/07/2026", None, None, "Lê Văn C", f"c.{slug}@vinhlong.gov.vn", "0912 345 678",
            "Phạm Thị D", f"d.{slug}@vinhlong.gov.vn", None]  # fmt: skip


def _fixed_file() -> bytes:
    """The plan's list with Sở Dân tộc và Tôn giáo ending on 1/7/2026 (successor Sở Tư pháp) and two departments
    added from that day."""
    rows = unit_list_rows(BASE.units)
    for row in rows[1:]:
        if row[0] == "VL_SDTTG":
            row[4], row[5] = "01/07/2026", "VL_STP"
    rows[3:3] = [_new_row("VL_STP", "Sở Tư pháp tỉnh Vĩnh Long"), _new_row("VL_SYT", "Sở Y tế tỉnh Vĩnh Long")]
    return xlsx(rows)


def _broken_file() -> bytes:
    rows = unit_list_rows(BASE.units)
    rows[3:3] = [
        [*_new_row("VL_STP", "Sở Tư pháp")[:2], "SO, SOT", *_new_row("VL_STP", "")[3:]],  # unknown type
        [*_new_row("VL_SYT", "Sở Y tế")[:3], "31/06/2026", *_new_row("VL_SYT", "")[4:]],  # bad date
        [*_new_row("VL_SXD", "Sở Xây dựng")[:7], "khong-co-a-cong", *_new_row("VL_SXD", "")[8:]],  # bad e-mail
    ]
    return xlsx(rows)


def _import(data: bytes, versions: FakePlanVersionStore, day: date | None = JULY) -> Any:
    return import_unit_list(
        data, "donvi.xlsx", day, SNV, base=BASE, other_codes=frozenset(), versions=versions, clock=FixedClock(JUNE_20)
    )


def test_an_import_with_bad_rows_lists_each_and_keeps_nothing() -> None:
    versions = FakePlanVersionStore()
    with pytest.raises(UnitListInvalid) as caught:
        _import(_broken_file(), versions)
    assert [(e.row, e.column) for e in caught.value.errors] == [
        (4, "Loại đơn vị"),
        (5, "Hiệu lực từ ngày"),
        (6, "Đầu mối: thư điện tử"),
    ]
    assert caught.value.message.startswith("Tệp có 3 lỗi; chưa áp dụng gì.")
    assert versions.drafts == {} and versions.published == {} and versions.outbox == {}


def test_a_file_that_is_not_a_workbook_is_one_error() -> None:
    with pytest.raises(UnitListInvalid) as caught:
        _import(b"not a workbook", FakePlanVersionStore())
    (error,) = caught.value.errors
    assert error.row is None and "xlsx" in error.message


def test_a_clean_import_is_kept_and_previewed_then_published_with_its_obligations() -> None:
    versions, obligations = FakePlanVersionStore(), FakeObligationStore()
    handlers.sync_plan(BASE, obligations=obligations, clock=FixedClock(at_local(date(2026, 1, 1), 0, 0)))
    before = dict(obligations.obligations)
    outcome = _import(_fixed_file(), versions)
    assert list(versions.drafts) == [outcome.draft.id] and versions.published == {}
    shown = outcome.preview
    assert (shown.count("added"), shown.count("ended")) == (2, 1)
    assert {(e.agency, e.period, e.effect) for e in shown.obligations} >= {
        ("VL_STP", "2026-Q3", "created"),
        ("VL_SDTTG", "2026-Q3", "closed"),
    }
    again = preview_draft(outcome.draft.id, JULY, base=BASE, versions=versions, clock=FixedClock(JUNE_20))
    assert again == shown

    version = publish_version(
        outcome.draft.id, JULY, SNV, base=BASE, versions=versions, obligations=obligations, clock=FixedClock(JUNE_20)
    )
    assert (version.number, version.effective_from, version.published_by) == (1, JULY, "chuyenvien@snv")
    assert version_of(1, base=BASE, versions=versions) == version
    (event,) = versions.outbox.values()
    data = PlanPublished.of(event)
    assert (event.subject, event.subject_version, data.added, data.ended) == (
        "plan:vinh-long-2026",
        1,
        ["VL_STP", "VL_SYT"],
        ["VL_SDTTG"],
    )
    new = set(obligations.obligations) - set(before)
    assert new == {"VL_STP:2026-Q3", "VL_SYT:2026-Q3", "VL_STP:2026-FY", "VL_SYT:2026-FY"}
    assert all(obligations.obligations[k] == ob for k, ob in before.items())  # created obligations unchanged
    assert obligations.obligations["VL_STP:2026-Q3"].policy == before["VL_SNV:2026-Q3"].policy
    # publishing again is a second version; repeating the obligations' creation creates nothing
    assert create_version_obligations(BASE, versions.versions(BASE.id), obligations=obligations, now=JUNE_20) == 0
    assert [c.code for c in compare_versions(0, 1, base=BASE, versions=versions) if "added" in c.kinds] == [
        "VL_STP",
        "VL_SYT",
    ]


def test_the_pass_closes_the_obligations_of_a_unit_the_published_list_ends() -> None:
    versions, obligations = FakePlanVersionStore(), FakeObligationStore()
    handlers.sync_plan(BASE, obligations=obligations, clock=FixedClock(at_local(date(2026, 1, 1), 0, 0)))
    draft = _import(_fixed_file(), versions).draft
    publish_version(
        draft.id, JULY, SNV, base=BASE, versions=versions, obligations=obligations, clock=FixedClock(JUNE_20)
    )
    passes = FakePassStore()
    plans = [VersionedPlan(BASE, tuple(versions.versions(BASE.id)))]
    clock = FixedClock(JUNE_20)
    handlers.run_pass(plans=plans, obligations=obligations, passes=passes, clock=clock)
    clock.advance(timedelta(days=12))  # 2 July 2026
    handlers.run_pass(plans=plans, obligations=obligations, passes=passes, clock=clock)
    closed = {e.subject for e in obligations.events("obligation.closed")}
    assert closed == {"obligation:VL_SDTTG:2026-Q3", "obligation:VL_SDTTG:2026-FY"}


def test_an_effective_day_in_the_past_or_before_the_latest_version_is_refused() -> None:
    versions = FakePlanVersionStore()
    with pytest.raises(EffectiveDateRefused, match="hôm nay"):
        _import(_fixed_file(), versions, day=date(2026, 6, 19))
    assert versions.drafts == {}
    draft = _import(_fixed_file(), versions).draft
    publish_version(
        draft.id, date(2026, 9, 1), SNV, base=BASE, versions=versions, obligations=FakeObligationStore(),
        clock=FixedClock(JUNE_20),
    )  # fmt: skip
    with pytest.raises(EffectiveDateRefused, match="phiên bản 1"):
        preview_draft(draft.id, JULY, base=BASE, versions=versions, clock=FixedClock(JUNE_20))


def test_an_unknown_draft_is_not_found() -> None:
    with pytest.raises(DraftNotFound):
        publish_version(
            "vinh-long-2026:nothing", JULY, SNV, base=BASE, versions=FakePlanVersionStore(),
            obligations=FakeObligationStore(), clock=FixedClock(JUNE_20),
        )  # fmt: skip


def test_a_version_is_read_against_the_latest_list() -> None:
    versions, obligations = FakePlanVersionStore(), FakeObligationStore()
    draft = _import(_fixed_file(), versions).draft
    publish_version(
        draft.id, JULY, SNV, base=BASE, versions=versions, obligations=obligations, clock=FixedClock(JUNE_20)
    )
    # the plan file's list no longer passes: it lacks the two units version 1 added
    with pytest.raises(UnitListInvalid) as caught:
        _import(xlsx(unit_list_rows(BASE.units)), versions)
    assert {e.message.split(" ")[2] for e in caught.value.errors} == {"VL_STP", "VL_SYT"}
    latest = current_plan(BASE, versions=versions)
    renamed = [replace(u, name="Sở Y tế") if u.code == "VL_SYT" else u for u in latest.units]
    shown = _import(xlsx(unit_list_rows(renamed)), versions, day=date(2026, 8, 1)).preview
    assert [(c.code, c.kinds) for c in shown.units] == [("VL_SYT", ("renamed",))]


def test_a_version_whose_event_was_lost_is_announced_again_once() -> None:
    versions, obligations = FakePlanVersionStore(), FakeObligationStore()
    draft = _import(_fixed_file(), versions).draft
    publish_version(
        draft.id, JULY, SNV, base=BASE, versions=versions, obligations=obligations, clock=FixedClock(JUNE_20)
    )
    (event,) = versions.outbox.values()
    versions.outbox.clear()  # a crash between the version's insert and its event's
    assert announce_versions(BASE, versions=versions) == 1
    assert list(versions.outbox.values()) == [event]
    assert announce_versions(BASE, versions=versions) == 0


def test_a_unit_a_version_adds_after_the_pass_has_run_up_to_now_is_chased() -> None:
    """Publishing happens between passes: the pass has processed up to now, so the new obligations' first look must
    come after it, or the ladder would never see them."""
    versions, obligations, passes = FakePlanVersionStore(), FakeObligationStore(), FakePassStore()
    clock = FixedClock(at_local(date(2026, 1, 1), 0, 0))
    handlers.sync_plan(BASE, obligations=obligations, clock=clock)
    clock.advance(JUNE_20 - clock.now())
    handlers.run_pass(plans=[VersionedPlan(BASE)], obligations=obligations, passes=passes, clock=clock)
    assert passes.processed_up_to() == JUNE_20
    draft = _import(_fixed_file(), versions).draft
    publish_version(draft.id, JULY, SNV, base=BASE, versions=versions, obligations=obligations, clock=clock)
    clock.advance(at_local(date(2026, 9, 14), 9, 0) - clock.now())  # past 2026-Q3's deadline (10/09)
    plans = [VersionedPlan(BASE, tuple(versions.versions(BASE.id)))]
    handlers.run_pass(plans=plans, obligations=obligations, passes=passes, clock=clock)
    chased = {e.subject for e in obligations.events("obligation.overdue")}
    assert {"obligation:VL_STP:2026-Q3", "obligation:VL_SYT:2026-Q3"} <= chased


def test_a_restart_creates_no_obligation_for_a_unit_the_published_list_ended() -> None:
    """2027 opens by the pass from the latest list (VL_SDTTG ended on 01/07/2026); the loop's sync at a restart then
    takes each period's plan (`plan_for_period`), so the plan file does not bring VL_SDTTG's 2027 obligations back."""
    versions, obligations, passes = FakePlanVersionStore(), FakeObligationStore(), FakePassStore()
    clock = FixedClock(at_local(date(2026, 1, 1), 0, 0))
    handlers.sync_plan(BASE, obligations=obligations, clock=clock)
    clock.advance(JUNE_20 - clock.now())
    publish_version(_import(_fixed_file(), versions).draft.id, JULY, SNV, base=BASE, versions=versions,
                    obligations=obligations, clock=clock)  # fmt: skip
    clock.advance(at_local(date(2027, 1, 5), 9, 0) - clock.now())
    plans = [VersionedPlan(BASE, tuple(versions.versions(BASE.id)))]
    handlers.run_pass(plans=plans, obligations=obligations, passes=passes, clock=clock)
    assert "VL_STP:2027-Q1" in obligations.obligations and "VL_SDTTG:2027-Q1" not in obligations.obligations
    published = versions.versions(BASE.id)
    restarted = handlers.sync_plan(
        BASE, obligations=obligations, clock=clock, plan_for=lambda p: plan_for_period(BASE, published, p)
    )
    assert restarted == 0 and "VL_SDTTG:2027-Q1" not in obligations.obligations
    assert handlers.sync_plan(BASE, obligations=obligations, clock=clock) > 0  # the plan file alone would
    assert "VL_SDTTG:2027-Q1" in obligations.obligations


def _renamed_file(code: str, name: str) -> bytes:
    """The plan's list with one unit under another name."""
    rows = unit_list_rows(BASE.units)
    for row in rows[1:]:
        if row[0] == code:
            row[1] = name
    return xlsx(rows)


def test_a_year_the_pass_opens_takes_each_periods_list_in_force_on_its_deadline_day() -> None:
    """A renaming published in 2026 and in force from 01/07/2027: when the pass opens 2027, 2027-Q1 (due in March)
    keeps the old name and 2027-Q3 gets the new one; the latest list alone would rename 2027-Q1 too."""
    versions = FakePlanVersionStore()
    clock = FixedClock(JUNE_20)
    draft = _import(_renamed_file("VL_SDTTG", "Sở Dân tộc tỉnh Vĩnh Long"), versions, day=date(2027, 7, 1)).draft
    publish_version(draft.id, date(2027, 7, 1), SNV, base=BASE, versions=versions, obligations=FakeObligationStore(),
                    clock=clock)  # fmt: skip
    published = versions.versions(BASE.id)
    names = {}
    latest_only = VersionedPlan(current_plan(BASE, versions=versions))  # the latest list for every period
    for way, plan in (("in force", VersionedPlan(BASE, tuple(published))), ("latest", latest_only)):
        obligations, passes = FakeObligationStore(), FakePassStore()
        start = FixedClock(at_local(date(2026, 1, 1), 0, 0))
        handlers.sync_plan(BASE, obligations=obligations, clock=start)
        start.advance(at_local(date(2027, 1, 5), 9, 0) - start.now())
        handlers.run_pass(plans=[plan], obligations=obligations, passes=passes, clock=start)
        names[way] = {p: obligations.obligations[f"VL_SDTTG:{p}"].unit_name for p in ("2027-Q1", "2027-Q3")}
    old = BASE.unit("VL_SDTTG").name  # type: ignore[union-attr]
    assert names["in force"] == {"2027-Q1": old, "2027-Q3": "Sở Dân tộc tỉnh Vĩnh Long"}
    assert names["latest"]["2027-Q1"] == "Sở Dân tộc tỉnh Vĩnh Long"  # what the pass did before


def test_a_report_ahead_of_the_pass_from_a_unit_a_version_added_fulfils_its_obligation() -> None:
    """Intake accepts the report of a unit a published version added before the scheduler has its obligation:
    the consumer creates it from the list in force; from the plan file alone it was dropped."""
    versions = FakePlanVersionStore()
    publish_version(_import(_fixed_file(), versions).draft.id, JULY, SNV, base=BASE, versions=versions,
                    obligations=FakeObligationStore(), clock=FixedClock(JUNE_20))  # fmt: skip
    published = versions.versions(BASE.id)
    event = report_event("VL_STP", "2026-Q3", 1, at_local(date(2026, 9, 1), 9, 0), {})
    for plan, kept in ((VersionedPlan(BASE, tuple(published)), True), (VersionedPlan(BASE), False)):
        obligations = FakeObligationStore()
        handlers.on_report_submitted(event, obligations=obligations, plans=lambda p=plan: [p])  # type: ignore[misc]
        assert ("VL_STP:2026-Q3" in obligations.obligations) is kept
        assert bool(obligations.events("obligation.fulfilled")) is kept
