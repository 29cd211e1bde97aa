"""Versions of a plan's unit list, published by Sở Nội vụ in the product (issue 14 point 4, F18): pure rules.

A version is a whole unit list (read from Sở Nội vụ's XLSX, shared.unit_list) with a number (1, 2, ... per plan),
the day it takes effect, who published it and when. The plan file is version 0. Choices where the issue is silent:
- The plan in force for a day is the plan file with the units of the highest-numbered version effective on or
  before that day (`plan_in_force`); a period takes the plan in force on its deadline day (`plan_for_period`), the
  day the plan counts who is expected. Only the units change: calendar, templates, ladder and recipients stay the
  plan file's.
- A new version takes effect no earlier than the publishing day and no earlier than the latest version's effective
  day (`check_effective_from`), so versions in number order are in effective order and nothing already past is
  rewritten: obligations already created keep the policy and facts they were created with, and earlier periods'
  board and documents are unchanged.
- A preview compares the new list with the latest published one (the list the next version replaces, even if it
  is not in force yet) and lists, for every period whose deadline day is on or after the effective day, the
  obligations that would be created or closed and the expected count before and after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property
from typing import Any

from shared.calendar_rules import Period
from shared.formatting import vn_date
from shared.plan import Plan, Unit, unit_from_json


class VersionDateError(ValueError):
    """A version's effective day is not allowed; the message is Vietnamese."""


@dataclass(frozen=True)
class PlanVersion:
    """A published unit list of a plan: number, effective day, who published it and when."""

    plan: str
    number: int
    effective_from: date
    published_at: datetime
    published_by: str
    units: tuple[Unit, ...]
    note: str = ""

    @property
    def id(self) -> str:
        """Its identity in the store: `<plan>:v<number>` (inserted once)."""
        return version_id(self.plan, self.number)


def version_id(plan: str, number: int) -> str:
    """The store `_id` of version `number` of `plan`."""
    return f"{plan}:v{number}"


def latest_version(versions: Iterable[PlanVersion]) -> PlanVersion | None:
    """The highest-numbered version, or None."""
    return max(versions, key=lambda v: v.number, default=None)


def plan_in_force(base: Plan, versions: Iterable[PlanVersion], day: date) -> Plan:
    """The plan file with the units of the latest version effective on `day` (the file itself when none is)."""
    effective = latest_version(v for v in versions if v.plan == base.id and v.effective_from <= day)
    return with_units(base, effective.units) if effective else base


def latest_plan(base: Plan, versions: Iterable[PlanVersion]) -> Plan:
    """The plan with the latest published unit list, whether or not it is in force yet."""
    latest = latest_version(v for v in versions if v.plan == base.id)
    return with_units(base, latest.units) if latest else base


def plan_for_period(base: Plan, versions: Iterable[PlanVersion], period: Period) -> Plan:
    """The plan a period's obligations come from: the one in force on its deadline day."""
    return plan_in_force(base, versions, period.deadline_day)


@dataclass(frozen=True)
class VersionedPlan:
    """A plan file with its published versions, as the scheduler runs it: the latest unit list (what the pass names
    and closes by) and, for each period, the list in force on its deadline day (what its obligations come from)."""

    base: Plan
    versions: tuple[PlanVersion, ...] = ()

    @cached_property
    def latest(self) -> Plan:
        """The plan with the latest published unit list (`latest_plan`)."""
        return latest_plan(self.base, self.versions)

    def for_period(self, period: Period) -> Plan:
        """The plan a period's obligations come from (`plan_for_period`)."""
        return plan_for_period(self.base, self.versions, period)


def with_units(base: Plan, units: Sequence[Unit]) -> Plan:
    """A copy of the plan with another unit list (a fresh object: its lookups are computed again)."""
    return replace(base, units=tuple(units))


def check_effective_from(day: date, *, today: date, versions: Iterable[PlanVersion]) -> None:
    """Raise VersionDateError unless `day` is on or after `today` and the latest version's effective day."""
    if day < today:
        raise VersionDateError(f"Ngày có hiệu lực ({vn_date(day)}) không được trước ngày hôm nay ({vn_date(today)}).")
    latest = latest_version(versions)
    if latest is not None and day < latest.effective_from:
        raise VersionDateError(
            f"Ngày có hiệu lực ({vn_date(day)}) không được trước ngày có hiệu lực của phiên bản {latest.number} "
            f"({vn_date(latest.effective_from)})."
        )


@dataclass(frozen=True)
class UnitChange:
    """How one unit differs between two lists: `kinds` among added, ended, renamed, changed; `details` in
    Vietnamese."""

    code: str
    name: str
    kinds: tuple[str, ...]
    details: tuple[str, ...]
    before: Unit | None
    after: Unit


def diff_units(before: Sequence[Unit], after: Sequence[Unit]) -> tuple[UnitChange, ...]:
    """The changes from `before` to `after`, in `after`'s official order (a unit is never removed: lists are
    whole, shared.unit_list). A unit's place in the order is not a change of its own: rows inserted above it
    move it down, and the list itself shows the new order."""
    old = {u.code: u for u in before}
    changes = []
    for unit in sorted(after, key=lambda u: (u.order is None, u.order or 0, u.code)):
        earlier = old.get(unit.code)
        if earlier is None:
            until = f", hết hiệu lực từ {vn_date(unit.valid_until)}" if unit.valid_until else ""
            details = (f"Thêm mới: có hiệu lực từ {vn_date(unit.valid_from)}{until}.",)
            changes.append(UnitChange(unit.code, unit.name, ("added",), details, None, unit))
            continue
        kinds, notes = _compare(earlier, unit)
        if kinds:
            changes.append(UnitChange(unit.code, unit.name, tuple(kinds), tuple(notes), earlier, unit))
    return tuple(changes)


def _compare(old: Unit, new: Unit) -> tuple[list[str], list[str]]:
    kinds: list[str] = []
    notes: list[str] = []
    if new.valid_until != old.valid_until and new.valid_until is not None:
        kinds.append("ended")
        to = f"; kế thừa: {', '.join(new.successors)}" if new.successors else ""
        notes.append(f"Hết hiệu lực từ {vn_date(new.valid_until)}{to}.")
    if new.name != old.name:
        kinds.append("renamed")
        notes.append(f"Đổi tên: “{old.name}” thành “{new.name}”.")
    other = []
    if new.valid_until != old.valid_until and new.valid_until is None:
        other.append(f"Bỏ ngày hết hiệu lực ({vn_date(old.valid_until)}).")
    if new.valid_from != old.valid_from:
        other.append(f"Hiệu lực từ: {vn_date(old.valid_from)} thành {vn_date(new.valid_from)}.")
    if new.types != old.types:
        other.append(f"Loại đơn vị: {_types(old)} thành {_types(new)}.")
    if new.successors != old.successors and "ended" not in kinds:
        other.append(f"Đơn vị kế thừa: {', '.join(new.successors) or '(không)'}.")
    if _people(new) != _people(old):
        other.append("Người nhận cảnh báo (đầu mối, thủ trưởng) thay đổi.")
    if other:
        kinds.append("changed")
        notes.extend(other)
    return kinds, notes


def _types(unit: Unit) -> str:
    return ", ".join(unit.types) or "(không báo cáo)"


def _people(unit: Unit) -> set[tuple[str, str, str | None, str | None]]:
    return {(c.alert_role, c.name, c.email, c.phone) for c in unit.contacts}


@dataclass(frozen=True)
class ObligationEffect:
    """An obligation a new version would create, close (closed_by_reorganisation) or no longer owe."""

    agency: str
    unit_name: str
    period: str
    effect: str  # created, closed, dropped
    due_before: datetime | None
    note: str = ""


@dataclass(frozen=True)
class PeriodChange:
    """One period concerned by a new version: its deadline and how many units are expected before and after."""

    period: Period
    expected_before: int
    expected_after: int


@dataclass(frozen=True)
class Preview:
    """What publishing a unit list with an effective day would change."""

    effective_from: date
    units: tuple[UnitChange, ...]
    obligations: tuple[ObligationEffect, ...]
    calendar: tuple[PeriodChange, ...]

    def count(self, kind: str) -> int:
        """How many units the change kind (added, ended, renamed, changed) concerns."""
        return sum(1 for c in self.units if kind in c.kinds)


def preview(
    current: Plan, new_units: Sequence[Unit], effective_from: date, *, periods: Sequence[Period] | None = None
) -> Preview:
    """Compare `new_units` with the unit list of `current` (the latest published plan) from `effective_from`:
    the unit changes, and for each period that demands a report (`periods`, by default the plan's obligation
    periods) whose deadline day is on or after that day, the obligations created, closed or no longer owed."""
    after = with_units(current, new_units)
    concerned = [
        p for p in (current.obligation_periods() if periods is None else periods) if p.deadline_day >= effective_from
    ]
    effects: list[ObligationEffect] = []
    calendar: list[PeriodChange] = []
    for period in concerned:
        owed_before = {u.code: u for u in current.obligated_units(period)}
        owed_after = {u.code: u for u in after.obligated_units(period)}
        for code, unit in owed_after.items():
            closes = _closes(unit, period)
            if code not in owed_before:
                effects.append(ObligationEffect(code, unit.name, period.key, "created", period.due_before))
                if closes:
                    effects.append(_closed(unit, period))
            elif closes and not _closes(owed_before[code], period):
                effects.append(_closed(unit, period))
        for code, unit in owed_before.items():
            if code not in owed_after:
                note = "Không còn phải báo cáo; nghĩa vụ đã tạo (nếu có) được giữ nguyên."
                effects.append(ObligationEffect(code, unit.name, period.key, "dropped", period.due_before, note))
        calendar.append(PeriodChange(period, len(current.expected_units(period)), len(after.expected_units(period))))
    return Preview(effective_from, diff_units(current.units, new_units), tuple(effects), tuple(calendar))


def _closes(unit: Unit, period: Period) -> bool:
    """True when the unit ceases on or before the period's deadline day (its obligation is closed, F2)."""
    return unit.valid_until is not None and unit.valid_until <= period.deadline_day


def _closed(unit: Unit, period: Period) -> ObligationEffect:
    successors = f"; kế thừa: {', '.join(unit.successors)}" if unit.successors else ""
    assert unit.valid_until is not None
    note = f"Đóng do sắp xếp tổ chức từ {vn_date(unit.valid_until)}{successors}."
    return ObligationEffect(unit.code, unit.name, period.key, "closed", period.due_before, note)


def unit_json(unit: Unit) -> dict[str, Any]:
    """A unit as a plan file (and a stored version) writes it; `shared.plan.unit_from_json` reads it back."""
    return {
        "code": unit.code,
        "name": unit.name,
        "order": unit.order,
        "types": list(unit.types),
        "reports": unit.reports,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from != date.min else None,
        "valid_until": unit.valid_until.isoformat() if unit.valid_until else None,
        "successors": list(unit.successors),
        "contacts": [
            {"alert_role": c.alert_role, "name": c.name, "title": c.title, "email": c.email, "phone": c.phone}
            for c in unit.contacts
        ],
        "not_reporting_reason": unit.not_reporting_reason,
        "successors_note": unit.successors_note,
    }


def version_document(version: PlanVersion) -> dict[str, Any]:
    """The stored form of a version (`_id` `<plan>:v<number>`, inserted once; instants as given, in UTC)."""
    return {
        "_id": version.id,
        "plan": version.plan,
        "number": version.number,
        "effective_from": version.effective_from.isoformat(),
        "published_at": version.published_at,
        "published_by": version.published_by,
        "note": version.note,
        "units": [unit_json(u) for u in version.units],
    }


def version_from_document(doc: dict[str, Any]) -> PlanVersion:
    """Read back what `version_document` stored."""
    return PlanVersion(
        plan=doc["plan"],
        number=int(doc["number"]),
        effective_from=date.fromisoformat(doc["effective_from"]),
        published_at=doc["published_at"],
        published_by=doc["published_by"],
        note=doc.get("note", ""),
        units=tuple(unit_from_json(u) for u in doc["units"]),
    )


@dataclass(frozen=True)
class UnitListDraft:
    """A clean unit list read from an upload, kept until Sở Nội vụ publishes it (or uploads another)."""

    id: str
    plan: str
    units: tuple[Unit, ...]
    uploaded_by: str
    uploaded_at: datetime
    filename: str


def draft_id(plan: str, data: bytes) -> str:
    """A draft's identity: the plan and a hash of the file, so uploading the same file twice is one draft."""
    return f"{plan}:{hashlib.sha256(data).hexdigest()[:32]}"


def draft_document(draft: UnitListDraft) -> dict[str, Any]:
    """The stored form of a draft."""
    return {
        "_id": draft.id,
        "plan": draft.plan,
        "uploaded_by": draft.uploaded_by,
        "uploaded_at": draft.uploaded_at,
        "filename": draft.filename,
        "units": [unit_json(u) for u in draft.units],
    }


def draft_from_document(doc: dict[str, Any]) -> UnitListDraft:
    """Read back what `draft_document` stored."""
    return UnitListDraft(
        id=doc["_id"],
        plan=doc["plan"],
        units=tuple(unit_from_json(u) for u in doc["units"]),
        uploaded_by=doc["uploaded_by"],
        uploaded_at=doc["uploaded_at"],
        filename=doc.get("filename", ""),
    )
