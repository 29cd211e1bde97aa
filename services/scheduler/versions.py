"""Scheduler's plan-version use cases (issue 14 point 4): Sở Nội vụ imports a unit list, previews and publishes it.

The scheduler owns the plan and its obligations, so it keeps the versions (shared.plan_versions holds the rules).
Publishing inserts the version once, announces it (`plan.published`, subject `plan:<id>`, version = its number)
and creates the obligations the new list owes for the periods due from its effective day; obligations already
created keep the policy and facts they were created with. The pass closes the obligations of a unit the list
ends, by the latest published list (`latest_plan`). Plain Python: no framework, no store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from services.scheduler.domain import Obligation, SchedulerError, obligations_for_plan
from services.scheduler.handlers import WAKE_AFTER, created_event
from shared.auth import Principal
from shared.events import Event, PlanPublished, plan_subject
from shared.plan import Plan
from shared.plan_versions import (
    PlanVersion,
    Preview,
    UnitChange,
    UnitListDraft,
    VersionDateError,
    check_effective_from,
    diff_units,
    draft_id,
    latest_plan,
    plan_for_period,
    preview,
)
from shared.timerules import Clock, local_date
from shared.unit_list import UnitListError, UnreadableFile, read_unit_list


class PlanVersionError(SchedulerError):
    """Base of the plan-version errors."""


class UnitListInvalid(PlanVersionError):
    """The uploaded unit list has errors; `errors` lists them (row, column, why)."""

    def __init__(self, errors: tuple[UnitListError, ...]) -> None:
        super().__init__(f"Tệp có {len(errors)} lỗi; chưa áp dụng gì. Sửa các dòng được nêu rồi tải lên lại.", "file")
        self.errors = errors
        # the one JSON error shape: one Vietnamese message per place, `row<n>.<column letter>` (`file` for the file)
        self.fields: dict[str, str] = {}
        for error in errors:
            where = "file" if error.row is None else f"row{error.row}"
            where += f".{error.letter() or error.column}" if error.column else ""
            self.fields[where] = f"{self.fields[where]} {error.text()}" if where in self.fields else error.text()


class DraftNotFound(PlanVersionError):
    """No clean import with that id: upload the file again."""


class VersionNotFound(PlanVersionError):
    """No version with that number."""


class VersionConflict(PlanVersionError):
    """Another version was published meanwhile: preview again."""


class EffectiveDateRefused(PlanVersionError):
    """The effective day is before today or before the latest version's."""


class PlanVersionStore(Protocol):
    """What these use cases need from the store (services.scheduler.store.MongoPlanVersionStore)."""

    def versions(self, plan: str) -> list[PlanVersion]: ...

    def version(self, plan: str, number: int) -> PlanVersion | None: ...

    def publish(self, version: PlanVersion) -> bool: ...

    def save_import(self, draft: UnitListDraft) -> None: ...

    def draft(self, plan: str, draft_id: str) -> UnitListDraft | None: ...

    def record(self, event: Event) -> bool: ...


class ObligationCreator(Protocol):
    """The part of the obligation store publishing needs."""

    def create_many(self, items: list[tuple[Obligation, Event]]) -> int: ...

    def appoint(self, appointments: list[tuple[str, datetime]]) -> None: ...


@dataclass(frozen=True)
class ImportOutcome:
    """A clean upload: the draft to publish and what it would change from the effective day."""

    draft: UnitListDraft
    preview: Preview


def current_plan(base: Plan, *, versions: PlanVersionStore) -> Plan:
    """The plan with its latest published unit list (what a new version replaces, and what the pass closes by)."""
    return latest_plan(base, versions.versions(base.id))


def import_unit_list(
    data: bytes,
    filename: str,
    effective_from: date | None,
    who: Principal,
    *,
    base: Plan,
    other_codes: frozenset[str],
    versions: PlanVersionStore,
    clock: Clock,
    taken_codes: Mapping[str, str] | None = None,
) -> ImportOutcome:
    """Read an uploaded XLSX against the latest list; keep it as a draft when clean and preview it from
    `effective_from` (today's local date when None). UnitListInvalid lists every bad row. `other_codes`: codes a
    successor may name outside the list; `taken_codes`: the units of the stack's other plans (by plan id), which
    no row may take."""
    published = versions.versions(base.id)
    current = latest_plan(base, published)
    try:
        result = read_unit_list(data, in_force=current.units, other_codes=other_codes, taken_codes=taken_codes)
    except UnreadableFile as exc:
        raise UnitListInvalid((UnitListError(None, None, str(exc)),)) from exc
    if not result.ok:
        raise UnitListInvalid(result.errors)
    now = clock.now()
    day = effective_from or local_date(now)
    _check_day(day, now, published)
    draft = UnitListDraft(draft_id(base.id, data), base.id, result.units, who.sub, now, filename)
    versions.save_import(draft)
    return ImportOutcome(draft, preview(current, result.units, day))


def preview_draft(
    draft_key: str, effective_from: date, *, base: Plan, versions: PlanVersionStore, clock: Clock
) -> Preview:
    """What publishing a kept draft from `effective_from` would change."""
    draft = _draft(draft_key, base, versions)
    published = versions.versions(base.id)
    _check_day(effective_from, clock.now(), published)
    return preview(latest_plan(base, published), draft.units, effective_from)


def publish_version(
    draft_key: str,
    effective_from: date,
    who: Principal,
    *,
    base: Plan,
    versions: PlanVersionStore,
    obligations: ObligationCreator,
    clock: Clock,
    taken_codes: Mapping[str, str] | None = None,
) -> PlanVersion:
    """Publish a draft as the next version from the local day of `effective_from`: inserted once (a concurrent
    publication of the same number is VersionConflict), announced, and its new obligations created. A unit code
    another plan of the stack took since the draft was read (`taken_codes`) is VersionConflict too."""
    draft = _draft(draft_key, base, versions)
    others = taken_codes or {}
    taken = sorted(f"{u.code} ({others[u.code]})" for u in draft.units if u.code in others)
    if taken:
        raise VersionConflict(f"Mã đơn vị đã thuộc kế hoạch khác: {', '.join(taken)}. Sửa tệp rồi tải lên lại.")
    published = versions.versions(base.id)
    now = clock.now()
    day = effective_from
    _check_day(day, now, published)
    current = latest_plan(base, published)
    number = max((v.number for v in published), default=0) + 1
    version = PlanVersion(base.id, number, day, now, who.sub, draft.units)
    if not versions.publish(version):
        raise VersionConflict("Một phiên bản khác vừa được công bố. Xem trước lại rồi công bố.")
    versions.record(published_event(version, diff_units(current.units, version.units)))
    create_version_obligations(base, [*published, version], obligations=obligations, now=now)
    return version


def published_event(version: PlanVersion, changes: tuple[UnitChange, ...]) -> Event:
    """The `plan.published` event of a version (deterministic id: announced once)."""
    codes = {kind: [c.code for c in changes if kind in c.kinds] for kind in ("added", "ended", "renamed", "changed")}
    return Event(
        id=f"{plan_subject(version.plan)}:v{version.number}:published",
        type=PlanPublished.TYPE,
        subject=plan_subject(version.plan),
        subject_version=version.number,
        producer="scheduler",
        occurred_at=version.published_at,
        data=PlanPublished(
            plan=version.plan,
            number=version.number,
            effective_from=version.effective_from,
            published_by=version.published_by,
            **codes,
        ).to_data(),
    )


def announce_versions(base: Plan, *, versions: PlanVersionStore) -> int:
    """Record the `plan.published` event of every version (insert-once by id: those already recorded are left);
    return how many were missing. The loop runs it at start, which repairs a crash between a version's insert and
    its event's."""
    published = versions.versions(base.id)
    missing = 0
    for before, version in zip([None, *published], published, strict=False):
        units = before.units if before is not None else base.units
        missing += versions.record(published_event(version, diff_units(units, version.units)))
    return missing


def version_obligations(base: Plan, published: list[PlanVersion], now: datetime) -> list[Obligation]:
    """The obligations the published versions owe: for each period that demands a report in the plan years
    opened by `now` (`Plan.open_periods`; later years get theirs when the pass opens them, from the latest list)
    and is due on or after the first version's effective day, those of the plan in force on its deadline day."""
    if not published:
        return []
    first = min(v.effective_from for v in published)
    out: list[Obligation] = []
    for period in base.open_periods(now):
        if period.deadline_day < first:
            continue
        plan = plan_for_period(base, published, period)
        out.extend(ob for ob in obligations_for_plan(plan) if ob.period == period.key)
    return out


def create_version_obligations(
    base: Plan, published: list[PlanVersion], *, obligations: ObligationCreator, now: datetime
) -> int:
    """Create (once each) the obligations the published versions owe; return how many are new. Safe to repeat; a
    crash between a version and its obligations is repaired at the loop's start by `sync_plan`, which creates each
    period's obligations from the plan in force on its deadline day."""
    planned = version_obligations(base, published, now)
    created = obligations.create_many([(ob, created_event(ob, now)) for ob in planned])
    # as sync_plan: an entry just after now, since the pass may already have processed up to now, and an entry at
    # or before its mark is never read: without it, an obligation a version adds would never be chased
    obligations.appoint([(ob.key, now + WAKE_AFTER) for ob in planned])
    return created


def version_of(number: int, *, base: Plan, versions: PlanVersionStore) -> PlanVersion:
    """One published version, or VersionNotFound."""
    found = versions.version(base.id, number)
    if found is None:
        raise VersionNotFound(f"Không có phiên bản {number} của kế hoạch.")
    return found


def units_of(number: int, *, base: Plan, versions: PlanVersionStore) -> Plan:
    """The plan with the unit list of version `number` (0: the plan file)."""
    if number == 0:
        return base
    return latest_plan(base, [version_of(number, base=base, versions=versions)])


def compare_versions(first: int, second: int, *, base: Plan, versions: PlanVersionStore) -> tuple[UnitChange, ...]:
    """The unit changes from version `first` to version `second` (0 is the plan file)."""
    return diff_units(
        units_of(first, base=base, versions=versions).units, units_of(second, base=base, versions=versions).units
    )


def _draft(draft_key: str, base: Plan, versions: PlanVersionStore) -> UnitListDraft:
    draft = versions.draft(base.id, draft_key)
    if draft is None:
        raise DraftNotFound("Không tìm thấy danh sách đã tải lên. Tải tệp lên lại.", "draft")
    return draft


def _check_day(day: date, now: datetime, published: list[PlanVersion]) -> None:
    try:
        check_effective_from(day, today=local_date(now), versions=published)
    except VersionDateError as exc:
        raise EffectiveDateRefused(str(exc), "effective_from") from exc
