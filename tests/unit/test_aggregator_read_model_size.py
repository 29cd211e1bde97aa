"""The aggregator's read models at national scale: 20,000 units with full reports per period, folded by the
consumer's own handlers, give no stored document over 1 MB (the old one-document-per-period layout would not
fit in MongoDB's 16 MB)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import bson

from services.aggregator import handlers
from services.aggregator.domain import board_key
from services.intake.schemas import MAX_TEXT
from services.scheduler.domain import version_at
from shared.catalogue import check_event
from shared.events import Event, obligation_subject
from shared.plan import Template, load_plan
from shared.settings import ROOT
from shared.timerules import LOCAL_TZ, due_before_for_deadline_day, local_iso
from tests.unit.fakes import report_event

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
PERIOD = "2019-H1"
UNITS = 20_000
ONE_MB = 1024 * 1024
MONGODB_LIMIT = 16 * ONE_MB
ISSUED = datetime(2019, 3, 14, 8, 0, tzinfo=LOCAL_TZ)
DUE = due_before_for_deadline_day(date(2019, 6, 10))
EXTENDED_DUE = due_before_for_deadline_day(date(2019, 6, 20))
RECEIVED = datetime(2019, 6, 18, 9, 0, tzinfo=LOCAL_TZ)
CLOSED_AT = datetime(2019, 6, 25, 9, 0, tzinfo=LOCAL_TZ)
# A plausible full narrative (Vietnamese, 2,000 characters) for every unit; one unit writes MAX_TEXT in every field.
FULL_TEXT = ("Đã tổ chức tiếp công dân, đối thoại với nhân dân và giải quyết dứt điểm các kiến nghị. " * 24)[:2000]
LONGEST_TEXT = ("Ư" * MAX_TEXT)[:MAX_TEXT]


def richest_template() -> Template:
    """The template of the period with the most indicators and content areas (the largest full report)."""
    templates = [t for u in PLAN.units if (t := PLAN.template_for(u.code, PERIOD)) is not None]
    return max(templates, key=lambda t: (len(t.indicator_keys()), len(t.areas)))


TEMPLATE = richest_template()


def full_content(text: str, seed: int) -> dict[str, Any]:
    """A report with every indicator and every text of the template filled."""
    return {
        "indicators": {key: 10**11 + seed + i for i, key in enumerate(TEMPLATE.indicator_keys())},
        "narratives": {f"area_{a}": text for a in TEMPLATE.areas},
        "assessment": {"strengths": text, "limitations": text, "causes": text},
        "next_tasks": text,
        "recommendations": text,
    }


def obligation_events(agency: str) -> list[Event]:
    """The scheduler's events of a unit that was reminded, went overdue, got an extension, was escalated on it
    and reported late."""
    subject = obligation_subject(agency, PERIOD)

    def event(type_: str, at: datetime, name: str, **data: Any) -> Event:
        return Event(
            id=f"{subject}:{name}",
            type=type_,
            subject=subject,
            subject_version=version_at(at),
            producer="scheduler",
            occurred_at=at,
            data={"agency": agency, "period": PERIOD, **data},
        )

    def level(type_: str, name: str, at: datetime, generation: int, due: datetime) -> Event:
        days = max(0, (at.date() - due.date()).days + 1)
        return event(
            type_, at, f"g{generation}:{name}",
            level=name, generation=generation, due_before=due.isoformat(), days_overdue=days, skipped=[],
        )  # fmt: skip

    return [
        event(
            "obligation.created",
            ISSUED,
            "created",
            generation=1,
            due_before=DUE.isoformat(),
            deadline_day="2019-06-10",
            unit_name=f"Đơn vị {agency}",
            unit_order=1,
            unit_types=["SO"],
            status="pending",
        ),  # fmt: skip
        level("obligation.reminder_due", "reminder_7", datetime(2019, 6, 3, 8, 0, tzinfo=LOCAL_TZ), 1, DUE),
        level("obligation.overdue", "overdue", datetime(2019, 6, 11, 8, 0, tzinfo=LOCAL_TZ), 1, DUE),
        event(
            "obligation.extended",
            datetime(2019, 6, 12, 10, 0, tzinfo=LOCAL_TZ),
            "g2:extended",
            generation=2,
            due_before=EXTENDED_DUE.isoformat(),
            effective_from=local_iso(ISSUED),
            request_id="xr",
            reason="Chờ số liệu cấp xã.",
            decided_by="snv@travinh.gov.vn",
        ),  # fmt: skip
        level("obligation.escalated", "escalation_1", datetime(2019, 6, 17, 8, 0, tzinfo=LOCAL_TZ), 2, EXTENDED_DUE),
        event(
            "obligation.fulfilled",
            RECEIVED,
            "fulfilled",
            status="submitted_on_time",
            received_at=RECEIVED.isoformat(),
            due_before=EXTENDED_DUE.isoformat(),
            generation=2,
            days_late=0,
            report_id=f"{agency}:{PERIOD}",
        ),  # fmt: skip
    ]


def report_events(agency: str, text: str, seed: int) -> list[Event]:
    """A full report submitted, amended before the closing and twice after it."""
    out = []
    amended = [None, RECEIVED + timedelta(days=2), CLOSED_AT + timedelta(days=1), CLOSED_AT + timedelta(days=3)]
    for revision, at in enumerate(amended, start=1):
        content = full_content(text, seed + revision)
        out.append(report_event(agency, PERIOD, revision, RECEIVED, content, amended_at=at))
    return out


class Closed:
    """The period closed at CLOSED_AT, so the later revisions are listed after the closing."""

    def close(self, plan_id: str, period: str, closing: dict[str, Any]) -> bool:
        return False

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        return {"closed_at": local_iso(CLOSED_AT)}


class SizedRows:
    """Rows by `_id` without copies (the fakes' deep copies would take minutes at this scale), each measured as
    the store would receive it: its BSON size."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def get(self, plan_id: str, period: str, agency: str) -> dict[str, Any] | None:
        return self.docs.get(f"{board_key(plan_id, period)}:{agency}")

    def put(self, row: dict[str, Any]) -> None:
        self.docs[row["_id"]] = row

    def rows(self, plan_id: str, period: str, fields: Any = None) -> list[dict[str, Any]]:
        return [r for r in self.docs.values() if r["board"] == board_key(plan_id, period)]

    def measure(self) -> list[tuple[int, int]]:
        """Each row's BSON size and its size as one entry of the old per-period document (`units.<agency>`,
        without the row's own `_id`, `board`, `plan`, `period`, `agency`); then forget the rows."""
        envelope = ("_id", "board", "plan", "period", "agency")
        out = []
        for row in self.docs.values():
            entry = {k: v for k, v in row.items() if k not in envelope}
            out.append((len(bson.encode(row)), len(bson.encode({row["agency"]: entry})) - 5))
        self.docs.clear()
        return out


def test_the_events_of_the_size_test_are_what_the_producers_publish():
    for event in [*obligation_events("BENCH00001"), *report_events("BENCH00001", FULL_TEXT, 0)]:
        check_event(event)


def test_twenty_thousand_units_with_full_reports_leave_no_document_over_one_megabyte():
    boards, reports, closings = SizedRows(), SizedRows(), Closed()
    sizes: dict[str, list[tuple[int, int]]] = {"board": [], "reports": []}
    rows_per_board: set[str] = set()
    for i in range(UNITS):
        agency = f"BENCH{i:05d}"
        text = LONGEST_TEXT if i == UNITS - 1 else FULL_TEXT
        for event in obligation_events(agency):
            handlers.on_obligation_event(event, boards=boards, plan=PLAN)
        for event in report_events(agency, text, i):
            handlers.on_report_event(event, reports=reports, closings=closings, plan=PLAN)
        if i == 0:
            (row,) = reports.docs.values()
            assert (row["revision"], row["after_close"]) == (4, [3, 4])
            (board_row,) = boards.docs.values()
            assert (board_row["status"], board_row["level"], board_row["generation"]) == (
                "submitted_on_time",
                "escalation_1",
                2,
            )
        rows_per_board.update(r["board"] for r in boards.docs.values())
        sizes["board"] += boards.measure()
        sizes["reports"] += reports.measure()

    assert rows_per_board == {board_key(PLAN.id, PERIOD)}
    assert len(sizes["board"]) == len(sizes["reports"]) == UNITS
    largest = {name: max(size for size, _ in found) for name, found in sizes.items()}
    assert largest["board"] < 4 * 1024, largest  # a row of the board is a few hundred bytes
    assert largest["reports"] < ONE_MB, largest  # the longest report allowed, whole, in one row
    # The same rows as one document per period (the layout before rows): far past MongoDB's limit.
    old_reports = sum(entry for _, entry in sizes["reports"])
    old_board = sum(entry for _, entry in sizes["board"])
    assert old_reports > MONGODB_LIMIT, old_reports
    assert old_board > ONE_MB, old_board
