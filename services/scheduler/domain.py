"""Scheduler's domain: obligations, their derived status and the on-time verdict (plain Python)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from shared.errors import DomainError
from shared.events import (
    ObligationClosed,
    ObligationExtended,
    ObligationExtensionRefused,
    ObligationExtensionRequested,
    ObligationFulfilled,
    ObligationLevel,
    ObligationWaived,
    obligation_subject,
    typed,
)
from shared.formatting import vn_date, vn_datetime
from shared.plan import Period, Plan, Unit
from shared.timerules import (
    Deadline,
    Rung,
    WorkingDayCalendar,
    at_local,
    days_late,
    deadline_day,
    deadline_in_force,
    is_on_time,
    ladder,
    local_iso,
)

FINAL_STATUSES = ("submitted_on_time", "submitted_late", "waived", "closed_by_reorganisation")
STATUSES = ("pending", "overdue", *FINAL_STATUSES)


class SchedulerError(DomainError):
    """Base of the scheduler's domain errors."""


class ObligationNotFound(SchedulerError):
    """No obligation for that unit and period."""


class ClockNotSimulated(SchedulerError):
    """The clock endpoint exists only in simulation mode."""


class ObligationEnded(SchedulerError):
    """The obligation is already fulfilled, waived or closed."""


class ExtensionRequestNotFound(SchedulerError):
    """No such extension request."""


class ExtensionAlreadyDecided(SchedulerError):
    """The request was already granted or refused."""


class ExtensionNotLater(SchedulerError):
    """An extension must move the deadline day later than the one in force."""


class NotYourObligation(SchedulerError):
    """A unit acts only on its own obligations."""


@dataclass(frozen=True)
class Obligation:
    """The static facts of a unit's duty to report for a period, fixed when it is created."""

    agency: str
    period: str
    unit_name: str
    unit_order: int | None
    unit_types: tuple[str, ...]
    due_before: datetime
    deadline_day: date
    data_window: tuple[date, date] | None
    policy: tuple[dict[str, Any], ...]

    @property
    def key(self) -> str:
        """The obligation's identity."""
        return f"{self.agency}:{self.period}"

    @property
    def subject(self) -> str:
        """The subject of its events."""
        return obligation_subject(self.agency, self.period)


@dataclass(frozen=True)
class Transition:
    """A stored event about an obligation (its state is derived from these)."""

    id: str
    type: str
    subject_version: int
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class ObligationState:
    """An obligation's current state, derived from its transitions and business time."""

    obligation: Obligation
    status: str
    generation: int
    due_before: datetime
    received_at: datetime | None
    days_late: int | None
    version: int
    emitted: tuple[str, ...]
    skipped: tuple[str, ...]


def version_at(instant: datetime) -> int:
    """An obligation event's `subject_version`: the business instant of the change, in microseconds.

    Deterministic (every replica computes the same version for the same event) and growing with each change,
    so no read-then-increment is needed (FerretDB updates have no isolation). `obligation.created` is 1.
    """
    return int(instant.timestamp() * 1_000_000)


def obligations_for_plan(plan: Plan, periods: Iterable[Period] | None = None) -> list[Obligation]:
    """The obligations of `periods` (default: the plan's own year, `Plan.obligation_periods()`): obligated units x
    periods that demand a report (`Plan.obligated_units`), each with the plan's escalation policy as it is now."""
    policy = tuple(asdict(level) for level in plan.escalation)
    out = []
    for period in plan.obligation_periods() if periods is None else periods:
        assert period.due_before is not None
        for unit in plan.obligated_units(period):
            out.append(
                Obligation(
                    agency=unit.code,
                    period=period.key,
                    unit_name=unit.name,
                    unit_order=unit.order,
                    unit_types=unit.types,
                    due_before=period.due_before,
                    deadline_day=period.deadline_day,
                    data_window=period.data_window,
                    policy=policy,
                )
            )
    return out


def deadlines(ob: Obligation, transitions: list[Transition]) -> list[Deadline]:
    """Generation 1 from the plan, then one generation per granted extension."""
    out = [Deadline(generation=1, due_before=ob.due_before)]
    for data in map(typed, transitions):
        if isinstance(data, ObligationExtended):
            out.append(
                Deadline(generation=data.generation, due_before=data.due_before, effective_from=data.effective_from)
            )
    return sorted(out, key=lambda d: d.generation)


def derive_state(ob: Obligation, transitions: list[Transition], now: datetime) -> ObligationState:
    """Fold an obligation's transitions: final statuses stick; otherwise overdue from `due_before` on."""
    gens = deadlines(ob, transitions)
    current = gens[-1]
    status: str | None = None
    received_at = None
    late = None
    emitted: list[str] = []
    skipped: list[str] = []
    for t in sorted(transitions, key=lambda t: t.subject_version):
        data = typed(t)
        if isinstance(data, ObligationFulfilled) and status is None:
            status, received_at, late = data.status, data.received_at, data.days_late
        elif isinstance(data, ObligationWaived) and status is None:
            status = "waived"
        elif isinstance(data, ObligationClosed) and status is None:
            status = "closed_by_reorganisation"
        elif isinstance(data, ObligationLevel):
            emitted.append(f"g{data.generation}:{data.level}")
            skipped.extend(f"g{data.generation}:{lv}" for lv in data.skipped)
    if status is None:
        status = "overdue" if now >= current.due_before else "pending"
    skipped = [s for s in skipped if s not in emitted]  # a level re-planned after a crash mid-pass was sent
    return ObligationState(
        obligation=ob,
        status=status,
        generation=current.generation,
        due_before=current.due_before,
        received_at=received_at,
        days_late=late,
        version=max((t.subject_version for t in transitions), default=0),
        emitted=tuple(emitted),
        skipped=tuple(skipped),
    )


def closes_at(ob: Obligation, unit: Unit | None) -> datetime | None:
    """When a ceasing unit's obligation closes as `closed_by_reorganisation`: local 00:00 of its `valid_until`,
    for obligations whose deadline day is on or after that day (F2); None when the unit stays."""
    if unit is None or unit.valid_until is None or unit.valid_until > ob.deadline_day:
        return None
    return at_local(unit.valid_until, 0, 0)


def closing_reason(unit: Unit, names: dict[str, str]) -> str:
    """Why a ceasing unit's obligation was closed, in Vietnamese, naming the successors."""
    text = f"{unit.name} thôi hoạt động từ ngày {vn_date(unit.valid_until)} do sắp xếp tổ chức bộ máy"
    if unit.successors:
        text += "; nhiệm vụ chuyển về " + ", ".join(names.get(code, code) for code in unit.successors)
    return text + "."


@dataclass(frozen=True)
class Step:
    """What the pass does for one obligation at `now`, and when it must look again (its next action)."""

    close: bool
    rung: Rung | None
    skipped: tuple[str, ...]
    generation: int
    due_before: datetime
    next_at: datetime | None


def pass_step(
    ob: Obligation,
    transitions: list[Transition],
    now: datetime,
    *,
    working_days: WorkingDayCalendar,
    local_time: str,
    closing: datetime | None,
) -> Step:
    """The F7 ladder for one obligation at `now`: close it if its unit has ceased; else the highest level due
    and not yet emitted or skipped (lower unemitted ones are skipped; levels before the generation's start are
    never sent); and the next instant anything can happen (None once the obligation has ended)."""
    state = derive_state(ob, transitions, now)
    current = deadlines(ob, transitions)[-1]
    nothing = Step(False, None, (), current.generation, current.due_before, None)
    if state.status in FINAL_STATUSES:
        return nothing
    if closing is not None and now >= closing:
        return Step(True, None, (), current.generation, current.due_before, None)
    done = set(state.emitted) | set(state.skipped)
    rungs = ladder(deadline_day(current.due_before), ob.policy, working_days, local_time)
    open_rungs = [r for r in rungs if f"g{current.generation}:{r.level}" not in done]
    sendable = [r for r in open_rungs if current.effective_from is None or r.at >= current.effective_from]
    due = [r for r in open_rungs if r.at <= now]
    top = next((r for r in reversed(sendable) if r.at <= now), None)
    later = [r.at for r in sendable if r.at > now]
    return Step(
        close=False,
        rung=top,
        skipped=tuple(r.level for r in due if r is not top) if top else (),
        generation=current.generation,
        due_before=current.due_before,
        next_at=min([*later, *([closing] if closing else [])], default=None),
    )


def verdict(ob: Obligation, transitions: list[Transition], received_at: datetime) -> tuple[str, int, Deadline]:
    """The authoritative on-time verdict for a report received at `received_at` (Time rules)."""
    gens = deadlines(ob, transitions)
    in_force = deadline_in_force(received_at, gens)
    status = "submitted_on_time" if is_on_time(received_at, gens) else "submitted_late"
    return status, days_late(received_at, in_force.due_before), in_force


@dataclass(frozen=True)
class ExtensionRequest:
    """A unit's request for a later deadline, and its decision if any (F8)."""

    id: str
    agency: str
    period: str
    reason: str
    proposed_date: date
    requested_at: datetime
    requested_by: str
    decision: str | None = None
    decided_reason: str | None = None
    granted_date: date | None = None


DECISIONS = {"obligation.extended": "granted", "obligation.extension_refused": "refused"}


def extension_requests(transitions: list[Transition]) -> list[ExtensionRequest]:
    """An obligation's extension requests with their decisions, oldest first."""
    decided: dict[str, ObligationExtended | ObligationExtensionRefused] = {}
    for data in map(typed, transitions):
        if isinstance(data, (ObligationExtended, ObligationExtensionRefused)) and data.request_id:
            decided[data.request_id] = data
    out = []
    for t in sorted(transitions, key=lambda t: t.subject_version):
        request = typed(t)
        if not isinstance(request, ObligationExtensionRequested):
            continue
        decision = decided.get(request.request_id)
        out.append(
            ExtensionRequest(
                id=request.request_id,
                agency=request.agency,
                period=request.period,
                reason=request.reason,
                proposed_date=request.proposed_date,
                requested_at=t.occurred_at,
                requested_by=request.requested_by or "",
                decision=DECISIONS[decision.TYPE] if decision else None,
                decided_reason=decision.reason if decision else None,
                granted_date=deadline_day(decision.due_before) if isinstance(decision, ObligationExtended) else None,
            )
        )
    return out


# --- F17: the ladder waits for its input --------------------------------------------------------------------

LADDER_SUBJECT = "ladder"


def hold_event_id(number: int, what: str) -> str:
    """The id of the n-th hold's `held` or `resumed` event: every replica computes the same, so each is sent once."""
    return f"ladder:hold:{number}:{what}"


@dataclass(frozen=True)
class LadderStatus:
    """Whether the ladder applies levels up to business time now, or waits for intake's watermark.

    `state`: `running` (the pass is at now), `waiting` (the watermark is behind now, within the limit or its
    grace: levels due after it wait), `held` (a hold is open: Sở Nội vụ has been told).
    """

    state: str
    now: datetime
    watermark: datetime | None
    processed_up_to: datetime | None
    lag_seconds: float
    limit_seconds: float
    held_since: datetime | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The API form (instants in local time)."""
        return {
            "state": self.state,
            "watermark": local_iso(self.watermark),
            "lag_seconds": round(self.lag_seconds, 3),
            "limit_seconds": self.limit_seconds,
            "held_since": local_iso(self.held_since),
            "reason": self.reason,
        }


def watermark_lag(now: datetime, watermark: datetime | None, processed_up_to: datetime | None) -> float:
    """How far (business seconds) the ladder's input lags now. Before any watermark the pass's own progress
    stands in for it (an upgraded stack), and a stack that has neither has not started lagging."""
    base = watermark or processed_up_to or now
    return max(0.0, (now - base).total_seconds())


def hold_reason(watermark: datetime | None, limit_seconds: float) -> str:
    """Why the ladder is held, in Vietnamese for Sở Nội vụ and the operator."""
    minutes = max(1, round(limit_seconds / 60))
    since = f"dừng ở {vn_datetime(watermark)}" if watermark else "chưa có"
    return (
        f"Mốc tiếp nhận của hệ thống nhận báo cáo {since}, chậm hơn thời gian hiện tại quá {minutes} phút: "
        "các báo cáo nhận sau mốc này có thể chưa đến bộ lập lịch (hàng đợi thông điệp hoặc bộ chuyển tiếp bị "
        "gián đoạn). Các mức nhắc nhở, quá hạn và đôn đốc đến hạn sau mốc này tạm dừng và sẽ được áp dụng khi "
        "luồng dữ liệu phục hồi."
    )
