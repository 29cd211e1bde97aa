"""Aggregator's use cases: one function per event or query."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, Protocol

from services.aggregator.consolidation import consolidated_data, snapshot
from services.aggregator.documents.model import Signer, UrgingLetterData
from services.aggregator.documents.naming import MEDIA_TYPES, download_filename
from services.aggregator.domain import (
    apply_obligation_event,
    apply_report_event,
    board_row,
    compliance_view,
    figures,
    new_board_row,
    new_report_row,
    row_id,
    row_status,
)
from services.aggregator.totals.standouts import suggest_standouts
from services.aggregator.totals.sums import PeriodTotals, period_totals, same_period_last_year
from shared.errors import DomainError
from shared.events import Event, MalformedEvent, ObligationData, ReportData, typed
from shared.paging import Page, PageRequest
from shared.plan import Plan
from shared.timerules import Clock, local_iso, parse_instant

EXPORT_KINDS = ("report", "urging_letter", "xlsx", "csv")
REVISION_FIELDS = ("revision", "revised_at", "after_close")  # what the board shows of a unit's reports row
STATUS_FIELDS = ("status", "due_before")  # what a row's status at an instant is derived from


class AggregatorError(DomainError):
    """Base of the aggregator's domain errors."""


class PeriodUnknown(AggregatorError):
    """The plan has no such period."""


class PeriodAlreadyClosed(AggregatorError):
    """A period is closed once."""


class NothingToUrge(AggregatorError):
    """No unit is overdue: there is no one to send an urging letter to."""


class DocumentNotFound(AggregatorError):
    """No archived document has this id."""


class BoardStore(Protocol):
    """A period's rows, one document per unit (the board, the reports): one read and written by `_id`, a
    period's read by equality."""

    def get(self, plan_id: str, period: str, agency: str) -> dict[str, Any] | None:
        """One unit's row of a period."""
        ...

    def put(self, row: dict[str, Any]) -> None:
        """Replace one unit's row."""
        ...

    def rows(self, plan_id: str, period: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Every row of a period (with `fields` and `agency` only, when given)."""
        ...


class PagedBoardStore(BoardStore, Protocol):
    """A period's rows that the API lists page by page."""

    def page(self, plan_id: str, period: str, asked: PageRequest) -> Page[dict[str, Any]]:
        """A page of a period's rows, in `_id` (unit code) order."""
        ...


class ClosingStore(Protocol):
    """Closings of periods, each inserted once."""

    def close(self, plan_id: str, period: str, closing: dict[str, Any]) -> bool:
        """Insert the closing once; False if already closed."""
        ...

    def get(self, plan_id: str, period: str) -> dict[str, Any] | None:
        """The closing of a period, or None."""
        ...


class Archive(Protocol):
    """Issued documents with the data they were made from; never changed."""

    def add(self, record: dict[str, Any]) -> bool:
        """Insert a record."""
        ...

    def latest(self, plan_id: str, period: str, kind: str) -> dict[str, Any] | None:
        """The record of `kind` last issued for a plan's period (with its bytes), or None."""
        ...


def on_obligation_event(event: Event, *, boards: BoardStore, plan: Plan) -> bool:
    """Fold an obligation event into its unit's row of the period's compliance board."""
    data = typed(event)
    if not isinstance(data, ObligationData):
        raise MalformedEvent(f"{event.type} is not an obligation event")
    row = boards.get(plan.id, data.period, data.agency) or new_board_row(plan.id, data.period, data.agency)
    changed = apply_obligation_event(row, data, event.subject_version)
    if changed:
        boards.put(row)
    return changed


def on_report_event(event: Event, *, reports: BoardStore, closings: ClosingStore, plan: Plan) -> bool:
    """Keep a unit's latest revision in its reports row of the period (and whether it came after closing)."""
    data = typed(event)
    if not isinstance(data, ReportData):
        raise MalformedEvent(f"{event.type} is not a report event")
    row = reports.get(plan.id, data.period, data.agency) or new_report_row(plan.id, data.period, data.agency)
    closing = closings.get(plan.id, data.period)
    closed_at = parse_instant(closing["closed_at"]) if closing else None
    changed = apply_report_event(row, data, closed_at)
    if changed:
        reports.put(row)
    return changed


def get_compliance(
    period: str,
    *,
    boards: BoardStore,
    plan: Plan,
    clock: Clock,
    closings: ClosingStore | None = None,
    reports: BoardStore | None = None,
) -> dict[str, Any] | None:
    """The compliance of a period, or None when the plan has no such period; with `closings` whether its
    figures are closed, with `reports` each unit's latest revision and the revisions received after closing."""
    entry = plan.opened_period(period, clock.now())
    if entry is None:
        return None
    view = compliance_view(plan, period, boards.rows(plan.id, period), clock.now())
    view["period_name"] = entry.name
    view["applicable"] = entry.applicable
    view["not_applicable_reason"] = entry.not_applicable_reason
    closing = closings.get(plan.id, period) if closings else None
    view["closed"] = _closing_json(closing)
    if reports is not None:
        _with_revisions(view, _reports_of(reports, plan, period, REVISION_FIELDS))
    return view


def unit_compliance(
    period: str,
    agency: str,
    *,
    boards: BoardStore,
    plan: Plan,
    clock: Clock,
    closings: ClosingStore | None = None,
    reports: BoardStore | None = None,
) -> dict[str, Any] | None:
    """One unit's row of a period's board as `get_compliance` shows it (`unit`, None when the board has no row for
    it) and, with `closings`, whether the period is closed: `_id` reads only, whatever the size of the province.
    None when the plan has no such period."""
    if plan.opened_period(period, clock.now()) is None:
        return None
    row = boards.get(plan.id, period, agency)
    units = compliance_view(plan, period, [row] if row else [], clock.now())["units"]
    if units and reports is not None:
        kept = reports.get(plan.id, period, agency)
        _with_revisions({"units": units}, {agency: kept} if kept else {})
    closing = closings.get(plan.id, period) if closings else None
    return {"unit": units[0] if units else None, "closed": _closing_json(closing)}


def compliance_page(
    period: str,
    asked: PageRequest,
    *,
    boards: PagedBoardStore,
    plan: Plan,
    clock: Clock,
    closings: ClosingStore,
    reports: BoardStore,
) -> tuple[dict[str, Any], Page[dict[str, Any]]] | None:
    """A period's compliance for the API: the five figures, whether its figures are closed, and a page of its
    rows in unit-code order, each with its latest revision and those received after closing; None when the
    plan has no such period. The figures count every row's status (`STATUS_FIELDS` only); the rows of the page
    and their reports are read by `_id`."""
    now = clock.now()
    entry = plan.opened_period(period, now)
    if entry is None:
        return None
    statuses = (row_status(r, now) for r in boards.rows(plan.id, period, STATUS_FIELDS))
    found = boards.page(plan.id, period, asked)
    rows = []
    for doc in found.items:
        kept = reports.get(plan.id, period, doc["agency"]) or {}
        row = board_row(plan, doc, now)
        row.update(revision=kept.get("revision"), revised_at=kept.get("revised_at"))
        rows.append({**row, "revisions_after_close": kept.get("after_close", [])})
    head = {
        "plan": plan.id,
        "period": period,
        "as_of": local_iso(now),
        **figures(statuses),
        "period_name": entry.name,
        "applicable": entry.applicable,
        "not_applicable_reason": entry.not_applicable_reason,
        "closed": _closing_json(closings.get(plan.id, period)),
    }
    return head, Page(rows, found.next)


def _with_revisions(view: dict[str, Any], kept: dict[str, Any]) -> None:
    """Each row of a board view with its unit's latest revision and those received after closing."""
    for row in view["units"]:
        entry = kept.get(row["agency"]) or {}
        row["revision"] = entry.get("revision")
        row["revised_at"] = entry.get("revised_at")
        row["revisions_after_close"] = entry.get("after_close", [])


def _closing_json(closing: dict[str, Any] | None) -> dict[str, Any] | None:
    if closing is None:
        return None
    return {"closed_at": local_iso(parse_instant(closing["closed_at"])), "closed_by": closing.get("closed_by")}


def overdue(
    *, boards: BoardStore, plan: Plan, clock: Clock, plan_for: Callable[[str], Plan] | None = None
) -> list[dict[str, Any]]:
    """Every unit overdue in any period, the longest overdue first (then the period's deadline, official order);
    each period's rows named by `plan_for(period)` (the list in force on its deadline day), `plan` without it."""
    out = []
    for period in plan.open_periods(clock.now()):
        view = get_compliance(period.key, boards=boards, plan=plan_for(period.key) if plan_for else plan, clock=clock)
        assert view is not None
        out += [{**row, "period": period.key, "period_name": period.name} for row in view["overdue"]]
    return sorted(out, key=lambda r: (-(r["days_overdue"] or 0), r["due_before"] or "", r["order"] or 0))


def _reports_of(
    reports: BoardStore, plan: Plan, period: str, fields: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Each unit's reports row of a period by unit code (`fields` only, when given)."""
    return {row["agency"]: row for row in reports.rows(plan.id, period, fields)}


def summary(period: str, *, boards: BoardStore, reports: BoardStore, plan: Plan, clock: Clock) -> PeriodTotals:
    """A period's indicator totals (F11) over its expected units, compared with the same period a year earlier
    where the plan has it."""
    if plan.opened_period(period, clock.now()) is None:
        raise PeriodUnknown(f"Không có kỳ báo cáo '{period}'.", field="period")
    view = get_compliance(period, boards=boards, plan=plan, clock=clock)
    assert view is not None
    return _totals(plan, period, view, _reports_of(reports, plan, period), reports)


def _totals(plan: Plan, period: str, view: dict[str, Any], kept: dict[str, Any], reports: BoardStore) -> PeriodTotals:
    """The totals of a period from its board view and its kept reports (the year-earlier ones read here)."""
    expected = [r["agency"] for r in view["units"] if r["status"] not in ("waived", "closed_by_reorganisation")]
    current = {a: r["content"] for a, r in kept.items()}
    before = same_period_last_year(period)
    previous = {a: r["content"] for a, r in _reports_of(reports, plan, before).items()} if before else None
    return period_totals(plan, period, current, previous=previous or None, expected=expected or None)


def close_period(period: str, *, by: str, closings: ClosingStore, plan: Plan, clock: Clock) -> dict[str, Any]:
    """Close a period's figures (chốt số liệu) once; revisions received later are shown as after closing."""
    if plan.opened_period(period, clock.now()) is None:
        raise PeriodUnknown(f"Không có kỳ báo cáo '{period}'.", field="period")
    closing = {"plan": plan.id, "period": period, "closed_at": local_iso(clock.now()), "closed_by": by}
    if not closings.close(plan.id, period, closing):
        existing = _closing_json(closings.get(plan.id, period)) or {}
        raise PeriodAlreadyClosed(
            f"Kỳ báo cáo đã được chốt số liệu lúc {existing.get('closed_at')} bởi {existing.get('closed_by')}.",
            field="period",
        )
    return _closing_json(closing) or {}


def export(
    period: str,
    kind: str,
    *,
    by: str,
    boards: BoardStore,
    reports: BoardStore,
    closings: ClosingStore,
    archive: Archive,
    plan: Plan,
    clock: Clock,
    number: str | None = None,
    issued_on: date | None = None,
    signer: Signer | None = None,
    chosen: Sequence[tuple[str, str | None]] = (),
) -> dict[str, Any]:
    """Make one document of a period (the consolidated report, the urging letter, the XLSX or CSV tables) from
    the read models as they are now, and archive it unchanged with the data it was made from and the request.
    Returns the archive record (with `content`, the bytes)."""
    if plan.opened_period(period, clock.now()) is None:
        raise PeriodUnknown(f"Không có kỳ báo cáo '{period}'.", field="period")
    view = get_compliance(period, boards=boards, plan=plan, clock=clock, closings=closings)
    assert view is not None
    kept = _reports_of(reports, plan, period)
    _with_revisions(view, kept)
    totals = _totals(plan, period, view, kept, reports)
    now = clock.now()
    data = consolidated_data(
        plan,
        period,
        board=view,
        reports=kept,
        totals=totals,
        suggestions=suggest_standouts(totals),
        chosen=chosen,
        now=now,
    )
    # The renderers (python-docx, openpyxl: a quarter of a second to import) load on the first export, not in
    # every process that reads this module's event handlers to learn the topology.
    from services.aggregator.documents.consolidated import consolidated_report_docx
    from services.aggregator.documents.tables import tables_csv, tables_xlsx
    from services.aggregator.documents.urging import urging_letter_docx

    if kind == "report":
        content = consolidated_report_docx(data, number=number, issued_on=issued_on, signer=signer)
    elif kind == "urging_letter":
        if not data.missing:
            raise NothingToUrge("Không có đơn vị nào quá hạn để gửi công văn đôn đốc.", field="period")
        letter = UrgingLetterData.from_consolidated(data)
        content = urging_letter_docx(letter, number=number, issued_on=issued_on, signer=signer)
    elif kind == "xlsx":
        content = tables_xlsx(data)
    else:
        content = tables_csv(data)
    record = {
        "_id": uuid.uuid4().hex,
        "kind": kind,
        "plan": plan.id,
        "period": period,
        "filename": download_filename(kind, period),
        "media_type": MEDIA_TYPES["csv" if kind == "csv" else "xlsx" if kind == "xlsx" else "docx"],
        "issued_at": now,
        "issued_by": by,
        "closed": view["closed"],
        "request": {
            "number": number,
            "issued_on": issued_on.isoformat() if issued_on else None,
            "signer": snapshot(signer) if signer else None,
            "standouts": [{"agency": a, "reason": r} for a, r in chosen],  # FerretDB: no nested arrays
        },
        "data": snapshot(data),
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "content": content,
    }
    archive.add(record)
    return record


def latest_document(period: str, kind: str, *, archive: Archive, plan: Plan) -> dict[str, Any]:
    """The document of `kind` last issued for a period, as it was archived (reading makes nothing new)."""
    if plan.period(period) is None:
        raise PeriodUnknown(f"Không có kỳ báo cáo '{period}'.", field="period")
    record = archive.latest(plan.id, period, kind)
    if record is None:
        raise DocumentNotFound(
            f"Kỳ {period} chưa phát hành văn bản này. Sở Nội vụ phát hành văn bản từ bảng theo dõi "
            "(hoặc POST cùng địa chỉ).",
            field="period",
        )
    return record


class Rebuildable(BoardStore, Protocol):
    """A read model that a rebuild replaces whole."""

    def clear(self) -> None:
        """Drop every row."""
        ...

    def put_many(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert rows after `clear`."""
        ...


def rebuild(
    events: Sequence[Event],
    *,
    boards: Rebuildable,
    reports: Rebuildable,
    closings: ClosingStore,
    plan: Plan | Callable[[Event], Plan],
) -> dict[str, int]:
    """Rebuild the board and the reports from the producers' whole event feeds (`dvcq rebuild-read-models`).

    The events are folded in memory into fresh rows by the same functions the consumer uses (the order between
    feeds does not matter: every fold keeps the newest version), then the stored rows are replaced. Closings
    are commands to the aggregator, not events, and are kept. Run it with the aggregator's consumer stopped: it
    is the read models' one writer. `plan`: the plan, or the plan of each event (`Runtime.plan_of_event`).
    """
    fresh_boards, fresh_reports = _MemoryStore(), _MemoryStore()
    for event in events:
        of_event = plan(event) if callable(plan) else plan
        if event.type.startswith("obligation."):
            on_obligation_event(event, boards=fresh_boards, plan=of_event)
        elif event.type in ("report.submitted", "report.amended"):
            on_report_event(event, reports=fresh_reports, closings=closings, plan=of_event)
    boards.clear()
    reports.clear()
    boards.put_many(fresh_boards.docs.values())
    reports.put_many(fresh_reports.docs.values())
    periods = {row["period"] for row in fresh_boards.docs.values()}
    return {"events": len(events), "boards": len(periods), "rows": len(fresh_boards.docs)}


class _MemoryStore:
    """Rows in a dict by `_id`, for a rebuild."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def get(self, plan_id: str, period: str, agency: str) -> dict[str, Any] | None:
        return self.docs.get(row_id(plan_id, period, agency))

    def put(self, row: dict[str, Any]) -> None:
        self.docs[row["_id"]] = row

    def rows(self, plan_id: str, period: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return [r for r in self.docs.values() if (r["plan"], r["period"]) == (plan_id, period)]
