"""Intake's corrections, drafts, idempotency, rules, paper reports and staff lists, with recording fakes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from services.intake import handlers as intake
from services.intake.domain import Draft, DraftNotFound, ReportInvalid, ReportNotFound, check_rules, diff_content
from shared.auth import Principal
from shared.clock import FixedClock
from shared.plan import load_plan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ
from tests.unit.fakes import FakeReportStore

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
OFFICER = Principal(sub="canbo@cauke", role="agency", agency="H_CAUKE")
SNV = Principal(sub="chuyenvien@snv", role="home_affairs")


def at(*args: int) -> FixedClock:
    return FixedClock(datetime(*args, tzinfo=LOCAL_TZ))


def cmd(indicators: dict[str, Any], **extra: Any) -> intake.SubmitReport:
    return intake.SubmitReport("H_CAUKE", "2019-H1", {"indicators": indicators}, source="api", **extra)


class FakeDraftStore:
    """Drafts by (unit, period)."""

    def __init__(self) -> None:
        self.drafts: dict[tuple[str, str], Draft] = {}

    def put(self, draft: Draft) -> None:
        self.drafts[(draft.agency, draft.period)] = draft

    def get(self, agency: str, period: str) -> Draft | None:
        return self.drafts.get((agency, period))

    def delete(self, agency: str, period: str) -> None:
        self.drafts.pop((agency, period), None)


def test_a_correction_is_a_new_revision_keeping_the_first_receipt_and_verdict() -> None:
    reports = FakeReportStore()
    first = intake.submit_report(cmd({"tcd_luot": 5}), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 12, 8))
    second = intake.amend_report(cmd({"tcd_luot": 7}), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 13, 8))
    assert (first.revision, second.revision) == (1, 2)
    assert second.received_at == first.received_at and second.on_time is first.on_time is False
    assert second.amended_at == datetime(2019, 6, 13, 8, tzinfo=LOCAL_TZ)
    assert [r.content["indicators"]["tcd_luot"] for r in reports.revisions("H_CAUKE", "2019-H1")] == [5, 7]
    event = reports.pending_events[-1]
    assert (event.type, event.subject_version, event.data["previous_revision"]) == ("report.amended", 2, 1)
    assert event.data["content"]["indicators"]["tcd_luot"] == 7


def test_report_events_keep_their_wire_layout_byte_for_byte() -> None:
    """Built from the typed classes, the published data is the JSON intake has always written: same keys in the
    same order, instants as `isoformat` text (old messages and feeds, and what consumers expect, stay valid)."""
    reports = FakeReportStore()
    first = intake.submit_report(cmd({"tcd_luot": 5}), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 12, 8))
    second = intake.amend_report(cmd({"tcd_luot": 7}), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 13, 8))
    submitted, amended = reports.pending_events
    layout = {
        "report_id": "H_CAUKE:2019-H1",
        "agency": "H_CAUKE",
        "period": "2019-H1",
        "revision": 1,
        "received_at": first.received_at.isoformat(),
        "on_time": False,
        "completeness": first.completeness,
        "source": "api",
        "submitted_by": "canbo@cauke",
        "content": {"indicators": {"tcd_luot": 5}},
    }
    assert json.dumps(submitted.data, ensure_ascii=False) == json.dumps(layout, ensure_ascii=False)
    layout.update(revision=2, content={"indicators": {"tcd_luot": 7}})
    layout.update(previous_revision=1, amended_at=datetime(2019, 6, 13, 8, tzinfo=LOCAL_TZ).isoformat())
    assert second.received_at == first.received_at
    assert json.dumps(amended.data, ensure_ascii=False) == json.dumps(layout, ensure_ascii=False)


def test_a_correction_at_revision_50_reads_the_store_as_often_as_at_revision_2() -> None:
    reports = FakeReportStore()
    intake.submit_report(cmd({"tcd_luot": 1}), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 12, 8))
    reads_at: dict[int, int] = {}
    for n in range(2, 51):
        before = reports.reads
        correction = cmd({"tcd_luot": n}, idempotency_key=f"k{n}")
        done = intake.amend_report(correction, OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 13))
        assert done.revision == n
        reads_at[n] = reports.reads - before
    assert reads_at[50] == reads_at[2] <= 4, reads_at
    before = reports.reads
    assert intake.get_report("H_CAUKE", "2019-H1", OFFICER, reports=reports).revision == 50
    assert reports.reads - before == 2


def test_a_correction_needs_a_first_submission() -> None:
    with pytest.raises(ReportNotFound):
        intake.amend_report(cmd({}), OFFICER, reports=FakeReportStore(), plan=PLAN, clock=at(2019, 6, 1))


def test_the_same_idempotency_key_returns_the_first_revision_without_a_second_write() -> None:
    reports = FakeReportStore()
    one = intake.submit_report(cmd({}, idempotency_key="k1"), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 1))
    two = intake.submit_report(cmd({}, idempotency_key="k1"), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 2))
    assert two == one and len(reports.add_calls) == 1


def test_an_error_rule_refuses_the_report_and_a_warning_rule_keeps_it() -> None:
    reports = FakeReportStore()
    with pytest.raises(ReportInvalid) as refused:
        intake.submit_report(
            cmd({"tcd_luot": 3, "tcd_nguoi": 2}), OFFICER, reports=reports, plan=PLAN, clock=at(2019, 6, 1)
        )
    assert list(refused.value.fields) == ["indicators.tcd_nguoi"] and reports.add_calls == []
    kept = intake.submit_report(
        cmd({"dvk_dang_ky_tap_the": 0, "dvk_dang_ky_ca_nhan": 1, "dvk_cong_nhan": 2}),
        OFFICER,
        reports=reports,
        plan=PLAN,
        clock=at(2019, 6, 1),
    )
    assert list(kept.warnings) == ["indicators.dvk_cong_nhan"]


def test_rules_skip_blank_fields_and_compare_sums() -> None:
    rules = PLAN.template_for("H_CAUKE", "2019-H1").rules  # type: ignore[union-attr]
    assert check_rules(rules, {"tcd_luot": 3, "tcd_nguoi": None}) == ({}, {})
    errors, _ = check_rules(
        rules, {"don_tiep_nhan_tong": 2, "don_khieu_nai": 1, "don_to_cao": 1, "don_kien_nghi_phan_anh": 1}
    )
    assert errors == {
        "indicators.don_khieu_nai": "Đơn khiếu nại + đơn tố cáo + đơn kiến nghị, phản ánh (3) "
        "không được lớn hơn tổng số đơn tiếp nhận (2)."
    }


def test_a_paper_report_takes_the_received_date_and_records_who_recorded_it() -> None:
    reports = FakeReportStore()
    received = datetime(2019, 6, 10, tzinfo=LOCAL_TZ)
    report = intake.submit_report(
        cmd({}, received_at=received, document={"channel": "paper"}),
        SNV,
        reports=reports,
        plan=PLAN,
        clock=at(2019, 6, 12, 9),
    )
    assert report.received_at == received and report.on_time is True
    assert (report.recorded_by, report.recorded_at) == ("chuyenvien@snv", datetime(2019, 6, 12, 9, tzinfo=LOCAL_TZ))


def test_a_staff_list_queues_the_units_new_contacts_in_the_same_write() -> None:
    reports = FakeReportStore()
    staff = [{"ho_ten": "Trần Thị Bích", "chuc_vu": "Chuyên viên", "don_vi": None, "dien_thoai": None,
              "email": "bich@cauke.vn", "nhiem_vu": None, "alert_role": "focal"}]  # fmt: skip
    command = intake.SubmitReport("H_CAUKE", "2019-STAFF", {"staff": staff}, source="api")
    intake.submit_report(command, OFFICER, reports=reports, plan=PLAN, clock=at(2019, 3, 20))
    ((_, events),) = reports.add_calls
    assert [e.type for e in events] == ["report.submitted", "unit.contacts_changed"]
    assert events[1].data == {
        "agency": "H_CAUKE",
        "contacts": [{"alert_role": "focal", "name": "Trần Thị Bích", "title": "Chuyên viên",
                      "email": "bich@cauke.vn", "phone": None}],
    }  # fmt: skip


def test_a_draft_is_kept_without_a_report_and_another_unit_cannot_read_it() -> None:
    drafts = FakeDraftStore()
    content = {"indicators": {"tcd_luot": 3, "tcd_nguoi": 1}}
    draft, errors, _ = intake.save_draft(
        "H_CAUKE", "2019-H1", content, OFFICER, drafts=drafts, plan=PLAN, clock=at(2019, 6, 1)
    )
    assert list(errors) == ["indicators.tcd_nguoi"]  # reported, yet saved
    assert intake.get_draft("H_CAUKE", "2019-H1", OFFICER, drafts=drafts) == draft
    with pytest.raises(DraftNotFound):
        intake.get_draft("H_CAUKE", "2019-H1", Principal(sub="x", role="agency", agency="H_TRACU"), drafts=drafts)


def test_the_diff_lists_exactly_the_changed_fields() -> None:
    old = {"indicators": {"a": 1, "b": None}, "narratives": {"area_1": "x"}, "staff": [{"ho_ten": "A"}]}
    new = {"indicators": {"a": 1, "b": 2}, "narratives": {"area_1": "y"}, "staff": [{"ho_ten": "A"}, {"ho_ten": "B"}]}
    assert diff_content(old, new) == [
        {"field": "indicators.b", "from": None, "to": 2},
        {"field": "narratives.area_1", "from": "x", "to": "y"},
        {"field": "staff[1].ho_ten", "from": None, "to": "B"},
    ]
