"""One bad address never stops the alerts (issue 11, "Done when" 7), over real processes and an SMTP server of
the test's own: intake refuses a staff list whose e-mail is not an address; an address that got into the
notifier anyway (inserted straight into its ledger, and into a unit's staff list as an older intake kept it)
makes its own notifications `dead` with a Vietnamese reason while every other one is delivered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient

from services.notifier.domain import EMAIL, PENDING, Notification, message_id_for, notification_id
from services.notifier.store import MongoContactStore, MongoLedgerStore
from shared.plan import Contact
from tests.support import OwnSmtp, TestStack, assert_invariants, notifications, own_smtp, own_stack, wait_for

pytestmark = pytest.mark.timeout(600)
BAD = "nguyễn văn@x"
UNITS = 29
RETRY_ENV = {"DVCQ_NOTIFY_RETRY_BASE_SECONDS": "0.3", "DVCQ_NOTIFY_RETRY_CAP_SECONDS": "1"}


@pytest.fixture(scope="module")
def bad(request: pytest.FixtureRequest) -> Iterator[tuple[TestStack, OwnSmtp]]:
    with own_smtp("b") as smtp, own_stack("b", env={"SMTP_URL": smtp.url, **RETRY_ENV}) as s:
        s.stack.stop("notifier-digest")  # the unit alerts are the subject here
        yield s, smtp


def notifier_db(s: TestStack) -> Any:
    client: MongoClient[dict[str, Any]] = MongoClient(s.space.mongo_url, tz_aware=True)
    return client[f"{s.space.prefix}notifier"]


def test_intake_refuses_a_staff_list_whose_e_mail_is_not_an_address_and_keeps_nothing(bad) -> None:
    s, _ = bad
    staff = [
        {"ho_ten": "Nguyễn Văn A", "chuc_vu": "Chủ tịch", "email": BAD, "alert_role": "head"},
        {"ho_ten": "Lê Thị B", "chuc_vu": "Chuyên viên", "email": "lethib@caukee.travinh.example",
         "dien_thoai": "0912 345 678", "alert_role": "focal"},
    ]  # fmt: skip
    answer = s.post_report("H_CAUKE", "2019-STAFF", {"staff": staff})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["fields"] == {"staff.0.email": "Thư điện tử: không hợp lệ (không được có dấu cách)."}
    assert s.reports_of("H_CAUKE") == []

    staff[0]["email"] = "NguyenVanA@CauKe.TraVinh.example"
    staff[1]["dien_thoai"] = "0294 3852 123"  # a landline: no SMS
    answer = s.post_report("H_CAUKE", "2019-STAFF", {"staff": staff})
    assert answer.status_code == 422 and set(answer.json()["error"]["fields"]) == {"staff.1.dien_thoai"}
    assert "di động" in answer.json()["error"]["fields"]["staff.1.dien_thoai"]
    assert s.reports_of("H_CAUKE") == []


def test_a_bad_address_in_the_ledger_is_dead_with_a_reason_while_every_other_mail_is_delivered(bad) -> None:
    s, smtp = bad
    db = notifier_db(s)
    now = datetime.now(UTC)
    # Straight into the ledger, due before anything else: it heads every batch of every sender.
    nid = notification_id("obligation:H_CAUKE:2019-STAFF:g1:reminder_7", BAD, EMAIL)
    inserted = MongoLedgerStore(db).record(
        Notification(
            id=nid,
            event_id="obligation:H_CAUKE:2019-STAFF:g1:reminder_7",
            event_type="obligation.reminder_due",
            agency="H_CAUKE",
            period="2019-STAFF",
            level="reminder_7",
            recipient=BAD,
            recipient_role="focal",
            recipient_name="Nguyễn Văn",
            channel=EMAIL,
            status=PENDING,
            decided_at=now,
            subject="[Nhắc hạn] thử địa chỉ sai",
            text="Kính gửi: Nguyễn Văn.",
            html="<p>Kính gửi: Nguyễn Văn.</p>",
            message_id=message_id_for(nid, "travinh.example"),
            next_attempt_at=now - timedelta(days=1),
        )
    )
    assert inserted
    # And into H_TIEUCAN's staff list as intake kept it before it checked addresses: the consumer decides for
    # that person without failing, and the sender refuses the address.
    MongoContactStore(db).add(
        "H_TIEUCAN",
        99,
        [
            Contact("focal", "Nguyễn Văn", "Chuyên viên", BAD),
            Contact("head", "Thủ trưởng đơn vị", "Chủ tịch", "thutruong.h-tieucan@travinh.example"),
        ],
        now,
    )
    s.set_clock("2019-06-03T08:00:00+07:00")  # reminder_7 to 29 focal officers, the staff list's escalation_2

    def settled() -> list[dict]:
        notes = notifications(s, "channel=email")
        done = [n for n in notes if n["status"] in ("delivered", "dead")]
        return notes if len(notes) == 2 * UNITS + 1 and len(done) == len(notes) else []

    notes = wait_for(settled, timeout=180, what="every mail delivered or dead")
    dead = [n for n in notes if n["status"] == "dead"]
    assert sorted(n["recipient"] for n in dead) == [BAD, BAD]
    for note in dead:
        assert note["attempts"] == 1 and [a["outcome"] for a in note["attempt_log"]] == ["failed"]
        assert note["last_error"].startswith(f"Địa chỉ thư điện tử của người nhận '{BAD}' không hợp lệ")
        assert "sửa địa chỉ trong danh sách cán bộ" in note["last_error"]
    delivered = [n for n in notes if n["status"] == "delivered"]
    assert len(delivered) == 2 * UNITS - 1 >= 20
    mails = smtp.messages()
    assert Counter(m.message_id for m in mails) == Counter({n["message_id"]: 1 for n in delivered})
    assert {n["recipient"] for n in delivered if n["agency"] == "H_TIEUCAN"} == {"thutruong.h-tieucan@travinh.example"}

    assert_invariants(s, mails=mails)
