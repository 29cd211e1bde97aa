"""Intake's domain: reports, completeness and the errors a submission can meet (plain Python)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.errors import DomainError
from shared.plan import Rule, Template
from shared.timerules import Deadline

REQUIRED_SECTIONS = ("strengths", "limitations", "causes")


class IntakeError(DomainError):
    """Base of intake's domain errors."""


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


class RevisionNotFound(IntakeError):
    """No such revision of the report."""


class ReportInvalid(IntakeError):
    """The report breaks cross-field rules (errors), each message on its field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("Báo cáo có số liệu không hợp lệ.")
        self.fields = fields


class PdfInvalid(IntakeError):
    """The upload is not a PDF document."""


class PdfAlreadyAttached(IntakeError):
    """That revision already carries its signed PDF."""


class PdfNotFound(IntakeError):
    """No PDF is attached to that revision."""


@dataclass(frozen=True)
class Pdf:
    """The signed PDF of one revision of a report (F4)."""

    agency: str
    period: str
    revision: int
    data: bytes
    uploaded_by: str
    uploaded_at: datetime


class RevisionConflict(IntakeError):
    """Another correction took the same revision number first."""


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
    warnings: dict[str, str] = field(default_factory=dict)
    recorded_by: str | None = None
    recorded_at: datetime | None = None
    document: dict[str, Any] | None = None
    amended_at: datetime | None = None
    idempotency_key: str | None = None

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


@dataclass(frozen=True)
class Extension:
    """A later deadline Sở Nội vụ granted for one unit's period, as intake learnt it from `obligation.extended`.

    Each grant starts a new generation of the obligation (generation 1 is the plan's deadline); it is in force
    for reports received from `effective_from` (the grant) on, and late from `due_before`.
    """

    agency: str
    period: str
    generation: int
    due_before: datetime
    effective_from: datetime
    event_id: str

    @property
    def deadline(self) -> Deadline:
        """This generation as the pure time rules take it."""
        return Deadline(generation=self.generation, due_before=self.due_before, effective_from=self.effective_from)


@dataclass(frozen=True)
class Draft:
    """A unit's work in progress for a period: kept apart from reports, no event, no verdict."""

    agency: str
    period: str
    content: dict[str, Any]
    saved_by: str
    saved_at: datetime


class DraftNotFound(IntakeError):
    """The unit has no draft for that period."""


OPERATORS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b}


def check_rules(rules: tuple[Rule, ...], indicators: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Evaluate the template's cross-field rules: (errors, warnings), each `{"indicators.<field>": message}`.

    A rule with any blank (null) field is not evaluated: blank means "not reported", never 0.
    """
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for rule in rules:
        values = [indicators.get(key) for key in rule.fields]
        if any(v is None for v in values):
            continue
        left = sum(indicators[k] for k in rule.left)
        right = sum(indicators[k] for k in rule.right)
        if not OPERATORS[rule.op](left, right):
            target = errors if rule.kind == "error" else warnings
            target.setdefault(f"indicators.{rule.field}", rule.message.format(left=left, right=right))
    return errors, warnings


def flatten(content: Any, prefix: str = "") -> dict[str, Any]:
    """A report's content as {"indicators.tcd_luot": 3, "staff[0].ho_ten": "..."}."""
    if isinstance(content, dict):
        out: dict[str, Any] = {}
        for key, value in content.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(content, list):
        out = {}
        for index, value in enumerate(content):
            out.update(flatten(value, f"{prefix}[{index}]"))
        return out or {prefix: []}
    return {prefix: content}


def diff_content(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Exactly the fields whose values differ between two revisions, in field order."""
    a, b = flatten(old), flatten(new)
    return [
        {"field": key, "from": a.get(key), "to": b.get(key)}
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]
