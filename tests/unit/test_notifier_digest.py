"""The notifier's daily digest, inbox and webhook channel over the Trà Vinh 2019 plan, with recording fakes.

The digest is computed from obligation facts by the plan's rules at 07:30 local; 2019-H1 has its deadline day
on 10/06/2019 (Monday), so its ladder is overdue 11/06, escalation_1 17/06 (15/06 is a Saturday) and
escalation_2 20/06, each at 08:00 local.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notifier import handlers
from services.notifier.domain import (
    DeliveryFailed,
    Fact,
    MailContext,
    Notification,
    NotificationNotFound,
    delivery_id_for,
    digest_event_id,
    digest_instant,
    fact_of,
    message_id_for,
    notification_id,
    overdue_at,
)
from services.notifier.webhook import WebhookTransport, signature, verify
from services.scheduler import handlers as scheduler
from services.scheduler.domain import obligations_for_plan
from shared.catalogue import validate_envelope
from shared.clock import FixedClock
from shared.events import Event, obligation_subject, typed
from shared.plan import load_plan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ
from tests.support import free_ports
from tests.unit.fakes import FakeContactStore, FakeFactStore, FakeInboxStore, FakeLedgerStore

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
H1, STAFF = "2019-H1", "2019-STAFF"
ISSUED = datetime(2019, 3, 14, 8, 0, tzinfo=LOCAL_TZ)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the wall clock
MAIL = MailContext(intake_url="https://dvcq.travinh.example", message_domain="travinh.example")
EMAIL_OF = {r["role"]: r["email"] for r in PLAN.recipients}
SNV, DIRECTOR, VICE_CHAIRMAN = EMAIL_OF["snv"], EMAIL_OF["snv_director"], EMAIL_OF["ubnd_vice_chairman"]
FOCAL = "daumoi.h-cauke@travinh.example"
HEAD = "thutruong.h-cauke@travinh.example"
LATE_UNITS = ("H_CAUKE", "VP_UBND", "STP")  # unit orders 24, 1, 3
SECRET = "khoa-bi-mat-cua-cong-nhan-tin-2019"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def delivered(event: Event) -> Event:
    """The event as the consumer receives it: JSON over the broker, checked against the catalogue."""
    return validate_envelope(json.loads(json.dumps(event.to_dict())))


def obligation_event(event_type: str, agency: str, period: str, data: dict, *, at: datetime, suffix: str) -> Event:
    """An obligation event with the catalogue's data for its type (instants as ISO strings), as delivered."""
    return delivered(
        Event(
            id=f"{obligation_subject(agency, period)}:{suffix}",
            type=event_type,
            subject=obligation_subject(agency, period),
            subject_version=2,
            producer="scheduler",
            occurred_at=at,
            data={"agency": agency, "period": period, **data},
        )
    )


def fact(event: Event) -> Fact:
    return fact_of(event.id, event.occurred_at, typed(event))


def created(agency: str, period: str = H1) -> Fact:
    unit, cal = PLAN.unit(agency), PLAN.period(period)
    assert unit is not None and cal is not None and cal.due_before is not None
    data = {
        "generation": 1,
        "due_before": cal.due_before.isoformat(),
        "deadline_day": cal.deadline_day.isoformat(),
        "unit_name": unit.name,
        "unit_order": unit.order,
        "unit_types": list(unit.types),
        "status": "pending",
    }
    return fact(obligation_event("obligation.created", agency, period, data, at=ISSUED, suffix="created"))


def fulfilled(agency: str, received_at: datetime, *, seen_at: datetime | None = None) -> Fact:
    """A late H1 report received at `received_at`; the scheduler may announce it later (`seen_at`)."""
    data = {
        "status": "submitted_late",
        "received_at": received_at.isoformat(),
        "due_before": local(2019, 6, 11, 0, 0).isoformat(),
        "generation": 1,
        "days_late": (received_at.astimezone(LOCAL_TZ).date() - date(2019, 6, 10)).days,
        "report_id": f"{agency}:{H1}",
    }
    event = obligation_event("obligation.fulfilled", agency, H1, data, at=seen_at or received_at, suffix="fulfilled")
    return fact(event)


def extended(agency: str, due_before: datetime, *, effective_from: datetime, granted_at: datetime) -> Fact:
    data = {
        "generation": 2,
        "due_before": due_before.isoformat(),
        "effective_from": effective_from.isoformat(),
        "request_id": "xr-1",
        "reason": "Chờ số liệu tổng hợp.",
        "decided_by": "chuyenvien@snv.travinh.example",
    }
    return fact(obligation_event("obligation.extended", agency, H1, data, at=granted_at, suffix="g2:extended"))


def waived(agency: str, at: datetime) -> Fact:
    data = {"reason": "Đơn vị sáp nhập.", "waived_by": "snv"}
    return fact(obligation_event("obligation.waived", agency, H1, data, at=at, suffix="waived"))


def closed(agency: str, at: datetime) -> Fact:
    data = {"status": "closed_by_reorganisation", "reason": "Giải thể theo quyết định."}
    return fact(obligation_event("obligation.closed", agency, H1, data, at=at, suffix="closed"))


def listed(facts: list[Fact], at: datetime) -> list[tuple[str, str, int, str]]:
    return [(e.period, e.agency, e.days_overdue, e.level) for e in overdue_at(PLAN, facts, at)]


# digest_instant: 07:30 local on working days


@pytest.mark.parametrize(
    "now",
    [
        local(2019, 6, 15, 10, 0),  # Saturday
        local(2019, 6, 16, 10, 0),  # Sunday
        local(2019, 9, 2, 10, 0),  # Quốc khánh, a Monday
        local(2019, 4, 30, 10, 0),  # 30/4, a Tuesday
        local(2019, 6, 17, 7, 29, 59),  # a Monday, just before 07:30
        local(2019, 6, 17, 0, 0),
    ],
)
def test_there_is_no_digest_on_weekends_holidays_and_before_half_past_seven(now):
    assert digest_instant(PLAN, now) is None


@pytest.mark.parametrize(
    "now", [local(2019, 6, 17, 7, 30), local(2019, 6, 17, 8, 0), local(2019, 6, 17, 15, 0), local(2019, 6, 17, 23, 59)]
)
def test_from_half_past_seven_on_a_working_day_the_digest_instant_is_that_days_half_past_seven(now):
    at = digest_instant(PLAN, now)
    assert at == local(2019, 6, 17, 7, 30)
    assert at is not None and at.utcoffset() == timedelta(0)  # a business instant, in UTC


def test_the_digest_instant_follows_the_local_date_not_the_utc_one():
    # 07:45 local on Monday 17/06 is still Sunday 16/06 in UTC
    assert digest_instant(PLAN, datetime(2019, 6, 17, 0, 45, tzinfo=UTC)) == local(2019, 6, 17, 7, 30)
    # 06:45 local on Saturday 22/06 is Friday 21/06 23:45 in UTC
    assert digest_instant(PLAN, datetime(2019, 6, 21, 23, 45, tzinfo=UTC)) is None


# overdue_at: who is late at an instant, by the rules


def test_fact_of_takes_the_business_instant_of_each_kind_of_event():
    c = created("H_CAUKE")
    assert (c.type, c.agency, c.period, c.at) == ("obligation.created", "H_CAUKE", H1, ISSUED)
    assert (c.due_before, c.unit_name, c.unit_order, c.status) == (
        local(2019, 6, 11, 0, 0),
        "Ủy ban nhân dân huyện Cầu Kè",
        24,
        "pending",
    )
    f = fulfilled("H_CAUKE", local(2019, 6, 14, 9, 0), seen_at=local(2019, 6, 18, 9, 0))
    assert f.at == local(2019, 6, 14, 9, 0)  # its report's receipt, not when it was announced
    x = extended("H_CAUKE", local(2019, 6, 21, 0, 0), effective_from=local(2019, 6, 17, 10, 0), granted_at=ISSUED)
    assert (x.at, x.due_before) == (local(2019, 6, 17, 10, 0), local(2019, 6, 21, 0, 0))  # its effective_from
    assert waived("H_CAUKE", local(2019, 6, 12, 9, 0)).at == local(2019, 6, 12, 9, 0)
    assert closed("H_CAUKE", local(2019, 6, 12, 9, 0)).at == local(2019, 6, 12, 9, 0)


def test_the_consumer_keeps_each_obligation_events_fact_once_and_only_those_facts():
    facts, ledger = FakeFactStore(), FakeLedgerStore()
    ob = next(o for o in obligations_for_plan(PLAN) if (o.agency, o.period) == ("H_CAUKE", H1))
    created_event = delivered(scheduler.created_event(ob, ISSUED))
    level = obligation_event(
        "obligation.overdue",
        "H_CAUKE",
        H1,
        {
            "level": "overdue",
            "generation": 1,
            "due_before": local(2019, 6, 11, 0, 0).isoformat(),
            "days_overdue": 1,
            "skipped": [],
        },
        at=local(2019, 6, 11, 8, 0),
        suffix="g1:overdue",
    )
    for event in (created_event, created_event, level):
        handlers.on_obligation_event(
            event,
            ledger=ledger,
            plan=PLAN,
            clock=FixedClock(local(2019, 6, 11, 8, 0)),
            wall=FixedClock(T0),
            contacts=FakeContactStore(),
            mail=MAIL,
            facts=facts,
        )
    assert list(facts.facts) == [created_event.id]
    assert facts.facts[created_event.id] == fact(created_event) == created("H_CAUKE")
    assert listed(facts.all(), local(2019, 6, 17, 7, 30)) == [(H1, "H_CAUKE", 7, "overdue")]


def test_a_unit_with_only_its_created_fact_is_listed_once_with_the_level_that_has_come():
    facts = [created("H_CAUKE"), created("H_CAUKE")]  # the same event twice: one entry
    (entry,) = overdue_at(PLAN, facts, local(2019, 6, 17, 7, 30))
    assert (entry.agency, entry.period, entry.unit_name, entry.unit_order) == (
        "H_CAUKE",
        H1,
        "Ủy ban nhân dân huyện Cầu Kè",
        24,
    )
    assert (entry.deadline, entry.days_overdue, entry.level) == (date(2019, 6, 10), 7, "overdue")
    assert listed(facts, local(2019, 6, 17, 8, 30)) == [(H1, "H_CAUKE", 7, "escalation_1")]
    assert listed(facts, local(2019, 6, 20, 7, 30)) == [(H1, "H_CAUKE", 10, "escalation_1")]
    assert listed(facts, local(2019, 6, 20, 8, 0)) == [(H1, "H_CAUKE", 10, "escalation_2")]


def test_nothing_is_listed_before_the_overdue_rung_has_come():
    facts = [created("H_CAUKE")]
    assert listed(facts, local(2019, 6, 10, 23, 59)) == []  # not yet late
    assert listed(facts, local(2019, 6, 11, 7, 30)) == []  # late, but the overdue rung fires at 08:00
    assert listed(facts, local(2019, 6, 11, 8, 0)) == [(H1, "H_CAUKE", 1, "overdue")]


def test_a_unit_fulfilled_before_the_instant_is_not_listed_and_one_fulfilled_after_it_is():
    at = local(2019, 6, 17, 7, 30)
    before = [created("H_CAUKE"), fulfilled("H_CAUKE", local(2019, 6, 14, 9, 0))]
    assert listed(before, at) == []
    # received on Friday, announced after the digest's instant: counts from its receipt
    late_news = [created("H_CAUKE"), fulfilled("H_CAUKE", local(2019, 6, 14, 9, 0), seen_at=local(2019, 6, 17, 9))]
    assert listed(late_news, at) == []
    after = [created("H_CAUKE"), fulfilled("H_CAUKE", local(2019, 6, 17, 9, 0))]
    assert listed(after, at) == [(H1, "H_CAUKE", 7, "overdue")]


def test_waived_and_closed_obligations_are_not_listed_from_their_instant():
    at = local(2019, 6, 17, 7, 30)
    assert listed([created("H_CAUKE"), waived("H_CAUKE", local(2019, 6, 12, 9, 0))], at) == []
    assert listed([created("H_CAUKE"), closed("H_CAUKE", local(2019, 6, 12, 9, 0))], at) == []
    assert listed([created("H_CAUKE"), waived("H_CAUKE", local(2019, 6, 17, 9, 0))], at) == [
        (H1, "H_CAUKE", 7, "overdue")
    ]


def test_an_extension_in_force_at_the_instant_moves_the_deadline_and_one_effective_later_does_not():
    at = local(2019, 6, 17, 7, 30)
    to_20_06 = local(2019, 6, 21, 0, 0)  # deadline day 20/06
    granted = extended("H_CAUKE", to_20_06, effective_from=local(2019, 6, 14, 10, 0), granted_at=local(2019, 6, 14))
    assert listed([created("H_CAUKE"), granted], at) == []
    assert listed([created("H_CAUKE"), granted], local(2019, 6, 21, 8, 0)) == [(H1, "H_CAUKE", 1, "overdue")]
    (entry,) = overdue_at(PLAN, [granted, created("H_CAUKE")], local(2019, 6, 21, 8, 0))
    assert entry.deadline == date(2019, 6, 20)
    later = extended("H_CAUKE", to_20_06, effective_from=local(2019, 6, 17, 10, 0), granted_at=local(2019, 6, 14))
    assert listed([created("H_CAUKE"), later], at) == [(H1, "H_CAUKE", 7, "overdue")]


def test_entries_are_ordered_by_period_deadline_then_unit_order_whatever_the_order_of_the_facts():
    facts = [
        created("H_TRACU"),
        created("STP", STAFF),
        created("VP_UBND"),
        created("H_CAUKE", STAFF),
        created("STP"),
        created("VP_UBND", STAFF),
    ]
    # 2019-STAFF: deadline day 29/03/2019, 80 days before 17/06, long past escalation_2
    assert listed(facts, local(2019, 6, 17, 7, 30)) == [
        (STAFF, "VP_UBND", 80, "escalation_2"),
        (STAFF, "STP", 80, "escalation_2"),
        (STAFF, "H_CAUKE", 80, "escalation_2"),
        (H1, "VP_UBND", 7, "overdue"),
        (H1, "STP", 7, "overdue"),
        (H1, "H_TRACU", 7, "overdue"),
    ]


# compose_digest: one mail per plan recipient and local date


def compose(ledger: FakeLedgerStore, facts: FakeFactStore, at: datetime) -> date | None:
    return handlers.compose_digest(
        plan=PLAN, facts=facts, ledger=ledger, clock=FixedClock(at), wall=FixedClock(T0), mail=MAIL
    )


def h1_late_facts() -> FakeFactStore:
    facts = FakeFactStore()
    for agency in LATE_UNITS:
        facts.add(created(agency))
    return facts


def digests_of(ledger: FakeLedgerStore, day: date) -> dict[str, Notification]:
    return {n.recipient: n for n in ledger.find(event_id=digest_event_id(PLAN, day))}


def test_on_the_escalation_1_day_only_so_noi_vu_gets_the_digest_listing_each_late_unit_once():
    ledger, facts = FakeLedgerStore(), h1_late_facts()
    assert compose(ledger, facts, local(2019, 6, 17, 8, 0)) == date(2019, 6, 17)
    (n,) = ledger.find()
    assert (
        n.id
        == f"digest:{PLAN.id}:2019-06-17|{SNV}|email"
        == notification_id(digest_event_id(PLAN, date(2019, 6, 17)), SNV, "email")
    )
    assert (n.recipient, n.recipient_role, n.channel, n.level, n.kind, n.event_type) == (
        SNV,
        "snv",
        "email",
        "digest",
        "digest",
        "digest",
    )
    assert (n.status, n.attempts, n.next_attempt_at) == ("pending", 0, T0)
    assert n.decided_at == local(2019, 6, 17, 7, 30)
    assert n.message_id == message_id_for(n.id, "travinh.example")
    assert n.subject == "Tổng hợp đơn vị chậm báo cáo ngày 17/06/2019"
    names = [PLAN.unit(code).name for code in ("VP_UBND", "STP", "H_CAUKE")]  # the plan's unit order
    assert [n.text.count(name) for name in names] == [1, 1, 1]
    assert n.text.index(names[0]) < n.text.index(names[1]) < n.text.index(names[2])
    assert n.text.count("quá hạn 7 ngày") == 3 and "hạn 10/06/2019" in n.text
    assert "Tổng số: 3 đơn vị chậm báo cáo." in n.text
    assert all(name in n.html for name in names)
    assert DIRECTOR not in digests_of(ledger, date(2019, 6, 17))
    assert VICE_CHAIRMAN not in digests_of(ledger, date(2019, 6, 17))


def test_composing_the_same_day_again_inserts_nothing_new():
    ledger, facts = FakeLedgerStore(), h1_late_facts()
    compose(ledger, facts, local(2019, 6, 17, 8, 0))
    first = {n.id: n for n in ledger.find()}
    assert compose(ledger, facts, local(2019, 6, 17, 8, 0)) == date(2019, 6, 17)
    assert compose(ledger, facts, local(2019, 6, 17, 16, 0)) == date(2019, 6, 17)  # another replica, later
    assert {n.id: n for n in ledger.find()} == first and len(first) == 1


def test_the_leadership_get_the_digest_from_the_first_0730_after_their_level_has_come():
    ledger, facts = FakeLedgerStore(), h1_late_facts()
    # escalation_1 fired at 08:00 on 17/06: from 18/06 the director's digest lists the units
    compose(ledger, facts, local(2019, 6, 18, 8, 0))
    assert set(digests_of(ledger, date(2019, 6, 18))) == {SNV, DIRECTOR}
    # 20/06 is the escalation_2 day, but at 07:30 its 08:00 rung has not come: not yet the vice-chairman's
    compose(ledger, facts, local(2019, 6, 20, 8, 0))
    on_20 = digests_of(ledger, date(2019, 6, 20))
    assert set(on_20) == {SNV, DIRECTOR}
    assert on_20[DIRECTOR].text.count("quá hạn 10 ngày") == 3
    assert on_20[DIRECTOR].text.count("Đã báo cáo Giám đốc Sở Nội vụ") == 3
    compose(ledger, facts, local(2019, 6, 21, 8, 0))
    on_21 = digests_of(ledger, date(2019, 6, 21))
    assert set(on_21) == {SNV, DIRECTOR, VICE_CHAIRMAN}
    for n in on_21.values():
        assert n.text.count("quá hạn 11 ngày") == 3 and n.text.count("Đã báo cáo lãnh đạo UBND tỉnh") == 3
    assert len(ledger.find()) == 7


def test_there_is_no_digest_on_a_saturday_nor_before_half_past_seven_nor_for_nobody_late():
    ledger, facts = FakeLedgerStore(), h1_late_facts()
    assert compose(ledger, facts, local(2019, 6, 22, 8, 0)) is None
    assert compose(ledger, facts, local(2019, 6, 17, 7, 29)) is None
    assert ledger.find() == [] and ledger.record_calls == 0
    assert compose(ledger, FakeFactStore(), local(2019, 6, 17, 8, 0)) == date(2019, 6, 17)
    assert ledger.find() == []


# the inbox


def decide(event: Event, ledger: FakeLedgerStore, at: datetime, *, staff: FakeContactStore | None = None) -> None:
    handlers.on_obligation_event(
        event,
        ledger=ledger,
        plan=PLAN,
        clock=FixedClock(at),
        wall=FixedClock(T0),
        contacts=staff or FakeContactStore(),
        mail=MAIL,
    )


def level_event(level: str, days_overdue: int, at: datetime, *, agency: str = "H_CAUKE") -> Event:
    event_type = {"overdue": "obligation.overdue", "escalation_1": "obligation.escalated"}.get(
        level, "obligation.reminder_due"
    )
    data = {
        "level": level,
        "generation": 1,
        "due_before": local(2019, 6, 11, 0, 0).isoformat(),
        "days_overdue": days_overdue,
        "skipped": [],
    }
    return obligation_event(event_type, agency, H1, data, at=at, suffix=f"g1:{level}")


def h_cauke_alerts() -> FakeLedgerStore:
    ledger = FakeLedgerStore()
    decide(level_event("reminder_1", 0, local(2019, 6, 7, 8, 0)), ledger, local(2019, 6, 7, 8, 0, 3))
    decide(level_event("overdue", 1, local(2019, 6, 11, 8, 0)), ledger, local(2019, 6, 11, 8, 0, 3))
    decide(level_event("escalation_1", 7, local(2019, 6, 17, 8, 0)), ledger, local(2019, 6, 17, 8, 0, 3))
    return ledger


def test_a_persons_inbox_holds_their_inbox_items_newest_first_all_unread():
    ledger, reads = h_cauke_alerts(), FakeInboxStore()
    items = handlers.inbox(HEAD, ledger=ledger, reads=reads).items
    assert [(n.level, n.channel, n.recipient, read) for n, read in items] == [
        ("escalation_1", "inbox", HEAD, None),
        ("overdue", "inbox", HEAD, None),
        ("reminder_1", "inbox", HEAD, None),
    ]
    assert all(n.text.startswith("Kính gửi: ") for n, _ in items)  # each with its text (the page leaves it out)
    assert [n.level for n, _ in handlers.inbox(FOCAL, ledger=ledger, reads=reads).items] == ["reminder_1"]
    assert [n.level for n, _ in handlers.inbox(SNV, ledger=ledger, reads=reads).items] == ["escalation_1", "overdue"]
    assert [n.level for n, _ in handlers.inbox(DIRECTOR, ledger=ledger, reads=reads).items] == ["escalation_1"]
    assert handlers.inbox(VICE_CHAIRMAN, ledger=ledger, reads=reads).items == []
    # the login's e-mail as typed: case and surrounding spaces do not matter
    assert [n.id for n, _ in handlers.inbox(f" {HEAD.upper()} ", ledger=ledger, reads=reads).items] == [
        n.id for n, _ in items
    ]


def test_marking_an_item_read_keeps_the_first_read_time():
    ledger, reads = h_cauke_alerts(), FakeInboxStore()
    (newest, _), (older, _), _ = handlers.inbox(HEAD, ledger=ledger, reads=reads).items
    item, read_at = handlers.mark_read(older.id, person=HEAD, ledger=ledger, reads=reads, wall=FixedClock(T0))
    assert (item.id, read_at) == (older.id, T0)
    later = FixedClock(T0 + timedelta(hours=3))
    assert handlers.mark_read(older.id, person=HEAD, ledger=ledger, reads=reads, wall=later) == (item, T0)
    assert reads.reads == {older.id: {"by": HEAD, "at": T0}}
    assert [(n.id, read) for n, read in handlers.inbox(HEAD, ledger=ledger, reads=reads).items][:2] == [
        (newest.id, None),
        (older.id, T0),
    ]


def test_someone_elses_item_a_mail_and_an_unknown_id_are_not_found_in_ones_inbox():
    ledger, reads = h_cauke_alerts(), FakeInboxStore()
    overdue = level_event("overdue", 1, local(2019, 6, 11, 8, 0))
    heads_item = notification_id(overdue.id, HEAD, "inbox")
    assert ledger.get(heads_item) is not None
    for nid, person in (
        (heads_item, FOCAL),
        (heads_item, SNV),
        (notification_id(overdue.id, HEAD, "email"), HEAD),
        (heads_item + "x", HEAD),
    ):
        with pytest.raises(NotificationNotFound) as missing:
            handlers.mark_read(nid, person=person, ledger=ledger, reads=reads, wall=FixedClock(T0))
        assert missing.value.field == "id"
    assert reads.reads == {}


def test_an_address_spelt_with_capitals_in_the_staff_list_still_sees_its_inbox():
    staff = FakeContactStore()
    contacts = [{"alert_role": "head", "name": "Trần Văn Hùng", "title": "", "email": "Hung.TV@CauKe.vn"}]
    handlers.on_contacts_changed(
        delivered(
            Event(
                id="unit:H_CAUKE:contacts:2019-STAFF:r1",
                type="unit.contacts_changed",
                subject="unit:H_CAUKE",
                subject_version=1,
                producer="intake",
                occurred_at=local(2019, 3, 20, 9, 0),
                data={"agency": "H_CAUKE", "contacts": contacts},
            )
        ),
        contacts=staff,
    )
    ledger = FakeLedgerStore()
    decide(level_event("overdue", 1, local(2019, 6, 11, 8, 0)), ledger, local(2019, 6, 11, 8, 0), staff=staff)
    assert len(ledger.find(channel="inbox", agency="H_CAUKE")) == 2  # the head's and Sở Nội vụ's
    # the login's e-mail is lower-cased by the accounts (services.intake.accounts.domain), as inbox() expects
    items = handlers.inbox("hung.tv@cauke.vn", ledger=ledger, reads=FakeInboxStore()).items
    assert [n.level for n, _ in items] == ["overdue"]


# the webhook channel


def webhook_notification(*, phone: str | None = None, level: str = "escalation_1", days: int = 7) -> Notification:
    staff = None
    if phone is not None:
        staff = FakeContactStore()
        head = {"alert_role": "head", "name": "Trần Văn Hùng", "title": "Chủ tịch", "email": HEAD, "phone": phone}
        handlers.on_contacts_changed(
            delivered(
                Event(
                    id="unit:H_CAUKE:contacts:2019-STAFF:r2",
                    type="unit.contacts_changed",
                    subject="unit:H_CAUKE",
                    subject_version=2,
                    producer="intake",
                    occurred_at=local(2019, 3, 20, 9, 0),
                    data={"agency": "H_CAUKE", "contacts": [head]},
                )
            ),
            contacts=staff,
        )
    ledger = FakeLedgerStore()
    handlers.on_obligation_event(
        level_event(level, days, local(2019, 6, 17, 8, 0)),
        ledger=ledger,
        plan=PLAN,
        clock=FixedClock(local(2019, 6, 17, 8, 0, 3)),
        wall=FixedClock(T0),
        contacts=staff or FakeContactStore(),
        mail=replace(MAIL, webhook=True),
    )
    (n,) = ledger.find(channel="webhook")  # the unit's head only: leadership never get a text message
    return n


def test_the_signature_is_the_hex_hmac_sha256_of_timestamp_dot_body():
    body = json.dumps({"text": "Quá hạn 7 ngày"}, ensure_ascii=False).encode("utf-8")
    expected = hmac.new(SECRET.encode(), b"1560733200." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, "1560733200", body) == f"sha256={expected}"
    assert verify(SECRET, "1560733200", body, f"sha256={expected}")
    assert not verify(SECRET, "1560733201", body, f"sha256={expected}")
    assert not verify(SECRET, "1560733200", body + b" ", f"sha256={expected}")
    assert not verify(SECRET + "x", "1560733200", body, f"sha256={expected}")
    assert not verify(SECRET, "1560733200", body, expected)  # without its `sha256=` prefix


def test_the_webhook_body_names_the_delivery_the_unit_the_deadline_and_the_person():
    n = webhook_notification(phone="0912 345 678")
    body = json.loads(n.text)
    event_id = f"{obligation_subject('H_CAUKE', H1)}:g1:escalation_1"
    assert n.id == notification_id(event_id, HEAD, "webhook")
    assert body == {
        "delivery_id": delivery_id_for(n.id),
        "notification_id": n.id,
        "event_id": event_id,
        "event_type": "obligation.escalated",
        "level": "escalation_1",
        "agency": "H_CAUKE",
        "period": H1,
        "deadline": "2019-06-10",
        "days_overdue": 7,
        "recipient": {"name": "Trần Văn Hùng", "role": "head", "email": HEAD, "phone": "0912 345 678"},
        "text": n.subject,
    }
    assert n.message_id == body["delivery_id"] and len(n.message_id) == 32  # no Message-ID brackets
    assert unicodedata.is_normalized("NFC", body["text"])
    assert "Ủy ban nhân dân huyện Cầu Kè" in body["text"] and "quá hạn 7 ngày" in body["text"]
    assert "Cầu Kè" in n.text  # UTF-8 JSON, not \\u escapes
    assert n.html == ""


def test_without_a_staff_list_the_webhook_body_has_no_phone():
    body = json.loads(webhook_notification(level="overdue", days=7).text)
    assert body["recipient"] == {"name": "Thủ trưởng đơn vị", "role": "head", "email": HEAD, "phone": None}
    assert (body["level"], body["days_overdue"], body["event_type"]) == ("overdue", 7, "obligation.overdue")


class Gateway:
    """A local HTTP server standing for the SMS/Zalo gateway: records each request, answers `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                gateway.requests.append((self.path, dict(self.headers.items()), body))
                answer = b'{"ok": false}' if gateway.status >= 300 else b'{"ok": true}'
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/dvcq"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    g.thread.start()
    yield g
    g.server.shutdown()
    g.server.server_close()
    g.thread.join(timeout=5)


def test_a_webhook_is_posted_signed_with_its_delivery_id_and_the_bytes_decided(gateway):
    n = webhook_notification(phone="0912345678")
    before = int(time.time())
    WebhookTransport(gateway.url, SECRET).send(n)
    WebhookTransport(gateway.url, SECRET).send(n)  # a retry: the same delivery id and body
    (path, headers, body), (_, again, body_again) = gateway.requests
    assert path == "/hooks/dvcq"
    assert body == body_again == n.text.encode("utf-8")
    assert headers["X-Dvcq-Delivery"] == again["X-Dvcq-Delivery"] == n.message_id == delivery_id_for(n.id)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    stamp = headers["X-Dvcq-Timestamp"]
    assert stamp.isdigit() and before <= int(stamp) <= int(time.time())
    assert verify(SECRET, stamp, body, headers["X-Dvcq-Signature"])
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Dvcq-Signature"] == f"sha256={expected}"


@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (503, False), (429, False), (408, False), (400, True), (404, True)]
)
def test_a_gateway_error_is_a_failed_delivery_permanent_only_for_a_client_error(gateway, status, permanent):
    gateway.status = status
    with pytest.raises(DeliveryFailed) as failed:
        WebhookTransport(gateway.url, SECRET).send(webhook_notification())
    assert failed.value.permanent is permanent
    assert str(status) in str(failed.value)
    assert len(gateway.requests) == 1


def test_an_unreachable_gateway_is_a_temporary_failure():
    (port,) = free_ports(1)
    with pytest.raises(DeliveryFailed) as failed:
        WebhookTransport(f"http://127.0.0.1:{port}/hooks", SECRET).send(webhook_notification())
    assert failed.value.permanent is False


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification.id)


def test_by_channel_hands_each_notification_to_its_channels_transport_and_refuses_an_unconfigured_one():
    mail, hook = Recorder(), Recorder()
    n = webhook_notification()
    handlers.ByChannel({"email": mail, "webhook": hook}).send(n)
    assert (mail.sent, hook.sent) == ([], [n.id])
    with pytest.raises(DeliveryFailed) as failed:
        handlers.ByChannel({"email": mail}).send(n)
    assert failed.value.permanent is True and mail.sent == []
