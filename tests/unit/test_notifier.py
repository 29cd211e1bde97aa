"""The notifier's decisions, e-mail rendering, retry schedule and delivery ledger, with recording fakes."""

from __future__ import annotations

import email
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy

import pytest

from services.notifier import handlers
from services.notifier.domain import (
    Claim,
    DeliveryFailed,
    MailContext,
    Notification,
    NotificationNotDead,
    NotificationNotFound,
    RetryPolicy,
    delivery_id_for,
    message_id_for,
    notification_id,
)
from services.notifier.mailer import SmtpTransport, build_message
from shared.catalogue import check_event, validate_envelope
from shared.clock import FixedClock
from shared.events import Event, obligation_subject
from shared.plan import load_plan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ
from tests.unit.fakes import FakeContactStore, FakeLedgerStore

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
AGENCY, PERIOD = "H_CAUKE", "2019-H1"
FOCAL = "daumoi.h-cauke@travinh.example"
HEAD = "thutruong.h-cauke@travinh.example"
LEADERSHIP = {r["email"] for r in PLAN.recipients}
SNV = ("snv", "dvcq.snv@travinh.example")
DIRECTOR = ("snv_director", "giamdoc.snv@travinh.example")
VICE_CHAIRMAN = ("ubnd_vice_chairman", "pct.ubnd@travinh.example")
MAIL = MailContext(intake_url="https://dvcq.travinh.example", message_domain="travinh.example")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_seconds=30, cap_seconds=1800, max_attempts=6)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def delivered(event: Event) -> Event:
    """The event as the consumer receives it: JSON over the broker, checked against the catalogue."""
    return validate_envelope(json.loads(json.dumps(event.to_dict())))


def obligation_event(event_type: str, data: dict, *, suffix: str, at: datetime | None = None) -> Event:
    return Event(
        id=f"{obligation_subject(AGENCY, PERIOD)}:{suffix}",
        type=event_type,
        subject=obligation_subject(AGENCY, PERIOD),
        subject_version=7,
        producer="scheduler",
        occurred_at=at or local(2019, 6, 11, 8, 0),
        data={"agency": AGENCY, "period": PERIOD, **data},
    )


def level_event(level: str, days_overdue: int = 0) -> Event:
    kind = {"overdue": "obligation.overdue", "escalation_1": "obligation.escalated"}.get(level)
    kind = kind or ("obligation.escalated" if level.startswith("escalation") else "obligation.reminder_due")
    return obligation_event(
        kind,
        {
            "level": level,
            "generation": 1,
            "due_before": "2019-06-10T17:00:00+00:00",
            "days_overdue": days_overdue,
            "skipped": [],
        },
        suffix=f"g1:{level}",
    )


def decide(
    event: Event,
    *,
    ledger: FakeLedgerStore | None = None,
    contacts: FakeContactStore | None = None,
    plan=PLAN,
) -> FakeLedgerStore:
    ledger = ledger if ledger is not None else FakeLedgerStore()
    handlers.on_obligation_event(
        delivered(event),
        ledger=ledger,
        plan=plan,
        # decided on the level's own day (D + the event's days overdue; 11/06 for a reminder)
        clock=FixedClock(local(2019, 6, 10, 8, 0, 5) + timedelta(days=max(int(event.data.get("days_overdue", 0)), 1))),
        wall=FixedClock(T0),
        contacts=contacts or FakeContactStore(),
        mail=MAIL,
    )
    return ledger


def to(ledger: FakeLedgerStore, channel: str = "email") -> list[tuple[str, str]]:
    return sorted((n.recipient_role, n.recipient) for n in ledger.find(channel=channel))


def email_id(event: Event, recipient: str = HEAD) -> str:
    return notification_id(event.id, recipient, "email")


# deciding: who gets which alert


@pytest.mark.parametrize(
    ("level", "expected", "leaders"),
    [
        ("reminder_7", [("focal", FOCAL)], []),
        ("reminder_1", [("focal", FOCAL), ("head", HEAD)], []),
        ("overdue", [("head", HEAD)], [SNV]),
        ("escalation_1", [("head", HEAD)], [DIRECTOR, SNV]),
        ("escalation_2", [("head", HEAD)], [DIRECTOR, SNV, VICE_CHAIRMAN]),
    ],
)
def test_each_level_goes_to_the_units_people_by_the_plans_roles(level, expected, leaders):
    ledger = decide(level_event(level))
    assert to(ledger) == expected
    # the same people in their inbox, plus the leadership roles of the level's digest (inbox only)
    assert to(ledger, "inbox") == sorted(expected + leaders)
    assert to(ledger, "webhook") == []  # no gateway configured in MAIL
    assert len(ledger.find()) == 2 * len(expected) + len(leaders)


def test_with_a_gateway_a_level_also_goes_to_the_units_people_by_webhook_and_a_receipt_does_not():
    ledger = FakeLedgerStore()
    for event in (level_event("escalation_1", 7), receipt_of_submission()):
        handlers.on_obligation_event(
            delivered(event),
            ledger=ledger,
            plan=PLAN,
            clock=FixedClock(local(2019, 6, 11, 8, 0, 5)),
            wall=FixedClock(T0),
            contacts=FakeContactStore(),
            mail=replace(MAIL, webhook=True),
        )
    (hook,) = ledger.find(channel="webhook")
    assert (hook.recipient, hook.level, hook.status, hook.attempts, hook.next_attempt_at) == (
        HEAD,
        "escalation_1",
        "pending",
        0,
        T0,
    )
    assert hook.message_id == delivery_id_for(hook.id) and hook.html == ""
    assert json.loads(hook.text)["delivery_id"] == hook.message_id
    assert to(ledger) == [("focal", FOCAL), ("head", HEAD)]  # the escalation's and the receipt's mails


def test_an_inbox_item_is_delivered_when_decided_with_its_one_attempt_recorded_once():
    event = level_event("overdue", 1)
    ledger = decide(event)
    decide(event, ledger=ledger)
    items = ledger.find(channel="inbox")
    assert {n.recipient for n in items} == {HEAD, SNV[1]}
    for n in items:
        assert (n.status, n.attempts, n.next_attempt_at, n.delivered_at) == ("delivered", 1, None, T0)
        assert [(a.number, a.outcome, a.channel, a.recipient) for a in ledger.attempts_of([n.id])[n.id]] == [
            (1, "delivered", "inbox", n.recipient)
        ]
    assert sorted((e.type, e.data["notification_id"]) for e in ledger.outbox) == sorted(
        ("notification.delivered", n.id) for n in items
    )
    (snv,) = [n for n in items if n.recipient == SNV[1]]
    assert snv.recipient_name == "Phòng Công chức, viên chức - Sở Nội vụ"
    assert "Ủy ban nhân dân huyện Cầu Kè" in snv.subject and "quá hạn 1 ngày" in snv.subject
    assert "10/06/2019" in snv.subject and "Kính gửi: Phòng Công chức, viên chức - Sở Nội vụ." in snv.text
    assert (snv.level, snv.recipient_role, snv.agency, snv.period) == ("overdue", "snv", AGENCY, PERIOD)
    assert run_sender(ledger, FakeTransport(), FixedClock(T0)) == 1  # only the head's mail is sent


def test_a_decided_mail_is_pending_due_now_on_the_wall_clock_with_a_message_id_fixed_from_its_id():
    event = level_event("overdue", 1)
    (n,) = decide(event).find(channel="email")
    assert n.id == notification_id(event.id, HEAD, "email") == f"{event.id}|{HEAD}|email"
    assert (n.status, n.attempts, n.next_attempt_at, n.channel) == ("pending", 0, T0, "email")
    assert n.decided_at == local(2019, 6, 11, 8, 0, 5)  # business time
    assert n.message_id == message_id_for(n.id, "travinh.example")
    assert n.message_id.startswith("<") and n.message_id.endswith("@travinh.example>") and len(n.message_id) == 50
    assert n.message_id != message_id_for(notification_id(event.id, FOCAL, "email"), "travinh.example")


def test_an_alert_names_the_unit_the_report_the_deadline_the_days_overdue_and_the_form():
    (n,) = decide(level_event("overdue", 1)).find(channel="email")
    assert "Ủy ban nhân dân huyện Cầu Kè" in n.subject and "Báo cáo 6 tháng đầu năm 2019" in n.subject
    assert "10/06/2019" in n.subject and "quá hạn 1 ngày" in n.text
    assert "https://dvcq.travinh.example/reports/2019-H1" in n.text
    assert 'href="https://dvcq.travinh.example/reports/2019-H1"' in n.html
    assert n.recipient_name == "Thủ trưởng đơn vị" and "Thủ trưởng đơn vị" in n.text


@pytest.mark.parametrize(
    ("level", "days", "who"),
    [("escalation_1", 7, "Giám đốc Sở"), ("escalation_2", 10, "Phó Chủ tịch UBND tỉnh phụ trách")],
)
def test_an_escalation_tells_the_head_to_whom_it_was_escalated(level, days, who):
    (n,) = decide(level_event(level, days)).find(channel="email")
    assert who in n.subject and f"Sở Nội vụ đã báo cáo {who} về việc" in n.text
    assert f"quá hạn {days} ngày" in n.text


def test_leadership_never_gets_a_per_unit_mail_even_when_a_policy_names_their_role():
    greedy = tuple(replace(lv, to=(*lv.to, "snv", "snv_director", "ubnd_vice_chairman")) for lv in PLAN.escalation)
    plan = replace(PLAN, escalation=greedy)
    for level, days in (
        ("reminder_7", 0),
        ("reminder_1", 0),
        ("overdue", 1),
        ("escalation_1", 7),
        ("escalation_2", 10),
    ):
        ledger = decide(level_event(level, days), plan=plan)
        mails = ledger.find(channel="email")
        assert mails and not {n.recipient for n in mails} & LEADERSHIP, level
        assert {n.recipient_role for n in mails} <= {"focal", "head"}
        # their inbox follows the level's `digest` roles, not the policy's `to`
        digest = next(lv.digest for lv in PLAN.escalation if lv.level == level)
        leaders = [n for n in ledger.find(channel="inbox") if n.recipient in LEADERSHIP]
        assert sorted(n.recipient_role for n in leaders) == sorted(digest), level


def test_the_same_event_twice_decides_each_mail_once():
    event = level_event("reminder_1")
    ledger = decide(event)
    first = {n.id: n for n in ledger.find()}
    decide(event, ledger=ledger)
    assert {n.id: n for n in ledger.find()} == first and len(first) == 4  # focal and head, mail and inbox
    assert ledger.record_calls == 8 and len(ledger.attempts) == 2 and len(ledger.outbox) == 2


def test_obligation_events_that_alert_nobody_decide_nothing():
    created = obligation_event(
        "obligation.closed", {"status": "closed_by_reorganisation", "reason": "Sáp nhập."}, suffix="closed"
    )
    assert decide(created).find() == []


# deciding: staff lists replace the plan's contacts


def contacts_event(version: int, people: list[dict]) -> Event:
    return Event(
        id=f"unit:{AGENCY}:contacts:2019-STAFF:r{version}",
        type="unit.contacts_changed",
        subject=f"unit:{AGENCY}",
        subject_version=version,
        producer="intake",
        occurred_at=local(2019, 3, 20, 9, 0),
        data={"agency": AGENCY, "contacts": people},
    )


def person(role: str, name: str, email: str | None) -> dict:
    return {"alert_role": role, "name": name, "title": "Chuyên viên", "email": email, "phone": None}


def test_the_latest_staff_list_replaces_the_plans_contacts_whatever_the_order_they_arrive_in():
    staff = FakeContactStore()
    v2 = [
        person("focal", "Nguyễn Thị Lan", "lan.nt@caukee.travinh.example"),
        person("head", "Trần Văn Hùng", "hung.tv@caukee.travinh.example"),
        person("other", "Lê Văn Út", "ut.lv@caukee.travinh.example"),
        person("head", "Phạm Văn Không Thư", None),
    ]
    v1 = [person("focal", "Người cũ", "cu@caukee.travinh.example")]
    assert handlers.on_contacts_changed(delivered(contacts_event(2, v2)), contacts=staff)
    assert handlers.on_contacts_changed(delivered(contacts_event(1, v1)), contacts=staff)
    assert not handlers.on_contacts_changed(delivered(contacts_event(2, v2)), contacts=staff)
    ledger = decide(level_event("reminder_1"), contacts=staff)
    for channel in ("email", "inbox"):
        assert sorted((n.recipient_role, n.recipient, n.recipient_name) for n in ledger.find(channel=channel)) == [
            ("focal", "lan.nt@caukee.travinh.example", "Nguyễn Thị Lan"),
            ("head", "hung.tv@caukee.travinh.example", "Trần Văn Hùng"),
        ], channel
    assert len(ledger.find()) == 4
    assert all(n.recipient_name in n.text for n in ledger.find())
    other_unit = replace(level_event("reminder_1"), data={**level_event("reminder_1").data, "agency": "H_TRACU"})
    other = decide(other_unit, contacts=staff)
    for channel in ("email", "inbox"):
        assert {n.recipient for n in other.find(channel=channel)} == {
            "daumoi.h-tracu@travinh.example",
            "thutruong.h-tracu@travinh.example",
        }, channel


# deciding: receipts to the focal officer


def receipt_of_submission() -> Event:
    return obligation_event(
        "obligation.fulfilled",
        {
            "status": "submitted_late",
            "received_at": "2019-06-12T03:00:00+00:00",
            "due_before": "2019-06-10T17:00:00+00:00",
            "generation": 1,
            "days_late": 2,
            "report_id": "H_CAUKE:2019-H1",
        },
        suffix="fulfilled",
    )


def test_a_submission_receipt_goes_to_the_focal_officer_with_the_verdict():
    ledger = decide(receipt_of_submission())
    (n,) = ledger.find(channel="email")
    assert (n.recipient, n.level, n.kind) == (FOCAL, "receipt", "submitted")
    assert "Đã nhận báo cáo" in n.subject and "trễ hạn" in n.subject
    assert "10:00 12/06/2019" in n.text
    (box,) = ledger.find(channel="inbox")  # the same receipt in the focal officer's inbox, no one else's
    assert (box.recipient, box.kind, box.subject, box.text) == (FOCAL, "submitted", n.subject, n.text)


def test_extension_refusal_and_waiver_receipts_go_to_the_focal_officer():
    extended = obligation_event(
        "obligation.extended",
        {
            "generation": 2,
            "due_before": "2019-06-20T17:00:00+00:00",
            "effective_from": "2019-06-05T03:00:00+00:00",
            "request_id": "r1",
            "reason": "Chờ số liệu.",
            "decided_by": "snv",
        },
        suffix="g2:extended",
    )
    refused = obligation_event(
        "obligation.extension_refused",
        {"request_id": "r2", "reason": "Không có lý do chính đáng.", "decided_by": "snv"},
        suffix="xr:r2:refused",
    )
    waived = obligation_event("obligation.waived", {"reason": "Đơn vị mới thành lập.", "waived_by": "snv"}, suffix="w")
    ledger = FakeLedgerStore()
    for event in (extended, refused, waived):
        decide(event, ledger=ledger)
    notes = {n.kind: n for n in ledger.find(channel="email")}
    assert set(notes) == {"extended", "refused", "waived"}
    assert {n.recipient for n in notes.values()} == {FOCAL}
    assert sorted((n.kind, n.recipient) for n in ledger.find(channel="inbox")) == [
        ("extended", FOCAL),
        ("refused", FOCAL),
        ("waived", FOCAL),
    ]
    assert len(ledger.find()) == 6
    assert "20/06/2019" in notes["extended"].subject
    assert "Không có lý do chính đáng." in notes["refused"].text
    assert "Đơn vị mới thành lập." in notes["waived"].text


# sending: backoff, ledger, dead letters, re-send


class FakeTransport:
    """Records every message handed to it; fails while `failures` lasts (then accepts)."""

    def __init__(self, failures: int = 0, *, permanent: bool = False) -> None:
        self.failures = failures
        self.permanent = permanent
        self.sent: list[tuple[str, str]] = []
        self.tries = 0

    def send(self, notification: Notification) -> None:
        self.tries += 1
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryFailed("SMTP 127.0.0.1:8025 unreachable", permanent=self.permanent)
        self.sent.append((notification.recipient, notification.message_id))


def test_the_backoff_doubles_from_the_base_up_to_the_cap():
    assert [POLICY.delay(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]
    assert RetryPolicy(base_seconds=0.5, cap_seconds=1, max_attempts=3).delay(5) == 1


def run_sender(ledger: FakeLedgerStore, transport: FakeTransport, wall: FixedClock, policy=POLICY) -> int:
    return handlers.deliver_due(ledger=ledger, transport=transport, wall=wall, policy=policy)


def test_failed_sends_are_retried_on_the_backoff_schedule_then_delivered_with_the_same_message_id():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    shelved = list(ledger.outbox)  # the inbox items' deliveries, recorded when decided
    wall = FixedClock(T0)
    transport = FakeTransport(failures=2)
    assert run_sender(ledger, transport, wall) == 1
    n = ledger.get(nid)
    assert (n.status, n.attempts, n.next_attempt_at) == ("failed", 1, T0 + timedelta(seconds=30))
    wall.advance(timedelta(seconds=29))
    assert run_sender(ledger, transport, wall) == 0  # not due yet
    wall.advance(timedelta(seconds=1))
    run_sender(ledger, transport, wall)
    assert ledger.get(nid).next_attempt_at == wall.now() + timedelta(seconds=60)
    wall.advance(timedelta(seconds=60))
    run_sender(ledger, transport, wall)
    n = ledger.get(nid)
    assert (n.status, n.attempts, n.delivered_at, n.last_error) == ("delivered", 3, wall.now(), None)
    assert transport.sent == [(HEAD, n.message_id)]
    wall.advance(timedelta(days=1))
    assert run_sender(ledger, transport, wall) == 0 and transport.tries == 3
    attempts = ledger.attempts_of([nid])[nid]
    assert [(a.number, a.outcome, a.channel, a.recipient) for a in attempts] == [
        (1, "failed", "email", HEAD),
        (2, "failed", "email", HEAD),
        (3, "delivered", "email", HEAD),
    ]
    assert "unreachable" in attempts[0].error and attempts[2].error is None
    assert ledger.outbox[: len(shelved)] == shelved and len(shelved) == 2
    events = ledger.outbox[len(shelved) :]
    assert [e.type for e in events] == ["notification.failed", "notification.failed", "notification.delivered"]
    assert [e.data["attempt"] for e in events] == [1, 2, 3] and len({e.id for e in events}) == 3
    assert {(e.data["notification_id"], e.data["recipient"], e.data["channel"]) for e in events} == {
        (nid, HEAD, "email")
    }
    for event in events:
        check_event(event)


def test_a_notification_is_dead_after_the_last_attempt_and_a_resend_delivers_it_keeping_its_attempts():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    wall = FixedClock(T0)
    transport = FakeTransport(failures=6)
    for _ in range(10):
        run_sender(ledger, transport, wall)
        wall.advance(timedelta(hours=1))
    n = ledger.get(nid)
    assert (n.status, n.attempts, n.next_attempt_at) == ("dead", 6, None)
    assert transport.tries == 6 and ledger.find(status="dead") == [n]
    assert [a.outcome for a in ledger.attempts_of([nid])[nid]] == ["failed"] * 6
    again = handlers.resend(nid, by="chuyenvien@snv", ledger=ledger, wall=wall)
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 6, wall.now())
    assert [r["by"] for r in ledger.resends.values()] == ["chuyenvien@snv"]
    run_sender(ledger, transport, wall)
    n = ledger.get(nid)
    assert (n.status, n.attempts) == ("delivered", 7)
    assert transport.sent == [(HEAD, n.message_id)]
    with pytest.raises(NotificationNotDead):
        handlers.resend(nid, by="chuyenvien@snv", ledger=ledger, wall=wall)


def test_only_a_dead_notification_can_be_resent_and_an_unknown_one_is_not_found():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    with pytest.raises(NotificationNotDead) as refused:
        handlers.resend(nid, by="snv", ledger=ledger, wall=FixedClock(T0))
    assert refused.value.field == "status" and "pending" in refused.value.message
    with pytest.raises(NotificationNotFound):
        handlers.resend(nid + "x", by="snv", ledger=ledger, wall=FixedClock(T0))
    assert ledger.get(nid).status == "pending" and not ledger.resends


def test_a_permanent_refusal_is_dead_at_once():
    ledger = decide(level_event("overdue", 1))
    run_sender(ledger, FakeTransport(failures=1, permanent=True), FixedClock(T0))
    (n,) = ledger.find(channel="email")
    assert (n.status, n.attempts) == ("dead", 1)


def test_an_attempt_recorded_before_a_crash_is_applied_without_sending_again():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    transport = FakeTransport()
    n = ledger.get(nid)
    handlers.deliver(n, ledger=ledger, transport=transport, wall=FixedClock(T0), policy=POLICY)
    ledger.notifications[nid] = n  # the crash: the attempt is recorded, the notification's state is not
    run_sender(ledger, transport, FixedClock(T0 + timedelta(seconds=5)))
    assert ledger.get(nid).status == "delivered" and ledger.get(nid).attempts == 1
    assert len(transport.sent) == 1
    assert [e.data["attempt"] for e in ledger.outbox if e.data["notification_id"] == nid] == [1]
    assert len(ledger.outbox) == 3  # and the two inbox items' deliveries


class ByRecipient(FakeTransport):
    """Raises `error` for one recipient (a record no channel can take), accepts the others."""

    def __init__(self, bad: str, error: Exception) -> None:
        super().__init__()
        self.bad, self.error = bad, error

    def send(self, notification: Notification) -> None:
        self.tries += 1
        if notification.recipient == self.bad:
            raise self.error
        self.sent.append((notification.recipient, notification.message_id))


def bad_address_notification(recipient: str = "nguyễn văn@x") -> Notification:
    """A notification whose address is not one (as if inserted before intake checked addresses)."""
    (n,) = decide(level_event("overdue", 1)).find(channel="email")
    nid = notification_id(n.event_id, recipient, "email")
    return replace(n, id=nid, recipient=recipient, next_attempt_at=T0 - timedelta(days=1))


def test_a_bad_address_at_the_head_of_the_batch_is_dead_at_once_with_a_vietnamese_reason_and_the_rest_go_out():
    ledger = decide(level_event("reminder_1", 0))  # the focal officer and the head
    bad = bad_address_notification()
    ledger.record(bad)
    transport = SmtpTransport("smtp://127.0.0.1:9", "dvcq@travinh.example")  # never reached for the bad one
    with pytest.raises(DeliveryFailed) as refused:
        transport.send(bad)
    assert refused.value.permanent and "không được có dấu cách" in str(refused.value)

    fake = ByRecipient(bad.recipient, refused.value)
    assert run_sender(ledger, fake, FixedClock(T0)) == 3
    dead = ledger.get(bad.id)
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert "Địa chỉ thư điện tử của người nhận" in dead.last_error and "không hợp lệ" in dead.last_error
    assert sorted(r for r, _ in fake.sent) == [FOCAL, HEAD]


def test_an_unexpected_error_while_building_one_mail_fails_that_mail_alone_and_it_is_retried():
    ledger = decide(level_event("reminder_1", 0))
    bad = bad_address_notification("broken@travinh.example")
    ledger.record(bad)
    fake = ByRecipient(bad.recipient, ValueError("not a plain ASCII e-mail address"))
    wall = FixedClock(T0)
    assert run_sender(ledger, fake, wall) == 3
    failed = ledger.get(bad.id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 1, T0 + timedelta(seconds=30))
    assert failed.last_error.startswith("Lỗi khi tạo hoặc gửi thông báo: ValueError")
    assert sorted(r for r, _ in fake.sent) == [FOCAL, HEAD]


def test_while_one_sender_sends_an_attempt_another_sender_leaves_it_alone():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    wall = FixedClock(T0)
    other = FakeTransport()
    seen: list[int] = []

    class Racing(FakeTransport):
        def send(self, notification: Notification) -> None:
            # the other sender's pass runs while this one is inside the SMTP exchange
            seen.append(handlers.deliver_due(ledger=ledger, transport=other, wall=wall, policy=POLICY, holder="b"))
            super().send(notification)

    first = Racing()
    assert handlers.deliver_due(ledger=ledger, transport=first, wall=wall, policy=POLICY, holder="a") == 1
    assert seen == [0] and other.sent == [] and len(first.sent) == 1
    assert ledger.get(nid).status == "delivered"
    assert handlers.deliver_due(ledger=ledger, transport=other, wall=wall, policy=POLICY, holder="b") == 0
    assert list(ledger.claims) == [f"{nid}#1"] and ledger.claims[f"{nid}#1"].holder == "a"


def test_a_claim_whose_sender_died_is_taken_over_after_its_lease_and_sent_with_the_same_message_id():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    n = ledger.get(nid)
    lease = timedelta(seconds=POLICY.lease_seconds)
    assert ledger.claim(Claim(f"{nid}#1", nid, 1, "dead-sender", T0, T0 + lease))  # then it died
    transport = FakeTransport()
    assert run_sender(ledger, transport, FixedClock(T0 + lease - timedelta(seconds=1))) == 0
    assert transport.sent == []
    assert run_sender(ledger, transport, FixedClock(T0 + lease + timedelta(seconds=1))) == 1
    assert transport.sent == [(HEAD, n.message_id)]
    assert sorted(ledger.claims) == [f"{nid}#1", f"{nid}#1#t1"]
    assert (ledger.get(nid).status, ledger.get(nid).attempts) == ("delivered", 1)
    # a second sender arriving later finds the takeover alive and sends nothing
    assert not ledger.claim(Claim(f"{nid}#1", nid, 1, "c", T0 + lease + timedelta(seconds=2), T0 + 2 * lease))


def test_a_stale_copy_from_an_earlier_batch_sends_nothing():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    stale = ledger.get(nid)
    transport = FakeTransport()
    run_sender(ledger, transport, FixedClock(T0))
    assert handlers.deliver(stale, ledger=ledger, transport=transport, wall=FixedClock(T0), policy=POLICY) is None
    assert len(transport.sent) == 1 and ledger.get(nid).attempts == 1


def test_two_resends_of_one_dead_notification_at_once_reopen_it_once():
    event = level_event("overdue", 1)
    ledger = decide(event)
    nid = email_id(event)
    wall = FixedClock(T0)
    run_sender(ledger, FakeTransport(failures=1, permanent=True), wall)
    dead = ledger.get(nid)
    assert dead.status == "dead"
    transport = FakeTransport()
    handlers.resend(nid, by="snv", ledger=ledger, wall=wall)  # the first click
    run_sender(ledger, transport, wall)
    assert ledger.get(nid).status == "delivered" and len(transport.sent) == 1

    # The second click's request read the notification while it was still dead, and writes only now.
    reads, stale = ledger.get, [dead]

    def racing_get(i: str) -> Notification | None:
        return stale.pop() if i == nid and stale else reads(i)

    ledger.get = racing_get  # type: ignore[method-assign]
    try:
        answer = handlers.resend(nid, by="snv", ledger=ledger, wall=wall)
    finally:
        ledger.get = reads  # type: ignore[method-assign]
    assert answer.status == "delivered" and len(ledger.resends) == 1
    run_sender(ledger, transport, wall)
    assert len(transport.sent) == 1 and (ledger.get(nid).status, ledger.get(nid).attempts) == ("delivered", 2)


# the e-mail itself


def test_the_mail_carries_encoded_display_names_the_subject_both_bodies_and_the_stored_message_id():
    (n,) = decide(level_event("escalation_1", 7)).find(channel="email")
    msg = build_message(n, mail_from="dvcq@travinh.example", now=T0)
    raw = msg.as_bytes()
    assert raw.isascii()  # headers RFC 2047-encoded, bodies transfer-encoded
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert str(parsed["To"]) == f"Thủ trưởng đơn vị <{HEAD}>"
    assert str(parsed["From"]) == "Sở Nội vụ tỉnh Trà Vinh <dvcq@travinh.example>"
    assert str(parsed["Subject"]) == n.subject
    assert parsed["Message-ID"] == n.message_id
    assert parsed["Date"].datetime == T0
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == n.text
    assert parsed.get_body(("html",)).get_content().strip() == n.html.strip()


def test_the_smtp_url_gives_host_port_and_credentials():
    plain = SmtpTransport("smtp://127.0.0.1:8025", "dvcq@travinh.example")
    assert (plain.host, plain.port, plain.tls, plain.username) == ("127.0.0.1", 8025, False, None)
    secure = SmtpTransport("smtps://user%40x:p%3Ass@mail.example", "dvcq@travinh.example")
    assert (secure.host, secure.port, secure.tls, secure.username, secure.password) == (
        "mail.example",
        465,
        True,
        "user@x",
        "p:ss",
    )
    with pytest.raises(ValueError):
        SmtpTransport("http://mail.example", "dvcq@travinh.example")


def test_an_unreachable_smtp_server_is_a_temporary_failure():
    from tests.support import free_ports

    (port,) = free_ports(1)
    (n,) = decide(level_event("overdue", 1)).find(channel="email")
    with pytest.raises(DeliveryFailed) as failed:
        SmtpTransport(f"smtp://127.0.0.1:{port}", "dvcq@travinh.example").send(n)
    assert not failed.value.permanent


@pytest.mark.parametrize(
    ("level", "days"), [("reminder_7", 0), ("reminder_1", 0), ("overdue", 1), ("escalation_1", 7), ("escalation_2", 10)]
)
def test_a_long_vietnamese_subject_and_name_survive_folding_with_every_space(level, days):
    staff = FakeContactStore()
    name = "Nguyễn Thị Ngọc Bích Phượng Hoàng Trần Lê Phạm Huỳnh Võ Đặng Bùi Đỗ Hồ Ngô Dương"
    handlers.on_contacts_changed(
        delivered(contacts_event(1, [person("focal", name, FOCAL), person("head", name, HEAD)])), contacts=staff
    )
    mails = decide(level_event(level, days), contacts=staff).find(channel="email")
    assert mails
    for n in mails:
        raw = build_message(n, mail_from="dvcq@travinh.example", now=T0).as_bytes()
        parsed = email.message_from_bytes(raw, policy=default_policy)
        assert str(parsed["Subject"]) == n.subject and len(n.subject) > 78
        assert str(parsed["To"]) == f"{name} <{n.recipient}>"


def test_a_level_decided_late_states_the_days_overdue_of_the_day_it_is_decided():
    ledger = FakeLedgerStore()
    handlers.on_obligation_event(
        delivered(level_event("escalation_2", 10)),
        ledger=ledger,
        plan=PLAN,
        clock=FixedClock(local(2019, 7, 1, 8, 0)),  # a consumer that lagged behind the clock
        wall=FixedClock(T0),
        contacts=FakeContactStore(),
        mail=MAIL,
    )
    (n,) = ledger.find(channel="email")
    assert "quá hạn 21 ngày" in n.subject and "quá hạn 21 ngày" in n.text  # 01/07 - 10/06, not the event's 10


def test_the_fy_escalation_sent_on_17_12_after_a_clock_jump_says_7_days_and_reads_giam_doc_so():
    """FY: D = 10/12/2019; escalation_1 falls on Monday 16/12 (6 days); a jump to 17/12 sends it that day."""
    event = obligation_event(
        "obligation.escalated",
        {"level": "escalation_1", "generation": 1, "due_before": "2019-12-10T17:00:00+00:00", "days_overdue": 6,
         "skipped": ["overdue"]},
        suffix="g1:escalation_1",
        at=local(2019, 12, 17, 8, 0),
    )  # fmt: skip
    event = replace(event, data={**event.data, "period": "2019-FY"}, id=event.id.replace(PERIOD, "2019-FY"))
    ledger = FakeLedgerStore()
    handlers.on_obligation_event(
        delivered(event),
        ledger=ledger,
        plan=PLAN,
        clock=FixedClock(local(2019, 12, 17, 8, 0, 2)),
        wall=FixedClock(T0),
        contacts=FakeContactStore(),
        mail=replace(MAIL, webhook=True),
    )
    (mail,) = ledger.find(channel="email")
    assert "quá hạn 7 ngày" in mail.subject and "đã quá hạn 7 ngày" in mail.text and "hạn 10/12/2019" in mail.subject
    assert "Sở Nội vụ đã báo cáo Giám đốc Sở về việc đơn vị chậm báo cáo." in mail.text
    assert "Sở Nội vụ đã báo cáo Giám đốc Sở Nội vụ" not in mail.text + mail.html
    (hook,) = ledger.find(channel="webhook")
    assert json.loads(hook.text)["days_overdue"] == 7
    inbox = [n for n in ledger.find(channel="inbox") if n.recipient in LEADERSHIP]
    assert inbox and all("quá hạn 7 ngày" in n.subject for n in inbox)
