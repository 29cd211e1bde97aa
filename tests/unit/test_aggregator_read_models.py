"""Aggregator's read models: events delivered twice and out of order fold to the rebuild; closings; F12 data."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.aggregator import handlers
from services.aggregator.consolidation import consolidated_data, standout_reason
from services.aggregator.documents.model import LateUnit, MissingUnit, Standout, UnitText
from services.aggregator.domain import (
    apply_obligation_event,
    apply_report_event,
    closing_id,
    compliance_view,
    new_board_row,
    new_report_row,
    row_id,
)
from services.aggregator.totals.standouts import suggest_standouts
from services.aggregator.totals.sums import period_totals
from services.scheduler.domain import obligations_for_plan, version_at
from services.scheduler.handlers import created_event
from shared.catalogue import check_event
from shared.events import Event, obligation_subject, typed
from shared.plan import load_plan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ, days_late, days_overdue, due_before_for_deadline_day, local_date, local_iso
from tests.unit.fakes import FakeBoardStore, report_event

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
PERIOD = "2019-H1"
ISSUED = datetime(2019, 3, 14, 8, 0, tzinfo=LOCAL_TZ)
D1 = due_before_for_deadline_day(date(2019, 6, 10))  # the plan's deadline: 00:00 local on 11/6
SEEDS = range(200)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


# --- events as the producers publish them ----------------------------------------------------------------------


def created(agency: str) -> Event:
    ob = next(o for o in obligations_for_plan(PLAN) if o.agency == agency and o.period == PERIOD)
    return check_event(created_event(ob, ISSUED))


def obligation(event_type: str, agency: str, at: datetime, name: str, **data: Any) -> Event:
    return check_event(
        Event(
            id=f"{obligation_subject(agency, PERIOD)}:{name}",
            type=event_type,
            subject=obligation_subject(agency, PERIOD),
            subject_version=version_at(at),
            producer="scheduler",
            occurred_at=at,
            data={"agency": agency, "period": PERIOD, **data},
        )
    )


LEVEL_EVENT = {
    "reminder_7": "obligation.reminder_due",
    "reminder_1": "obligation.reminder_due",
    "overdue": "obligation.overdue",
    "escalation_1": "obligation.escalated",
    "escalation_2": "obligation.escalated",
}


def level(agency: str, name: str, at: datetime, *, due_before: datetime = D1, generation: int = 1) -> Event:
    return obligation(
        LEVEL_EVENT[name],
        agency,
        at,
        f"g{generation}:{name}",
        level=name,
        generation=generation,
        due_before=due_before.isoformat(),
        days_overdue=days_overdue(local_date(at), due_before),
        skipped=[],
    )


def fulfilled(agency: str, received_at: datetime, *, due_before: datetime = D1, generation: int = 1) -> Event:
    late = days_late(received_at, due_before)
    return obligation(
        "obligation.fulfilled",
        agency,
        received_at,
        "fulfilled",
        status="submitted_late" if late > 0 else "submitted_on_time",
        received_at=received_at.isoformat(),
        due_before=due_before.isoformat(),
        generation=generation,
        days_late=late,
        report_id=f"{agency}:{PERIOD}",
    )


def extended(agency: str, at: datetime, due_before: datetime, generation: int = 2) -> Event:
    return obligation(
        "obligation.extended",
        agency,
        at,
        f"g{generation}:extended",
        generation=generation,
        due_before=due_before.isoformat(),
        effective_from=at.isoformat(),
        request_id=f"xr-{agency}",
        reason="Chờ số liệu cấp xã.",
        decided_by="snv@travinh.gov.vn",
    )


def waived(agency: str, at: datetime) -> Event:
    return obligation(
        "obligation.waived", agency, at, "waived", reason="Đơn vị sáp nhập.", waived_by="snv@travinh.gov.vn"
    )


def content(agency: str, *, limitations: str | None = None, recommendations: str | None = None, **values: Any) -> dict:
    """A report's content as intake stores it: every template indicator present, null unless given."""
    template = PLAN.template_for(agency, PERIOD)
    assert template is not None
    indicators: dict[str, Any] = dict.fromkeys(template.indicator_keys())
    assert set(values) <= set(indicators), set(values) - set(indicators)
    indicators.update(values)
    return {
        "indicators": indicators,
        "narratives": {f"area_{a}": "Đã triển khai." for a in template.areas},
        "assessment": {"strengths": "Tốt.", "limitations": limitations, "causes": None},
        "next_tasks": "Tiếp tục.",
        "recommendations": recommendations,
    }


def report(agency: str, revision: int, received_at: datetime, amended_at: datetime | None = None, **values: Any):
    """`report.submitted` (revision 1) or `report.amended` as intake publishes them."""
    return check_event(
        report_event(
            agency,
            PERIOD,
            revision,
            received_at,
            content(agency, **values),
            amended_at=amended_at,
            on_time=received_at < D1,
            completeness=0.5,
        )
    )


CLOSED_AT = local(2019, 6, 25, 9, 0)
SNV_LATE = local(2019, 6, 18, 10, 0)
SNV_ESCALATION = local(2019, 6, 17, 8, 0)
D_CAUKE = due_before_for_deadline_day(date(2019, 6, 20))
D_TTR = due_before_for_deadline_day(date(2019, 6, 14))


def published() -> list[Event]:
    """2019-H1 of seven units, every feed in the order its producer published it.

    VP_UBND on time, amended twice (the second after the closing); SNV late after an escalation; H_CAUKE extended
    and then overdue on its new deadline; STP waived after a reminder; TTR extended and on time within it; H_TRACU
    never reports; DAI_PTTH's report, received before the deadline, reached the scheduler after that day's
    `obligation.overdue` (a broker outage), so its fulfilment has a lower version but is published later.
    """
    out: list[tuple[datetime, Event]] = [(ISSUED, created(a)) for a in ("VP_UBND", "SNV", "H_CAUKE", "STP", "TTR")]
    out += [(ISSUED, created(a)) for a in ("H_TRACU", "DAI_PTTH")]
    reminders = {"reminder_7": local(2019, 6, 3, 8, 0), "reminder_1": local(2019, 6, 7, 8, 0)}
    ladder = {**reminders, "overdue": local(2019, 6, 11, 8, 0), "escalation_1": SNV_ESCALATION}
    ladder_full = {**ladder, "escalation_2": local(2019, 6, 20, 8, 0)}

    def with_time(events: Iterable[Event]) -> list[tuple[datetime, Event]]:
        return [(e.occurred_at, e) for e in events]

    out += with_time([level("VP_UBND", "reminder_7", reminders["reminder_7"])])
    out += with_time([fulfilled("VP_UBND", local(2019, 6, 5, 9, 0))])
    out += with_time([report("VP_UBND", 1, local(2019, 6, 5, 9, 0), tcd_luot=10)])
    out += with_time([report("VP_UBND", 2, local(2019, 6, 5, 9, 0), local(2019, 6, 8, 10, 0), tcd_luot=12)])
    out += with_time([report("VP_UBND", 3, local(2019, 6, 5, 9, 0), local(2019, 7, 2, 15, 0), tcd_luot=13)])

    out += with_time(level("SNV", name, at) for name, at in ladder.items())
    out += with_time([fulfilled("SNV", SNV_LATE), report("SNV", 1, SNV_LATE, tcd_luot=4)])

    out += with_time([level("H_CAUKE", "reminder_7", reminders["reminder_7"])])
    out += with_time([extended("H_CAUKE", local(2019, 6, 6, 14, 0), D_CAUKE)])
    out += with_time([level("H_CAUKE", "reminder_1", local(2019, 6, 19, 8, 0), due_before=D_CAUKE, generation=2)])
    out += with_time([level("H_CAUKE", "overdue", local(2019, 6, 21, 8, 0), due_before=D_CAUKE, generation=2)])

    out += with_time([level("STP", "reminder_7", reminders["reminder_7"]), waived("STP", local(2019, 6, 4, 10, 0))])

    out += with_time([level("TTR", "reminder_7", reminders["reminder_7"])])
    out += with_time([extended("TTR", local(2019, 6, 7, 15, 0), D_TTR)])
    out += with_time([fulfilled("TTR", local(2019, 6, 13, 16, 0), due_before=D_TTR, generation=2)])
    out += with_time([report("TTR", 1, local(2019, 6, 13, 16, 0), tcd_luot=7)])
    out += with_time([report("TTR", 2, local(2019, 6, 13, 16, 0), local(2019, 6, 14, 9, 0), tcd_luot=8)])

    out += with_time(level("H_TRACU", name, at) for name, at in ladder_full.items())

    out += with_time(level("DAI_PTTH", name, at) for name, at in ladder.items() if name != "escalation_1")
    received = local(2019, 6, 10, 16, 0)
    out += [(local(2019, 6, 11, 9, 0), report("DAI_PTTH", 1, received, tcd_luot=2))]
    out += [(local(2019, 6, 11, 9, 0), fulfilled("DAI_PTTH", received))]
    return [event for _, event in sorted(out, key=lambda pair: pair[0])]


# --- fakes and the two ways of folding -------------------------------------------------------------------------


class FakeClosingStore:
    """Closings by period, each inserted once."""

    def __init__(self, closed_at: datetime | None = None) -> None:
        self.closings: dict[str, dict[str, Any]] = {}
        if closed_at is not None:
            self.close(PLAN.id, PERIOD, {"plan": PLAN.id, "period": PERIOD, "closed_at": local_iso(closed_at)})

    def close(self, plan_id: str, period: str, closing: dict[str, Any]) -> bool:
        if closing_id(plan_id, period) in self.closings:
            return False
        self.closings[closing_id(plan_id, period)] = dict(closing)
        return True

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        return self.closings.get(closing_id(plan_id, period))


def by_unit(store: FakeBoardStore) -> dict[str, dict]:
    """A period's stored rows by unit code."""
    return {row["agency"]: row for row in store.rows(PLAN.id, PERIOD)}


def deliver(events: Iterable[Event], closed_at: datetime | None = CLOSED_AT) -> tuple[dict, dict]:
    """The consumer's way: each delivery through its handler, against stored rows; the board's and the
    reports' rows by unit code."""
    boards, reports = FakeBoardStore(), FakeBoardStore()
    closings = FakeClosingStore(closed_at)
    for event in events:
        if event.type.startswith("obligation."):
            handlers.on_obligation_event(event, boards=boards, plan=PLAN)
        else:
            handlers.on_report_event(event, reports=reports, closings=closings, plan=PLAN)
    return by_unit(boards), by_unit(reports)


def rebuilt(events: list[Event], closed_at: datetime | None = CLOSED_AT) -> tuple[dict, dict]:
    """`dvcq rebuild-read-models`: every event once, in published order, into empty stores."""
    boards, reports = FakeBoardStore(), FakeBoardStore()
    boards.put(new_board_row(PLAN.id, PERIOD, "SNV"))  # a rebuild replaces what was there
    handlers.rebuild(events, boards=boards, reports=reports, closings=FakeClosingStore(closed_at), plan=PLAN)
    return by_unit(boards), by_unit(reports)


def shuffled_with_duplicates(events: list[Event], seed: int) -> list[Event]:
    rng = random.Random(seed)
    deliveries = events + rng.choices(events, k=rng.randint(1, len(events)))
    rng.shuffle(deliveries)
    return deliveries


def moved_after(events: list[Event], moved: str, anchor: str) -> list[Event]:
    """The published order with the event of id `moved` delivered just after the one of id `anchor`."""
    event = next(e for e in events if e.id == moved)
    out = [e for e in events if e.id != moved]
    at = next(i for i, e in enumerate(out) if e.id == anchor)
    return [*out[: at + 1], event, *out[at + 1 :]]


# --- the rebuild is what the published order says ------------------------------------------------------------


def test_rebuild_folds_each_unit_as_its_published_events_say():
    board, reports = rebuilt(published())
    units = board
    assert {a: e["status"] for a, e in units.items()} == {
        "VP_UBND": "submitted_on_time",
        "SNV": "submitted_late",
        "H_CAUKE": "pending",
        "STP": "waived",
        "TTR": "submitted_on_time",
        "H_TRACU": "pending",
        "DAI_PTTH": "submitted_on_time",
    }
    assert {a: e["level"] for a, e in units.items()} == {
        "VP_UBND": "reminder_7",
        "SNV": "escalation_1",
        "H_CAUKE": "overdue",
        "STP": "reminder_7",
        "TTR": "reminder_7",
        "H_TRACU": "escalation_2",
        "DAI_PTTH": "overdue",
    }
    assert (units["H_CAUKE"]["due_before"], units["H_CAUKE"]["generation"]) == (D_CAUKE.isoformat(), 2)
    assert units["H_CAUKE"]["extended"] is True
    assert units["SNV"]["days_late"] == 8
    assert {a: (e["revision"], e["after_close"]) for a, e in reports.items()} == {
        "VP_UBND": (3, [3]),
        "SNV": (1, []),
        "TTR": (2, []),
        "DAI_PTTH": (1, []),
    }
    assert reports["VP_UBND"]["content"]["indicators"]["tcd_luot"] == 13


def test_published_order_delivered_twice_equals_the_rebuild():
    events = published()
    assert deliver(events + events) == rebuilt(events)


# --- any order, with duplicates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("closed_at", [CLOSED_AT, None], ids=["closed", "open"])
def test_reports_delivered_twice_and_out_of_order_equal_the_rebuild(closed_at: datetime | None):
    events = published()
    _, expected = rebuilt(events, closed_at)
    for seed in SEEDS:
        _, got = deliver(shuffled_with_duplicates(events, seed), closed_at)
        assert got == expected, f"seed {seed}"


def test_board_statuses_delivered_twice_and_out_of_order_equal_the_rebuild():
    events = published()
    fields = ("status", "received_at", "days_late", "version")
    board, _ = rebuilt(events)
    expected = {a: {f: e.get(f) for f in fields} for a, e in board.items()}
    for seed in SEEDS:
        got, _ = deliver(shuffled_with_duplicates(events, seed))
        assert {a: {f: e.get(f) for f in fields} for a, e in got.items()} == expected, f"seed {seed}"


def test_board_delivered_twice_and_out_of_order_equals_the_rebuild():
    events = published()
    expected, _ = rebuilt(events)
    for seed in SEEDS:
        got, _ = deliver(shuffled_with_duplicates(events, seed))
        assert got == expected, f"seed {seed}"


def unit_after(order: list[Event], agency: str) -> tuple[dict, dict]:
    """A unit's board entry delivered in `order` and rebuilt from the published order; the other units agree."""
    got, expected = deliver(order)[0], rebuilt(published())[0]
    assert {a: e for a, e in got.items() if a != agency} == {a: e for a, e in expected.items() if a != agency}
    return got[agency], expected[agency]


# --- the two named cases -------------------------------------------------------------------------------------------

SNV_ESCALATED = f"{obligation_subject('SNV', PERIOD)}:g1:escalation_1"
SNV_FULFILLED = f"{obligation_subject('SNV', PERIOD)}:fulfilled"


def test_amendment_delivered_before_its_submission_equals_the_rebuild():
    events = published()
    submitted = f"report:VP_UBND:{PERIOD}:r1:submitted"
    for amendment in ("r2", "r3"):
        order = moved_after(events, submitted, f"report:VP_UBND:{PERIOD}:{amendment}:amended")
        assert deliver(order)[1] == rebuilt(events)[1], amendment


def test_amendment_then_its_submission_keeps_the_amendment():
    doc = new_report_row(PLAN.id, PERIOD, "TTR")
    first = report("TTR", 1, local(2019, 6, 13, 16, 0), tcd_luot=7)
    second = report("TTR", 2, local(2019, 6, 13, 16, 0), local(2019, 6, 14, 9, 0), tcd_luot=8)
    assert apply_report_event(doc, typed(second), None) is True
    assert apply_report_event(doc, typed(first), None) is False
    assert (doc["revision"], doc["content"]["indicators"]["tcd_luot"]) == (2, 8)
    assert doc["received_at"] == local(2019, 6, 13, 16, 0).astimezone(UTC).isoformat()  # kept as UTC text
    assert doc["revised_at"] == "2019-06-14T09:00:00+07:00"


def test_escalation_delivered_after_fulfilment_keeps_the_unit_submitted():
    events = published()
    expected = rebuilt(events)[0]["SNV"]
    got = deliver(moved_after(events, SNV_ESCALATED, SNV_FULFILLED))[0]["SNV"]
    late_text = SNV_LATE.astimezone(UTC).isoformat()  # the board keeps instants as UTC text
    assert (got["status"], got["received_at"], got["days_late"]) == ("submitted_late", late_text, 8)
    assert got["version"] == expected["version"] == version_at(SNV_LATE)


def test_escalation_delivered_after_fulfilment_leaves_the_board_equal_to_the_rebuild():
    got, expected = unit_after(moved_after(published(), SNV_ESCALATED, SNV_FULFILLED), "SNV")
    assert got == expected


# --- other orders that do not converge (same cause: an older event is dropped whole) ----------------------------


def test_extension_delivered_after_a_later_level_of_its_generation_equals_the_rebuild():
    subject = obligation_subject("H_CAUKE", PERIOD)
    got, expected = unit_after(moved_after(published(), f"{subject}:g2:extended", f"{subject}:g2:overdue"), "H_CAUKE")
    assert got == expected


@pytest.mark.parametrize(
    ("agency", "moved", "anchor"),
    [
        ("STP", "g1:reminder_7", "waived"),  # level None, rebuild reminder_7
        ("TTR", "g2:extended", "fulfilled"),  # `extended` missing, rebuild True
    ],
    ids=["reminder-after-waiver", "extension-after-fulfilment"],
)
def test_older_event_delivered_after_a_final_one_equals_the_rebuild(agency: str, moved: str, anchor: str):
    subject = obligation_subject(agency, PERIOD)
    got, expected = unit_after(moved_after(published(), f"{subject}:{moved}", f"{subject}:{anchor}"), agency)
    assert got == expected


def test_waiver_delivered_first_equals_the_rebuild():
    events = published()
    waiver = next(e for e in events if e.id == f"{obligation_subject('STP', PERIOD)}:waived")
    got, expected = unit_after([waiver, *(e for e in events if e is not waiver)], "STP")
    assert got == expected


# --- revisions after the closing -----------------------------------------------------------------------------------


def test_revisions_after_the_closing_are_listed_after_close():
    doc = new_report_row(PLAN.id, PERIOD, "SNV")
    received = local(2019, 6, 5, 9, 0)
    assert apply_report_event(doc, typed(report("SNV", 1, received)), CLOSED_AT) is True
    assert doc["after_close"] == []
    assert apply_report_event(doc, typed(report("SNV", 2, received, local(2019, 6, 24, 17, 0))), CLOSED_AT) is True
    assert doc["after_close"] == []
    assert apply_report_event(doc, typed(report("SNV", 3, received, local(2019, 6, 26, 8, 0))), CLOSED_AT) is True
    assert doc["after_close"] == [3]
    assert doc["revision"] == 3


def test_a_first_submission_after_the_closing_is_listed_by_its_receipt():
    doc = new_report_row(PLAN.id, PERIOD, "H_TRACU")
    received = local(2019, 6, 27, 9, 0)
    assert apply_report_event(doc, typed(report("H_TRACU", 1, received)), CLOSED_AT) is True
    assert apply_report_event(doc, typed(report("H_TRACU", 2, received, local(2019, 6, 28, 9, 0))), CLOSED_AT) is True
    assert doc["after_close"] == [1, 2]


def test_an_amendment_is_judged_by_its_own_instant_not_the_first_receipt():
    doc = new_report_row(PLAN.id, PERIOD, "VP_UBND")
    received = local(2019, 6, 5, 9, 0)
    late = report("VP_UBND", 2, received, local(2019, 7, 2, 15, 0))
    assert apply_report_event(doc, typed(late), CLOSED_AT) is True
    assert doc["after_close"] == [2]


def test_after_close_compares_instants_across_offsets():
    # The closing is 09:00 local = 02:00 UTC; 01:30 UTC is before it and 03:00 UTC after it.
    received = local(2019, 6, 5, 9, 0)
    before = report("SNV", 2, received, datetime(2019, 6, 25, 1, 30, tzinfo=UTC))
    after = report("SNV", 3, received, datetime(2019, 6, 25, 3, 0, tzinfo=UTC))
    doc = new_report_row(PLAN.id, PERIOD, "SNV")
    apply_report_event(doc, typed(before), CLOSED_AT)
    assert doc["after_close"] == []
    apply_report_event(doc, typed(after), CLOSED_AT)
    assert doc["after_close"] == [3]


def test_a_revision_at_the_closing_instant_is_not_after_it():
    doc = new_report_row(PLAN.id, PERIOD, "SNV")
    apply_report_event(doc, typed(report("SNV", 2, local(2019, 6, 5, 9, 0), CLOSED_AT)), CLOSED_AT)
    assert doc["after_close"] == []


def test_an_older_revision_after_the_closing_delivered_late_is_listed_but_not_kept():
    doc = new_report_row(PLAN.id, PERIOD, "SNV")
    received = local(2019, 6, 5, 9, 0)
    second = report("SNV", 2, received, local(2019, 6, 26, 8, 0), tcd_luot=2)
    third = report("SNV", 3, received, local(2019, 6, 27, 8, 0), tcd_luot=3)
    assert apply_report_event(doc, typed(third), CLOSED_AT) is True
    assert apply_report_event(doc, typed(second), CLOSED_AT) is True
    assert (doc["revision"], doc["after_close"], doc["content"]["indicators"]["tcd_luot"]) == (3, [2, 3], 3)


def test_redelivered_revisions_change_nothing():
    doc = new_report_row(PLAN.id, PERIOD, "SNV")
    received = local(2019, 6, 5, 9, 0)
    events = [
        report("SNV", 1, received),
        report("SNV", 2, received, local(2019, 6, 20, 8, 0)),
        report("SNV", 3, received, local(2019, 6, 26, 8, 0)),
        report("SNV", 4, received, local(2019, 6, 27, 8, 0)),
    ]
    for event in events:
        assert apply_report_event(doc, typed(event), CLOSED_AT) is True
    before = copy.deepcopy(doc)
    for event in events:
        assert apply_report_event(doc, typed(event), CLOSED_AT) is False, event.id
    assert doc == before
    assert doc["_id"] == row_id(PLAN.id, PERIOD, "SNV")


# --- the consolidated data ------------------------------------------------------------------------------------------

NOW = local(2019, 6, 20, 10, 0)
LATE = {"SYT": local(2019, 6, 11, 8, 0), "STP": local(2019, 6, 12, 9, 0), "H_CAUKE": local(2019, 6, 14, 15, 0)}
NOT_REPORTED = ("SKHCN", "BDT", "TX_DUYENHAI", "H_TIEUCAN", "H_TRACU", "H_DUYENHAI")
EXPECTED_UNITS = [u.code for u in PLAN.expected_units(PLAN.period(PERIOD))]  # type: ignore[arg-type]
ON_TIME = [a for a in EXPECTED_UNITS if a not in LATE and a not in NOT_REPORTED]


def tthc(before: int, on_time: int, late: int) -> dict[str, int]:
    """Dossiers resolved before, on and after their due date (the parts of `tthc_ty_le_dung_truoc_han`)."""
    return {
        "tthc_da_giai_quyet_truoc_han": before,
        "tthc_da_giai_quyet_dung_han": on_time,
        "tthc_da_giai_quyet_tre_han": late,
    }


def consolidation_inputs() -> tuple[dict, dict[str, dict]]:
    board = {agency: new_board_row(PLAN.id, PERIOD, agency) for agency in EXPECTED_UNITS}
    for agency in EXPECTED_UNITS:
        event = created(agency)
        apply_obligation_event(board[agency], typed(event), event.subject_version)
    for agency in EXPECTED_UNITS:
        if agency in NOT_REPORTED:
            event = level(agency, "overdue", local(2019, 6, 11, 8, 0))
        else:
            event = fulfilled(agency, LATE.get(agency, local(2019, 6, 6, 9, 0)))
        apply_obligation_event(board[agency], typed(event), event.subject_version)
    texts: dict[str, dict[str, Any]] = {
        "VP_UBND": {"limitations": "Một số đơn vị chậm gửi báo cáo.", "recommendations": "Tăng cường đôn đốc."},
        "STP": {"limitations": "  \n  ", "recommendations": "Đề nghị mở lớp tập huấn\n  kỹ năng dân vận."},
        "H_CAUKE": {"limitations": "Thiếu   kinh phí\ncho tuyên truyền."},
        "SNV": {"limitations": "Cán bộ kiêm nhiệm nhiều việc."},
    }
    figures = {"VP_UBND": tthc(3, 1, 4), "SNV": tthc(30, 10, 0), "STP": tthc(6, 1, 1), "H_CAUKE": tthc(50, 20, 10)}
    reports = {}
    for index, agency in enumerate(reversed(EXPECTED_UNITS)):  # not in official order on purpose
        if agency in NOT_REPORTED:
            continue
        values = {"tcd_luot": index + 1, **figures.get(agency, {})}
        reports[agency] = {"revision": 1, "content": content(agency, **texts.get(agency, {}), **values)}
    reports["H_CAUKE"]["content"]["indicators"]["tcd_luot"] = None  # reported, left blank
    return board, reports


def consolidate(chosen: tuple[tuple[str, str | None], ...] = ()) -> Any:
    board, reports = consolidation_inputs()
    view = compliance_view(PLAN, PERIOD, board.values(), NOW)
    expected = [r["agency"] for r in view["units"] if r["status"] not in ("waived", "closed_by_reorganisation")]
    totals = period_totals(PLAN, PERIOD, {a: r["content"] for a, r in reports.items()}, expected=expected)
    suggestions = suggest_standouts(totals)
    data = consolidated_data(
        PLAN,
        PERIOD,
        board=view,
        reports=reports,
        totals=totals,
        suggestions=suggestions,
        chosen=chosen,
        now=NOW,
    )
    return data, suggestions


def name(agency: str) -> str:
    unit = PLAN.unit(agency)
    assert unit is not None
    return unit.name


def test_annex_has_one_row_per_expected_unit_in_official_order():
    data, _ = consolidate()
    assert len(EXPECTED_UNITS) == 29
    assert [r.code for r in data.annex_rows] == EXPECTED_UNITS
    assert [r.name for r in data.annex_rows] == [name(a) for a in EXPECTED_UNITS]
    assert (data.compliance.expected, data.compliance.actual, data.compliance.on_time) == (29, 23, 20)


def test_annex_cells_are_blank_for_units_that_did_not_report():
    data, _ = consolidate()
    rows = {r.code: r for r in data.annex_rows}
    keys = [c.key for c in data.annex_columns]
    assert "tcd_luot" in keys and "tthc_ty_le_dung_truoc_han" in keys
    for agency in NOT_REPORTED:
        assert all(rows[agency].values[k] is None for k in keys), agency
    assert rows["H_CAUKE"].values["tcd_luot"] is None  # left blank in its report
    assert rows["H_DUYENHAI"].values["tcd_luot"] is None
    assert rows["VP_UBND"].values["tcd_luot"] == 29  # the last of the reversed official order
    assert rows["SNV"].values["tcd_luot"] == 28
    assert rows["SNV"].values["tthc_ty_le_dung_truoc_han"] == 100.0
    assert rows["VP_UBND"].values["tthc_ty_le_dung_truoc_han"] == 50.0
    assert rows["H_CAUKE"].values["tthc_ty_le_dung_truoc_han"] == 87.5
    assert rows["SYT"].values["tthc_ty_le_dung_truoc_han"] is None  # reported, parts blank


def test_late_lists_exactly_the_units_submitted_late():
    data, _ = consolidate()
    assert list(data.late) == [
        LateUnit(name("STP"), date(2019, 6, 12), 2),
        LateUnit(name("SYT"), date(2019, 6, 11), 1),
        LateUnit(name("H_CAUKE"), date(2019, 6, 14), 4),
    ]


def test_missing_lists_exactly_the_overdue_units():
    data, _ = consolidate()
    assert list(data.missing) == [MissingUnit(name(a), 10) for a in NOT_REPORTED]


def test_texts_of_sections_ii_to_iv_come_from_the_units_content_in_official_order():
    data, _ = consolidate()
    assert list(data.difficulties) == [
        UnitText(name("VP_UBND"), "Một số đơn vị chậm gửi báo cáo."),
        UnitText(name("SNV"), "Cán bộ kiêm nhiệm nhiều việc."),
        UnitText(name("H_CAUKE"), "Thiếu kinh phí cho tuyên truyền."),
    ]
    assert list(data.recommendations) == [
        UnitText(name("VP_UBND"), "Tăng cường đôn đốc."),
        UnitText(name("STP"), "Đề nghị mở lớp tập huấn kỹ năng dân vận."),
    ]
    assert data.causes == ()
    assert [t.unit for t in data.strengths] == [name(a) for a in EXPECTED_UNITS if a not in NOT_REPORTED]


def test_chosen_standouts_without_a_reason_get_the_suggestions_reason():
    data, suggestions = consolidate((("SNV", None), ("H_CAUKE", "Làm tốt công tác tiếp công dân."), ("NOPE", None)))
    assert standout_reason("SNV", suggestions) == "Tỷ lệ hồ sơ giải quyết trước và đúng hạn: 100,0%"
    assert list(data.standouts) == [
        Standout(name("SNV"), "Tỷ lệ hồ sơ giải quyết trước và đúng hạn: 100,0%"),
        Standout(name("H_CAUKE"), "Làm tốt công tác tiếp công dân."),
    ]


def test_a_waived_unit_leaves_annex_i_and_the_lists():
    board, reports = consolidation_inputs()
    board["H_TRACU"] = {**board["H_TRACU"], "status": "waived"}
    view = compliance_view(PLAN, PERIOD, board.values(), NOW)
    totals = period_totals(PLAN, PERIOD, {a: r["content"] for a, r in reports.items()})
    data = consolidated_data(PLAN, PERIOD, board=view, reports=reports, totals=totals, now=NOW)
    assert [r.code for r in data.annex_rows] == [a for a in EXPECTED_UNITS if a != "H_TRACU"]
    assert name("H_TRACU") not in [m.name for m in data.missing]
    assert data.compliance.expected == 28
