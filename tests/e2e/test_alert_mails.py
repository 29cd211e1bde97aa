"""Alerts, receipts and digests over real processes (F7, F9, F6): the simulated clock stepped through 2019-H1,
the mail read back from an SMTP server of the test's own, the webhook requests from a gateway stand-in, the
inboxes from the notifier's API.

H_CAUKE never reports, H_TIEUCAN reports on 05/06 10:00, H_TRACU sends its staff list on 05/06 10:00. Other
units get mail too; each check filters the Maildir by the addresses of the unit it is about. A second digest
process runs beside the stack's own (two notifier replicas composing the digest).
"""

from __future__ import annotations

import subprocess
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

import pytest
import requests

from services.notifier.webhook import verify
from shared.settings import ROOT
from tests.support import (
    H1_DIGEST_DAYS,
    TRACU_STAFF,
    Mail,
    OwnSmtp,
    OwnWebhook,
    TestStack,
    notifications,
    own_smtp,
    own_stack,
    step_through_h1,
    wait_for,
)

# The module's stack steps through 2019-H1 in its fixture: over 4 minutes on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)

H1 = "Báo cáo 6 tháng đầu năm 2019"
STAFF = "Danh sách cán bộ, công chức phụ trách công tác dân vận chính quyền"
DEADLINE = "10/06/2019"
CAUKE = ("Ủy ban nhân dân huyện Cầu Kè", "daumoi.h-cauke@travinh.example", "thutruong.h-cauke@travinh.example")
TIEUCAN = ("Ủy ban nhân dân huyện Tiểu Cần", "daumoi.h-tieucan@travinh.example", "thutruong.h-tieucan@travinh.example")
TRACU_PLAN = ("daumoi.h-tracu@travinh.example", "thutruong.h-tracu@travinh.example")
TRACU_FOCAL, TRACU_HEAD = TRACU_STAFF[0]["email"], TRACU_STAFF[1]["email"]
LEADERSHIP = ("dvcq.snv@travinh.example", "giamdoc.snv@travinh.example", "pct.ubnd@travinh.example")
# The staff list's escalation_2 (due 08/04) is sent at the first step (03/06): it states the days overdue on
# the day it is sent, not on its own day.
STAFF_DAYS = (date(2019, 6, 3) - date(2019, 3, 29)).days
WEBHOOK_SECRET = "a-test-gateway-secret-0123456789"
DIGEST_DAYS = H1_DIGEST_DAYS
SNV, DIRECTOR, VICE_CHAIRMAN = LEADERSHIP


@pytest.fixture(scope="module")
def mail_stack() -> Iterator[tuple[TestStack, OwnSmtp, OwnWebhook]]:
    env = {"DVCQ_WEBHOOK_SECRET": WEBHOOK_SECRET}
    with own_smtp("m") as smtp, OwnWebhook() as hook:
        with own_stack("m", env={**env, "SMTP_URL": smtp.url, "DVCQ_WEBHOOK_URL": hook.url}) as s:
            log = open(s.dir / "log" / "extra-digest.log", "ab")  # noqa: SIM115 - the child's
            replica = subprocess.Popen(
                [sys.executable, "-m", "services.notifier.digest"], cwd=ROOT, env=s.env, stdout=log, stderr=log
            )
            try:
                yield s, smtp, hook
            finally:
                replica.terminate()
                replica.wait(timeout=10)
                log.close()


_ledger = notifications


@pytest.fixture(scope="module")
def stepped(mail_stack) -> tuple[TestStack, OwnSmtp, OwnWebhook]:
    """The stepped 2019-H1 scenario, every decided notification of the three units delivered."""
    s, smtp, hook = mail_stack
    step_through_h1(s)

    # Everything decided for these units, and every digest, has been delivered before anything is counted.
    def settled() -> bool:
        notes = [n for agency in ("H_CAUKE", "H_TIEUCAN", "H_TRACU") for n in _ledger(s, f"agency={agency}")]
        mails = [n for n in notes if n["channel"] == "email"]
        digests = _ledger(s, "level=digest")
        return len(mails) == 18 and all(n["status"] == "delivered" for n in notes + digests)

    wait_for(settled, timeout=180, what="every decided notification delivered")
    return s, smtp, hook


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


def test_stepping_through_h1_mails_exactly_the_expected_alerts_and_receipts(stepped) -> None:
    s, smtp, _ = stepped
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
    assert "Sở Nội vụ đã báo cáo Giám đốc Sở về việc" in by[head, "escalation_1", True].text
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
    ledger = {
        n["message_id"]: n for agency in ("H_CAUKE", "H_TIEUCAN") for n in _ledger(s, f"agency={agency}&channel=email")
    }
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

    # Leadership gets no per-unit mail: only the daily digest.
    leadership = smtp.to(*LEADERSHIP)
    assert leadership and all(m.subject.startswith("Tổng hợp đơn vị chậm báo cáo ngày ") for m in leadership)


def test_the_gateway_receives_exactly_the_alerts_signed(stepped) -> None:
    s, _, hook = stepped
    cauke = [h for h in hook.requests if h.json()["agency"] == "H_CAUKE"]
    name, focal, head = CAUKE
    assert Counter((h.json()["recipient"]["email"], h.json()["level"]) for h in cauke) == Counter(
        {
            (head, "escalation_2"): 2,
            (focal, "reminder_7"): 1,
            (focal, "reminder_1"): 1,
            (head, "reminder_1"): 1,
            (head, "overdue"): 1,
            (head, "escalation_1"): 1,
        }
    ), [h.json() for h in cauke]
    ledger = {n["message_id"]: n for n in _ledger(s, "agency=H_CAUKE&channel=webhook")}
    assert len(ledger) == len(cauke) == len({h.headers["x-dvcq-delivery"] for h in cauke})
    for h in cauke:
        body = h.json()
        assert h.headers["content-type"] == "application/json; charset=utf-8"
        assert verify(WEBHOOK_SECRET, h.headers["x-dvcq-timestamp"], h.body, h.headers["x-dvcq-signature"])
        assert not verify(WEBHOOK_SECRET, h.headers["x-dvcq-timestamp"], h.body + b" ", h.headers["x-dvcq-signature"])
        assert abs(int(h.headers["x-dvcq-timestamp"]) - time.time()) < 600
        assert h.headers["x-dvcq-delivery"] == body["delivery_id"]
        note = ledger[body["delivery_id"]]
        assert note["status"] == "delivered" and note["recipient"] == body["recipient"]["email"]
        assert body["event_id"] == note["event_id"] and unicodedata.is_normalized("NFC", body["text"])
        assert name in body["text"] and "hạn 10/06/2019" in body["text"] or "29/03/2019" in body["text"]
    h1 = {
        h.json()["level"]: h.json()
        for h in cauke
        if h.json()["period"] == "2019-H1" and h.json()["recipient"]["email"] == head
    }
    assert h1["escalation_1"]["deadline"] == "2019-06-10" and h1["escalation_1"]["days_overdue"] == 7
    # Receipts stay off the gateway, and the leadership is never on it.
    assert not [h for h in hook.requests if h.json()["agency"] == "H_TIEUCAN" and h.json()["level"] == "receipt"]
    assert not [h for h in hook.requests if h.json()["recipient"]["email"] in LEADERSHIP]


def test_the_digest_of_17_06_lists_every_unit_overdue_for_h1_once(stepped) -> None:
    s, smtp, _ = stepped
    overdue = s.items("scheduler", "/api/v1/obligations", period="2019-H1", status="overdue")
    units = s.items("scheduler", "/api/v1/units")
    order = [u["name"] for u in units if u["code"] in {o["agency"] for o in overdue}]
    assert len(order) == 28  # every unit but H_TIEUCAN

    (digest,) = [m for m in smtp.to(SNV) if m.subject == "Tổng hợp đơn vị chậm báo cáo ngày 17/06/2019"]
    h1 = [line for line in digest.text.splitlines() if f"– {H1} –" in line]
    assert [line.split(" – ")[0].split(". ", 1)[1] for line in h1] == order
    assert all(line.endswith("– hạn 10/06/2019 – quá hạn 7 ngày – Quá hạn") for line in h1), h1
    # The director and the vice-chairman follow escalations: H1 reached them only from 20/06.
    for person in (DIRECTOR, VICE_CHAIRMAN):
        mails = {m.subject[-10:]: m for m in smtp.to(person)}
        assert H1 not in mails["17/06/2019"].text
    (director_20,) = [m for m in smtp.to(DIRECTOR) if m.subject.endswith("20/06/2019")]
    lines = [line for line in director_20.text.splitlines() if f"– {H1} –" in line]
    assert len(lines) == 28 and all(line.endswith("quá hạn 10 ngày – Đã báo cáo Giám đốc Sở Nội vụ") for line in lines)

    # Two digest processes ran: one digest per (recipient, day), in the ledger and in the mailboxes.
    digests = _ledger(s, "level=digest")
    assert Counter((n["recipient"], n["event_id"]) for n in digests).most_common(1)[0][1] == 1
    for person in LEADERSHIP:
        days = Counter(m.subject[-10:] for m in smtp.to(person))
        assert days and max(days.values()) == 1, (person, days)
        assert len({m.message_id for m in smtp.to(person)}) == len(smtp.to(person))
    assert set(Counter(m.subject[-10:] for m in smtp.to(SNV))) <= {
        f"{d[8:]}/{d[5:7]}/{d[:4]}" for d in DIGEST_DAYS
    }  # working days the clock stood on after 07:30; none for Sunday 30/06


def test_each_person_reads_their_own_inbox(stepped) -> None:
    s, _, _ = stepped
    name, focal, head = CAUKE
    officer = {"Authorization": f"Bearer {s.token('agency', 'H_CAUKE', sub=head)}"}
    inbox = s.items("notifier", "/api/v1/inbox", auth=officer)
    assert Counter(i["level"] for i in inbox) == Counter(
        {"escalation_2": 2, "reminder_1": 1, "overdue": 1, "escalation_1": 1}
    )
    assert sum(not i["read"] for i in inbox) == 5 and [i["decided_at"] for i in inbox] == sorted(
        (i["decided_at"] for i in inbox), reverse=True
    )
    first = inbox[0]
    assert name in first["subject"] and first["read"] is False
    url = s.url("notifier", f"/api/v1/inbox/{quote(first['id'], safe='')}/read")
    other = {"Authorization": f"Bearer {s.token('agency', 'H_CAUKE', sub=focal)}"}
    assert requests.post(url, headers=other, timeout=15).status_code == 404  # someone else's item
    done = requests.post(url, headers=officer, timeout=15)
    assert done.status_code == 200 and done.json()["read"] is True
    again = requests.post(url, headers=officer, timeout=15).json()
    assert again["read_at"] == done.json()["read_at"]
    after = s.items("notifier", "/api/v1/inbox", auth=officer, unread="true")
    assert len(after) == 4 and first["id"] not in {i["id"] for i in after}

    # The director's inbox holds every escalation to them and nothing below it; Sở Nội vụ's the overdue too.
    director = {"Authorization": f"Bearer {s.token('home_affairs', sub=DIRECTOR)}"}
    levels = Counter((i["level"], i["period"]) for i in s.items("notifier", "/api/v1/inbox", auth=director))
    assert levels[("escalation_1", "2019-H1")] == 28 and levels[("escalation_2", "2019-H1")] == 28
    assert not {lv for lv, _ in levels} - {"escalation_1", "escalation_2"}
    snv = {"Authorization": f"Bearer {s.token('home_affairs', sub=SNV)}"}
    snv_levels = Counter(i["level"] for i in s.items("notifier", "/api/v1/inbox", auth=snv))
    assert snv_levels["overdue"] == 28
    assert requests.get(s.url("notifier", "/api/v1/inbox?unread=maybe"), headers=snv, timeout=15).status_code == 400


def test_the_ledger_refuses_unknown_filters_and_callers_without_the_role(mail_stack) -> None:
    s, _, _ = mail_stack
    bad = s.get("notifier", "/api/v1/notifications?status=sent", role="home_affairs")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"status"}
    assert "status phải là một trong" in bad.json()["error"]["message"]
    bad = s.get("notifier", "/api/v1/notifications?level=reminder_3", role="home_affairs")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"level"}
    assert s.get("notifier", "/api/v1/notifications", role="observer").status_code == 403
    assert s.get("notifier", "/api/v1/notifications?status=dead", role="home_affairs").json() == {
        "items": [],
        "next": None,
    }
