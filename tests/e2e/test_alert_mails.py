"""Alert and receipt mails over real processes (F7, F9, F6): the simulated clock stepped through 2019-H1, the
mail read back from an SMTP server of the test's own.

H_CAUKE never reports, H_TIEUCAN reports on 05/06 10:00, H_TRACU sends its staff list on 05/06 10:00. Other
units get mail too; each check filters the Maildir by the addresses of the unit it is about.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest

from tests.support import Mail, OwnSmtp, TestStack, own_smtp, own_stack, wait_for

H1 = "Báo cáo 6 tháng đầu năm 2019"
STAFF = "Danh sách cán bộ, công chức phụ trách công tác dân vận chính quyền"
DEADLINE = "10/06/2019"
CAUKE = ("Ủy ban nhân dân huyện Cầu Kè", "daumoi.h-cauke@travinh.example", "thutruong.h-cauke@travinh.example")
TIEUCAN = ("Ủy ban nhân dân huyện Tiểu Cần", "daumoi.h-tieucan@travinh.example", "thutruong.h-tieucan@travinh.example")
TRACU_PLAN = ("daumoi.h-tracu@travinh.example", "thutruong.h-tracu@travinh.example")
TRACU_FOCAL, TRACU_HEAD = "lan.nt@tracu.travinh.example", "hung.tv@tracu.travinh.example"
LEADERSHIP = ("dvcq.snv@travinh.example", "giamdoc.snv@travinh.example", "pct.ubnd@travinh.example")
# The staff list's escalation_2 (due 08/04) is sent at the first step (03/06), with the days overdue of its own
# day as the scheduler's event carries them.
STAFF_DAYS = (date(2019, 4, 8) - date(2019, 3, 29)).days


@pytest.fixture(scope="module")
def mail_stack() -> Iterator[tuple[TestStack, OwnSmtp]]:
    with own_smtp("m") as smtp, own_stack("m", env={"SMTP_URL": smtp.url}) as s:
        yield s, smtp


def _ledger(s: TestStack, query: str) -> list[dict]:
    resp = s.get("notifier", f"/api/v1/notifications?{query}", role="home_affairs")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def _kind(mail: Mail) -> str:
    """Which alert or receipt a mail is, from its Vietnamese subject."""
    for marker, kind in (
        ("[Nhắc hạn]", "reminder_7"),
        ("[Sắp đến hạn]", "reminder_1"),
        ("[Quá hạn ", "overdue"),
        ("đã báo cáo Giám đốc Sở Nội vụ]", "escalation_1"),
        ("đã báo cáo Phó Chủ tịch UBND tỉnh phụ trách]", "escalation_2"),
        ("[Đã nhận báo cáo]", "receipt"),
    ):
        if marker in mail.subject:
            return kind
    return f"unknown: {mail.subject}"


def _check_alert(mail: Mail, unit: str, period: str, deadline: str, days: int | None) -> None:
    assert unicodedata.is_normalized("NFC", mail.subject) and unicodedata.is_normalized("NFC", mail.text)
    assert unit in mail.subject and period in mail.subject and f"hạn {deadline}" in mail.subject, mail.subject
    assert unit in mail.text and deadline in mail.text
    if days is not None:
        assert f"quá hạn {days} ngày" in mail.subject.lower() and f"quá hạn {days} ngày" in mail.text, mail.subject


def test_stepping_through_h1_mails_exactly_the_expected_alerts_and_receipts(mail_stack) -> None:
    s, smtp = mail_stack
    staff_list = [
        {"ho_ten": "Nguyễn Thị Lan", "chuc_vu": "Chuyên viên", "email": TRACU_FOCAL, "alert_role": "focal"},
        {"ho_ten": "Trần Văn Hùng", "chuc_vu": "Chủ tịch UBND huyện", "email": TRACU_HEAD, "alert_role": "head"},
        {"ho_ten": "Lê Văn Út", "chuc_vu": "Văn thư", "email": "ut.lv@tracu.travinh.example", "alert_role": "other"},
    ]
    for step in ("06-03T08:00", "06-05T10:00", "06-06T08:00", "06-07T08:00", "06-11T08:00", "06-17T08:00",
                 "06-20T08:00", "06-30T08:00"):  # fmt: skip
        s.set_clock(f"2019-{step}:00+07:00")
        if step == "06-05T10:00":
            # The staff list must come after the 03/06 reminder was decided (the consumer may lag the clock).
            wait_for(lambda: _ledger(s, "agency=H_TRACU&level=reminder_7"), what="H_TRACU's reminder decided")
            assert s.post_report("H_TIEUCAN", "2019-H1").json()["on_time"] is True
            assert s.post_report("H_TRACU", "2019-STAFF", {"staff": staff_list}).status_code == 201
            wait_for(lambda: _ledger(s, "agency=H_TIEUCAN&level=receipt"), what="H_TIEUCAN's receipt decided")

    # Everything decided for these units has been delivered before the Maildir is counted.
    def settled() -> bool:
        notes = [n for agency in ("H_CAUKE", "H_TIEUCAN", "H_TRACU") for n in _ledger(s, f"agency={agency}")]
        return len(notes) == 18 and all(n["status"] == "delivered" for n in notes)

    wait_for(settled, timeout=60, what="every decided mail delivered")

    name, focal, head = CAUKE
    cauke = smtp.to(focal, head)
    assert Counter((m.to, _kind(m)) for m in cauke) == Counter(
        {
            (head, "escalation_2"): 2,  # the staff list's (at the first step) and H1's
            (focal, "reminder_7"): 1,
            (focal, "reminder_1"): 1,
            (head, "reminder_1"): 1,
            (head, "overdue"): 1,
            (head, "escalation_1"): 1,
        }
    ), [m.subject for m in cauke]
    by = {(m.to, _kind(m), H1 in m.subject): m for m in cauke}
    _check_alert(by[focal, "reminder_7", True], name, H1, DEADLINE, None)
    _check_alert(by[head, "reminder_1", True], name, H1, DEADLINE, None)
    _check_alert(by[head, "overdue", True], name, H1, DEADLINE, 1)
    _check_alert(by[head, "escalation_1", True], name, H1, DEADLINE, 7)
    _check_alert(by[head, "escalation_2", True], name, H1, DEADLINE, 10)
    _check_alert(by[head, "escalation_2", False], name, STAFF, "29/03/2019", STAFF_DAYS)
    assert "Giám đốc Sở Nội vụ" in by[head, "escalation_1", True].text
    assert "Phó Chủ tịch UBND tỉnh phụ trách" in by[head, "escalation_2", True].text
    assert {m.to_name for m in cauke} == {"Cán bộ đầu mối", "Thủ trưởng đơn vị"}
    assert all("/reports/2019-H1" in m.text for m in cauke if H1 in m.subject)
    assert all(m.sender == "Sở Nội vụ tỉnh Trà Vinh <dvcq@travinh.example>" for m in cauke)

    name, focal, head = TIEUCAN
    tieucan = smtp.to(focal, head)
    assert Counter((m.to, _kind(m)) for m in tieucan) == Counter(
        {(head, "escalation_2"): 1, (focal, "reminder_7"): 1, (focal, "receipt"): 1}
    ), [m.subject for m in tieucan]
    (receipt,) = [m for m in tieucan if _kind(m) == "receipt"]
    assert name in receipt.subject and H1 in receipt.subject and "đúng hạn" in receipt.subject
    assert "10:00 05/06/2019" in receipt.text

    # One distinct Message-ID per notification, the one the ledger holds.
    mails = cauke + tieucan
    assert len({m.message_id for m in mails}) == len(mails)
    ledger = {n["message_id"]: n for agency in ("H_CAUKE", "H_TIEUCAN") for n in _ledger(s, f"agency={agency}")}
    assert set(ledger) == {m.message_id for m in mails}
    for mail in mails:
        note = ledger[mail.message_id]
        assert (note["recipient"], note["subject"]) == (mail.to, mail.subject)
        assert [a["outcome"] for a in note["attempt_log"]] == ["delivered"]

    # H_TRACU's staff list replaced the plan's contacts for the alerts after it arrived.
    tracu_h1 = [m for m in smtp.to(*TRACU_PLAN, TRACU_FOCAL, TRACU_HEAD) if H1 in m.subject]
    assert Counter((m.to, _kind(m)) for m in tracu_h1) == Counter(
        {
            (TRACU_PLAN[0], "reminder_7"): 1,  # 03/06, before the staff list
            (TRACU_FOCAL, "reminder_1"): 1,
            (TRACU_HEAD, "reminder_1"): 1,
            (TRACU_HEAD, "overdue"): 1,
            (TRACU_HEAD, "escalation_1"): 1,
            (TRACU_HEAD, "escalation_2"): 1,
        }
    ), [(m.to, m.subject) for m in tracu_h1]
    assert {m.to_name for m in tracu_h1 if m.to in (TRACU_FOCAL, TRACU_HEAD)} == {"Nguyễn Thị Lan", "Trần Văn Hùng"}

    # Leadership gets no per-unit mail (the digest is theirs).
    assert smtp.to(*LEADERSHIP) == []


def test_the_ledger_refuses_unknown_filters_and_callers_without_the_role(mail_stack) -> None:
    s, _ = mail_stack
    bad = s.get("notifier", "/api/v1/notifications?status=sent", role="home_affairs")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"status"}
    assert "status phải là một trong" in bad.json()["error"]["message"]
    bad = s.get("notifier", "/api/v1/notifications?level=reminder_3", role="home_affairs")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"level"}
    assert s.get("notifier", "/api/v1/notifications", role="observer").status_code == 403
    assert s.get("notifier", "/api/v1/notifications?status=dead", role="home_affairs").json() == {
        "items": [],
        "total": 0,
    }
