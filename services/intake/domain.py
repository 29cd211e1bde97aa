"""Intake's domain: reports, completeness and the errors a submission can meet (plain Python)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.plan import Template

REQUIRED_SECTIONS = ("strengths", "limitations", "causes")


class IntakeError(Exception):
    """Base of intake's domain errors; `field` names the input at fault, if any."""

    field: str | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UnknownAgency(IntakeError):
    """The unit code is not in the plan's registry of reporting units."""


class PeriodNotOpen(IntakeError):
    """The unit owes no report for this period (not applicable, or not expected of it)."""


class ReportAlreadySubmitted(IntakeError):
    """The period already has a report: corrections are new revisions (PUT)."""


class ReportNotFound(IntakeError):
    """No such report (or not visible to the caller)."""


class AgencyMismatch(IntakeError):
    """The body names another unit than the caller's credential."""


@dataclass(frozen=True)
class Report:
    """One revision of a unit's report for a period, as accepted."""

    agency: str
    period: str
    revision: int
    received_at: datetime
    on_time: bool | None
    completeness: float
    content: dict[str, Any]
    submitted_by: str
    source: str

    @property
    def report_id(self) -> str:
        """The report's identity across revisions."""
        return f"{self.agency}:{self.period}"


def completeness(template: Template, content: dict[str, Any]) -> float:
    """Filled required fields ÷ required fields (the five narratives and section II), 0..1.

    The staff list has no narrative: it is complete when it names at least one person.
    """
    if template.staff_fields:
        return 1.0 if content.get("staff") else 0.0
    narratives = content.get("narratives") or {}
    assessment = content.get("assessment") or {}
    filled = [bool((narratives.get(f"area_{a}") or "").strip()) for a in sorted(template.areas)]
    filled += [bool((assessment.get(s) or "").strip()) for s in REQUIRED_SECTIONS]
    return round(sum(filled) / len(filled), 4)
