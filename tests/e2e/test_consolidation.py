"""The aggregator's board, totals, closing and documents over real processes (F10-F12).

Three units report 2019-H1 through intake (two on time, one late), the clock steps past the escalations, and
every figure the aggregator shows is checked against an independent count from the producers' own APIs: the
compliance against the scheduler's obligations, the totals against intake's reports. Then Sở Nội vụ closes the
period, a unit corrects its report afterwards, and the documents are issued and read back from the archive.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
from docx import Document
from openpyxl import load_workbook

from tests.support import TestStack, own_stack, wait_for

PERIOD = "2019-H1"
REPORTS = {
    "H_CAUKE": {
        "indicators": {"tcd_luot": 12, "tcd_nguoi": 15, "vu_viec_thuoc_tham_quyen": 10, "vu_viec_da_giai_quyet": 9,
                       "tthc_da_giai_quyet_truoc_han": 80, "tthc_da_giai_quyet_dung_han": 15,
                       "tthc_da_giai_quyet_tre_han": 5},
        "assessment": {"limitations": "Thiếu cán bộ chuyên trách ở cấp xã."},
        "recommendations": "Đề nghị tỉnh tổ chức tập huấn nghiệp vụ dân vận.",
    },
    "SNV": {
        "indicators": {"tcd_luot": 3, "tcd_nguoi": 3, "vu_viec_thuoc_tham_quyen": 4, "vu_viec_da_giai_quyet": 4,
                       "tthc_da_giai_quyet_truoc_han": 10, "tthc_da_giai_quyet_dung_han": 10,
                       "tthc_da_giai_quyet_tre_han": 0},
    },
    "H_TIEUCAN": {  # late, and leaves most figures blank
        "indicators": {"tcd_luot": 7, "tcd_nguoi": 8, "vu_viec_thuoc_tham_quyen": None},
        "recommendations": "Đề nghị bổ sung kinh phí cho hoạt động dân vận.",
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def closed_period() -> Iterator[TestStack]:
    with own_stack("c") as s:
        s.set_clock("2019-06-05T10:00:00+07:00")
        for agency in ("H_CAUKE", "SNV"):
            assert s.post_report(agency, PERIOD, REPORTS[agency]).status_code == 201
        s.set_clock("2019-06-12T09:00:00+07:00")
        assert s.post_report("H_TIEUCAN", PERIOD, REPORTS["H_TIEUCAN"]).json()["on_time"] is False
        s.set_clock("2019-06-20T08:00:00+07:00")
        s.wait_status(PERIOD, "H_TIEUCAN", "submitted_late", timeout=180)  # generous: a busy machine
        yield s


def _summary(s: TestStack) -> dict:
    resp = s.get("aggregator", f"/api/v1/summary?period={PERIOD}", role="home_affairs")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _line(summary: dict, key: str) -> dict:
    return next(line for area in summary["areas"] for line in area["indicators"] if line["key"] == key)


def test_compliance_and_totals_equal_independent_counts(closed_period: TestStack) -> None:
    s = closed_period
    obligations = s.items("scheduler", "/api/v1/obligations", period=PERIOD)
    statuses = {o["agency"]: o["status"] for o in obligations}
    board = s.compliance(PERIOD)
    assert {u["agency"]: u["status"] for u in board["items"]} == statuses
    assert board["EXPECTED_REPORTS"] == len(statuses) == 29
    assert board["ACTUAL_REPORTS"] == sum(v in ("submitted_on_time", "submitted_late") for v in statuses.values()) == 3
    assert board["ACTUAL_REPORTS_ON_TIME"] == sum(v == "submitted_on_time" for v in statuses.values()) == 2
    overdue = {u["agency"] for u in board["items"] if u["status"] == "overdue"}
    assert overdue == {a for a, v in statuses.items() if v == "overdue"} or len(overdue) == 26

    reports = s.items("intake", "/api/v1/reports", period=PERIOD)
    figures = [r["content"]["indicators"] for r in reports]
    summary = _summary(s)
    for key in ("tcd_luot", "tcd_nguoi", "vu_viec_thuoc_tham_quyen", "vu_viec_da_giai_quyet"):
        values = [f.get(key) for f in figures]
        line = _line(summary, key)
        assert line["total"] == sum(v for v in values if v is not None), key
        assert line["reported"] == sum(v is not None for v in values), key
    assert _line(summary, "tcd_luot")["total"] == 22 and _line(summary, "vu_viec_thuoc_tham_quyen")["missing"] == 27
    # A rate from the summed parts, not the mean of the units' rates: (80+15+10+10) / (80+15+5+10+10+0) * 100.
    assert _line(summary, "tthc_ty_le_dung_truoc_han")["total"] == pytest.approx(115 / 120 * 100, abs=0.05)
    by_type = {t["type"]: t["total"] for t in _line(summary, "tcd_luot")["by_type"]}
    assert by_type == {"SO": 3, "HUYEN": 19}
    assert summary["previous_period"] is None  # the plan has no 2018-H1
    ranked = {r["key"]: [c["agency"] for c in r["candidates"]] for r in summary["standouts"]}
    assert ranked["tthc_ty_le_dung_truoc_han"] == ["SNV", "H_CAUKE"]


def test_closing_then_a_correction_is_shown_after_closing_and_documents_are_archived(closed_period: TestStack) -> None:
    s = closed_period
    observer = s.auth("observer")
    refused = requests.post(s.url("aggregator", f"/api/v1/periods/{PERIOD}/close"), headers=observer, timeout=15)
    assert refused.status_code == 403
    close = requests.post(
        s.url("aggregator", f"/api/v1/periods/{PERIOD}/close"), headers=s.auth("home_affairs"), timeout=15
    )
    assert close.status_code == 201, close.text
    assert close.json()["closed_at"].startswith("2019-06-20T08:00:00")
    again = requests.post(
        s.url("aggregator", f"/api/v1/periods/{PERIOD}/close"), headers=s.auth("home_affairs"), timeout=15
    )
    assert again.status_code == 409 and "đã được chốt" in again.json()["error"]["message"]

    s.set_clock("2019-06-21T09:00:00+07:00")
    corrected = {"indicators": {**REPORTS["SNV"]["indicators"], "tcd_luot": 4, "tcd_nguoi": 4}}
    put = requests.put(
        s.url("intake", f"/api/v1/reports/SNV/{PERIOD}"), json=corrected, headers=s.auth("agency", "SNV"), timeout=15
    )
    assert put.status_code in (200, 201), put.text

    def shown_after_close() -> dict | None:
        row = next(u for u in s.compliance(PERIOD)["items"] if u["agency"] == "SNV")
        return row if row["revisions_after_close"] == [2] else None

    row = wait_for(shown_after_close, timeout=90, what="the correction shown as after closing")
    assert row["revision"] == 2 and row["status"] == "submitted_on_time"
    assert s.compliance(PERIOD)["closed"]["closed_by"]
    wait_for(lambda: _line(_summary(s), "tcd_luot")["total"] == 23, timeout=90, what="the totals follow the correction")

    hq = s.auth("home_affairs")
    not_yet = requests.get(s.url("aggregator", f"/api/v1/exports/{PERIOD}.docx"), headers=hq, timeout=15)
    assert not_yet.status_code == 404 and "chưa phát hành" in not_yet.json()["error"]["message"]
    docx = requests.post(
        s.url("aggregator", f"/api/v1/exports/{PERIOD}.docx"),
        json={"standouts": ["SNV"], "signer": "Nguyễn Văn A"},
        headers=hq,
        timeout=60,
    )
    assert docx.status_code == 201, docx.text
    assert docx.headers["Location"] == f"/api/v1/documents/{docx.headers['X-Dvcq-Document']}"
    assert "filename*=UTF-8''" in docx.headers["Content-Disposition"]
    report = Document(io.BytesIO(docx.content))
    cells = [c.text for t in report.tables for row in t.rows for c in row.cells]
    text = "\n".join([p.text for p in report.paragraphs] + cells)
    assert "BÁO CÁO" in text and "NGUYỄN VĂN A" in text.upper() and "SỞ NỘI VỤ" in text
    # Annex I: every table one row per expected unit in the official order, blank where a unit did not report.
    rows = s.compliance(PERIOD)["items"]  # in unit-code order: the official order is the units' `order`
    official = [u["name"] for u in sorted(rows, key=lambda u: (u["order"] is None, u["order"] or 0, u["agency"]))]
    first = ("STT", "Cơ quan, đơn vị, địa phương")
    tables = [t for t in report.tables if tuple(c.text for c in t.rows[0].cells[:2]) == first]
    annex_one = [t for t in tables if t.rows[0].cells[2].text not in ("Ngày nhận báo cáo", "Số ngày quá hạn")]
    assert annex_one and all([r.cells[1].text for r in t.rows[1:]] == official for t in annex_one)
    chau_thanh = next(r for r in annex_one[0].rows if r.cells[1].text == "Ủy ban nhân dân huyện Châu Thành")
    assert all(c.text == "" for c in chau_thanh.cells[2:])
    # Annex II: exactly the late unit and the 26 missing ones.
    late, missing = [t for t in tables if t not in annex_one]
    assert [r.cells[1].text for r in late.rows[1:]] == ["Ủy ban nhân dân huyện Tiểu Cần"]
    missing_names = [r.cells[1].text for r in missing.rows[1:]]
    assert len(missing_names) == 26 and "Ủy ban nhân dân huyện Cầu Kè" not in missing_names

    xlsx = requests.post(s.url("aggregator", f"/api/v1/exports/{PERIOD}.xlsx"), headers=hq, timeout=60)
    book = load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) >= 3
    numbers = [c.value for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, int | float)]
    assert 23 in numbers  # the corrected total, typed as a number
    table = list(csv.reader(io.StringIO(
        requests.post(s.url("aggregator", f"/api/v1/exports/{PERIOD}.csv"), headers=hq, timeout=60)
        .content.decode("utf-8-sig")
    )))  # fmt: skip
    assert len(table) == 1 + 29

    letter = requests.post(s.url("aggregator", f"/api/v1/exports/{PERIOD}/urging-letter.docx"), headers=hq, timeout=60)
    assert letter.status_code == 201
    letter_doc = Document(io.BytesIO(letter.content))
    letter_text = "\n".join(
        [p.text for p in letter_doc.paragraphs] + [c.text for t in letter_doc.tables for r in t.rows for c in r.cells]
    )
    assert "Ủy ban nhân dân huyện Châu Thành" in letter_text and "Ủy ban nhân dân huyện Cầu Kè" not in letter_text
    assert (
        requests.post(s.url("aggregator", f"/api/v1/exports/{PERIOD}.docx"), headers=observer, timeout=15).status_code
        == 403
    )
    bad = requests.post(
        s.url("aggregator", f"/api/v1/exports/{PERIOD}.docx"), json={"date": "20/06/2019"}, headers=hq, timeout=15
    )
    assert bad.status_code == 422 and "date" in bad.json()["error"]["fields"]
    # a GET issues nothing: it reads the document last issued, byte for byte (observers read the archive)
    old_link = requests.get(
        s.url("aggregator", f"/api/v1/exports/{PERIOD}.docx?signer={quote('Người khác')}"), headers=observer, timeout=60
    )
    assert old_link.status_code == 200 and old_link.content == docx.content

    archive = s.get("aggregator", f"/api/v1/documents?period={PERIOD}", role="observer").json()["items"]
    assert sorted(r["kind"] for r in archive) == ["csv", "report", "urging_letter", "xlsx"]
    record = next(r for r in archive if r["kind"] == "report")
    assert record["closed"] and record["request"]["standouts"] == [{"agency": "SNV", "reason": None}]
    again = s.get("aggregator", f"/api/v1/documents/{record['id']}", role="observer")
    assert again.content == docx.content and hashlib.sha256(again.content).hexdigest() == record["sha256"]
    data = s.get("aggregator", f"/api/v1/documents/{record['id']}/data", role="observer").json()["data"]
    assert [row["name"] for row in data["late"]] == ["Ủy ban nhân dân huyện Tiểu Cần"]
    assert len(data["annex_rows"]) == 29


def test_a_rebuild_from_the_event_feeds_gives_the_same_read_models(closed_period: TestStack) -> None:
    s = closed_period
    before = (s.compliance(PERIOD), _summary(s))
    s.stack.stop("aggregator-consumer")  # the read models' one writer
    try:
        done = s.dvcq("rebuild-read-models", timeout=180)
        assert done.returncode == 0, done.stderr
        assert "read models rebuilt" in done.stdout
        after = (s.compliance(PERIOD), _summary(s))
    finally:
        s.stack.start("aggregator-consumer")
    assert after == before
    assert before[0]["ACTUAL_REPORTS"] == 3 and before[0]["closed"]
