"""Intake's use cases: one function per command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.intake.domain import (
    AgencyMismatch,
    PeriodNotOpen,
    Report,
    ReportNotFound,
    UnknownAgency,
    completeness,
)
from shared.auth import Principal
from shared.events import Event, report_subject
from shared.plan import Plan
from shared.timerules import Clock, Deadline, is_on_time


class ReportStore(Protocol):
    """Where reports and their pending events are kept."""

    def add_first(self, report: Report, event: Event) -> None:
        """Store revision 1 and its event in one write; raise ReportAlreadySubmitted if it exists."""
        ...

    def latest(self, agency: str, period: str) -> Report | None:
        """The latest revision of a report, or None."""
        ...


@dataclass(frozen=True)
class SubmitReport:
    """A unit's first submission of a period's report (content already validated against its template)."""

    agency: str
    period: str
    content: dict[str, Any]
    source: str
    correlation_id: str | None = None


def check_caller_may_act_for(principal: Principal, agency: str) -> None:
    """A unit's officer acts only for their own unit."""
    if principal.is_agency() and principal.agency != agency:
        raise AgencyMismatch("Mã đơn vị trong báo cáo khác đơn vị của tài khoản.", field="agency")


def check_period_open(plan: Plan, agency: str, period: str) -> None:
    """Raise unless `agency` is a reporting unit that owes a report for `period`."""
    unit = plan.unit(agency)
    if unit is None or not unit.reports:
        raise UnknownAgency(f"Không có đơn vị báo cáo mã '{agency}'.", field="agency")
    entry = plan.period(period)
    if entry is None:
        raise PeriodNotOpen(f"Không có kỳ báo cáo '{period}'.", field="period")
    if not plan.is_expected(agency, period):
        reason = entry.not_applicable_reason or "Đơn vị không thuộc diện báo cáo kỳ này."
        raise PeriodNotOpen(f"Kỳ {period} không nhận báo cáo: {reason}", field="period")


def deadlines_for(plan: Plan, period: str) -> list[Deadline]:
    """Intake's own copy of a period's deadlines (the plan's; extensions arrive with a later issue)."""
    entry = plan.period(period)
    if entry is None or entry.due_before is None:
        return []
    return [Deadline(generation=1, due_before=entry.due_before)]


def submit_report(cmd: SubmitReport, principal: Principal, *, reports: ReportStore, plan: Plan, clock: Clock) -> Report:
    """Accept a unit's first report for a period: received now, verdict by the pure time rule, event queued."""
    check_caller_may_act_for(principal, cmd.agency)
    check_period_open(plan, cmd.agency, cmd.period)
    template = plan.template_for(cmd.agency, cmd.period)
    assert template is not None  # check_period_open guarantees a reporting unit and a known period
    received_at = clock.now()
    deadlines = deadlines_for(plan, cmd.period)
    report = Report(
        agency=cmd.agency,
        period=cmd.period,
        revision=1,
        received_at=received_at,
        on_time=is_on_time(received_at, deadlines) if deadlines else None,
        completeness=completeness(template, cmd.content),
        content=cmd.content,
        submitted_by=principal.sub,
        source=cmd.source,
    )
    event = Event(
        id=f"report:{cmd.agency}:{cmd.period}:r1:submitted",
        type="report.submitted",
        subject=report_subject(cmd.agency, cmd.period),
        subject_version=1,
        producer="intake",
        occurred_at=received_at,
        correlation_id=cmd.correlation_id,
        data={
            "report_id": report.report_id,
            "agency": cmd.agency,
            "period": cmd.period,
            "revision": 1,
            "received_at": received_at.isoformat(),
            "on_time": report.on_time,
            "completeness": report.completeness,
            "source": cmd.source,
            "submitted_by": principal.sub,
            "content": cmd.content,
        },
    )
    reports.add_first(report, event)
    return report


def get_report(agency: str, period: str, principal: Principal, *, reports: ReportStore) -> Report:
    """The latest revision of a report; a unit sees only its own (another unit's answers 404)."""
    if principal.is_agency() and principal.agency != agency:
        raise ReportNotFound("Không tìm thấy báo cáo.")
    report = reports.latest(agency, period)
    if report is None:
        raise ReportNotFound("Không tìm thấy báo cáo.")
    return report
