"""Scheduler's use cases: one function per command or event."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol

from services.scheduler.domain import (
    FINAL_STATUSES,
    ExtensionAlreadyDecided,
    ExtensionRequest,
    ExtensionRequestNotFound,
    NotYourObligation,
    Obligation,
    ObligationEnded,
    ObligationNotFound,
    ObligationState,
    Transition,
    deadlines,
    derive_state,
    extension_requests,
    ladder,
    obligations_for_plan,
    verdict,
    version_at,
)
from shared.auth import Principal
from shared.events import Event
from shared.failpoints import failpoint
from shared.plan import Plan
from shared.timerules import (
    Clock,
    days_overdue,
    deadline_day,
    due_before_for_deadline_day,
    local_date,
    parse_instant,
)

log = logging.getLogger(__name__)


class ObligationStore(Protocol):
    """Obligations (static facts) and their transitions (events, append-only, unique ids)."""

    def create(self, ob: Obligation, event: Event) -> bool:
        """Store an obligation and its `obligation.created` event, each at most once."""
        ...

    def get(self, agency: str, period: str) -> Obligation | None:
        """One obligation."""
        ...

    def all(self) -> list[Obligation]:
        """Every obligation."""
        ...

    def transitions(self, ob: Obligation) -> list[Transition]:
        """The transitions of one obligation."""
        ...

    def all_transitions(self) -> dict[str, list[Transition]]:
        """Transitions of every obligation, by obligation key."""
        ...

    def record(self, event: Event) -> bool:
        """Append a transition event; False when its id was already recorded (it happens once)."""
        ...


class PassStore(Protocol):
    """How far the scheduler's passes have got in business time."""

    def processed_up_to(self) -> datetime | None:
        """The business instant up to which a pass has finished."""
        ...

    def set_processed_up_to(self, instant: datetime) -> None:
        """Record a finished pass."""
        ...


def created_event(ob: Obligation, now: datetime) -> Event:
    """The `obligation.created` event of an obligation (deterministic id: announced once)."""
    return Event(
        id=f"{ob.subject}:created",
        type="obligation.created",
        subject=ob.subject,
        subject_version=1,
        producer="scheduler",
        occurred_at=now,
        data={
            "agency": ob.agency,
            "period": ob.period,
            "generation": 1,
            "due_before": ob.due_before.isoformat(),
            "deadline_day": ob.deadline_day.isoformat(),
            "unit_name": ob.unit_name,
            "unit_order": ob.unit_order,
            "unit_types": list(ob.unit_types),
            "status": "pending",
        },
    )


def sync_plan(plan: Plan, *, obligations: ObligationStore, clock: Clock) -> int:
    """Create the plan's obligations that do not exist yet, each announced once; return how many."""
    now = clock.now()
    return sum(1 for ob in obligations_for_plan(plan) if obligations.create(ob, created_event(ob, now)))


def on_report_submitted(event: Event, *, obligations: ObligationStore, plan: Plan) -> None:
    """A report arrived: fulfil its obligation with the verdict for its `received_at`, once."""
    agency, period = event.data["agency"], event.data["period"]
    ob = obligations.get(agency, period)
    if ob is None:
        ob = next((o for o in obligations_for_plan(plan) if o.agency == agency and o.period == period), None)
        if ob is None:
            log.info("report for no obligation ignored", extra={"agency": agency, "period": period})
            return
        obligations.create(ob, created_event(ob, parse_instant(event.data["received_at"])))
    transitions = obligations.transitions(ob)
    if any(t.type in ("obligation.fulfilled", "obligation.waived", "obligation.closed") for t in transitions):
        return
    received_at = parse_instant(event.data["received_at"])
    status, late, in_force = verdict(ob, transitions, received_at)
    failpoint("scheduler.before_fulfil")
    obligations.record(
        Event(
            id=f"{ob.subject}:fulfilled",
            type="obligation.fulfilled",
            subject=ob.subject,
            subject_version=version_at(received_at),
            producer="scheduler",
            occurred_at=received_at,
            correlation_id=event.correlation_id or event.id,
            data={
                "agency": agency,
                "period": period,
                "status": status,
                "received_at": received_at.isoformat(),
                "due_before": in_force.due_before.isoformat(),
                "generation": in_force.generation,
                "days_late": late,
                "report_id": event.data["report_id"],
            },
        )
    )


def run_pass(*, plan: Plan, obligations: ObligationStore, passes: PassStore, clock: Clock) -> datetime:
    """One pass of the F7 ladder up to business time now, then `processed_up_to` is recorded.

    For each obligation not yet fulfilled, waived or closed, the highest level due now is emitted if it has
    not been, and the lower unemitted levels are recorded as `skipped` in it: after downtime or a clock jump
    nobody gets a pile of stale reminders. Levels whose time precedes the generation's start (an extension
    granted after them) are never sent. Event id = (obligation, generation, level), inserted once, so
    replicas and restarts cannot emit twice.
    """
    now = clock.now()
    everything = obligations.all_transitions()
    for ob in obligations.all():
        transitions = everything.get(ob.key, [])
        state = derive_state(ob, transitions, now)
        if state.status in FINAL_STATUSES:
            continue
        current = deadlines(ob, transitions)[-1]
        done = set(state.emitted) | set(state.skipped)
        rungs = ladder(deadline_day(current.due_before), ob.policy, plan.holidays, plan.escalation_local_time)
        due = [r for r in rungs if r.at <= now and f"g{current.generation}:{r.level}" not in done]
        sendable = [r for r in due if current.effective_from is None or r.at >= current.effective_from]
        if not sendable:
            continue
        top = sendable[-1]
        obligations.record(
            Event(
                id=f"{ob.subject}:g{current.generation}:{top.level}",
                type=top.event,
                subject=ob.subject,
                subject_version=version_at(top.at),
                producer="scheduler",
                occurred_at=top.at,
                data={
                    "agency": ob.agency,
                    "period": ob.period,
                    "level": top.level,
                    "generation": current.generation,
                    "due_before": current.due_before.isoformat(),
                    "days_overdue": days_overdue(local_date(top.at), current.due_before),
                    "skipped": [r.level for r in due if r is not top],
                },
            )
        )
        failpoint("scheduler.mid_pass")
    passes.set_processed_up_to(now)
    return now


def list_obligations(
    principal: Principal,
    *,
    obligations: ObligationStore,
    clock: Clock,
    agency: str | None = None,
    period: str | None = None,
    status: str | None = None,
) -> list[ObligationState]:
    """Obligations with their derived state, filtered, in calendar then official order; a unit sees only its own."""
    if principal.is_agency():
        agency = principal.agency
    now = clock.now()
    transitions = obligations.all_transitions()
    chosen: Iterable[Obligation] = (
        ob
        for ob in obligations.all()
        if (agency is None or ob.agency == agency) and (period is None or ob.period == period)
    )
    states = [derive_state(ob, transitions.get(ob.key, []), now) for ob in chosen]
    if status:
        states = [s for s in states if s.status == status]
    return sorted(states, key=lambda s: (s.obligation.due_before, s.obligation.unit_order or 0, s.obligation.agency))


def _obligation_in_force(
    agency: str, period: str, principal: Principal, *, obligations: ObligationStore, clock: Clock
) -> tuple[Obligation, list[Transition], ObligationState]:
    """An open obligation the caller may act on, with its transitions and state."""
    if principal.is_agency() and principal.agency != agency:
        raise NotYourObligation("Đơn vị chỉ thao tác trên nghĩa vụ báo cáo của mình.", field="agency")
    ob = obligations.get(agency, period)
    if ob is None:
        raise ObligationNotFound(f"Không có nghĩa vụ báo cáo {agency} kỳ {period}.")
    transitions = obligations.transitions(ob)
    state = derive_state(ob, transitions, clock.now())
    if state.status in FINAL_STATUSES:
        raise ObligationEnded(f"Nghĩa vụ đã kết thúc ({state.status}).")
    return ob, transitions, state


def _obligation_event(ob: Obligation, event_id: str, event_type: str, now: datetime, **data: object) -> Event:
    return Event(
        id=event_id,
        type=event_type,
        subject=ob.subject,
        subject_version=version_at(now),
        producer="scheduler",
        occurred_at=now,
        data={"agency": ob.agency, "period": ob.period, **data},
    )


def request_extension(
    agency: str, period: str, reason: str, proposed: date, principal: Principal, *, obligations: ObligationStore,
    clock: Clock, request_id: str,
) -> ExtensionRequest:  # fmt: skip
    """A unit asks for a later deadline day, with a reason (F8)."""
    ob, _, _ = _obligation_in_force(agency, period, principal, obligations=obligations, clock=clock)
    now = clock.now()
    obligations.record(
        _obligation_event(
            ob, f"{ob.subject}:xr:{request_id}", "obligation.extension_requested", now,
            request_id=request_id, reason=reason, proposed_date=proposed.isoformat(), requested_by=principal.sub,
        )
    )  # fmt: skip
    return extension_requests(obligations.transitions(ob))[-1]


def pending_extension_requests(*, obligations: ObligationStore, status: str | None) -> list[ExtensionRequest]:
    """Every extension request, filtered by status (`pending`, `granted`, `refused`)."""
    out = []
    for transitions in obligations.all_transitions().values():
        out += extension_requests(transitions)
    chosen = [r for r in out if status is None or (r.decision or "pending") == status]
    return sorted(chosen, key=lambda r: r.requested_at)


def decide_extension(
    request_id: str, grant: bool, reason: str, granted_date: date | None, principal: Principal, *,
    obligations: ObligationStore, clock: Clock,
) -> ExtensionRequest:  # fmt: skip
    """Sở Nội vụ grants (to the proposed or another date: a new generation) or refuses (with a reason)."""
    found = next(
        (r for r in pending_extension_requests(obligations=obligations, status=None) if r.id == request_id), None
    )
    if found is None:
        raise ExtensionRequestNotFound("Không tìm thấy đề nghị gia hạn.")
    if found.decision is not None:
        raise ExtensionAlreadyDecided(f"Đề nghị đã được xử lý ({found.decision}).")
    ob, transitions, state = _obligation_in_force(
        found.agency, found.period, principal, obligations=obligations, clock=clock
    )
    now = clock.now()
    if grant:
        day = granted_date or found.proposed_date
        due = due_before_for_deadline_day(day)
        generation = state.generation + 1
        event = _obligation_event(
            ob, f"{ob.subject}:g{generation}:extended", "obligation.extended", now,
            generation=generation, due_before=due.isoformat(), effective_from=now.isoformat(),
            request_id=request_id, reason=reason or None, decided_by=principal.sub,
        )  # fmt: skip
    else:
        event = _obligation_event(
            ob, f"{ob.subject}:xr:{request_id}:refused", "obligation.extension_refused", now,
            request_id=request_id, reason=reason, decided_by=principal.sub,
        )  # fmt: skip
    if not obligations.record(event):
        raise ExtensionAlreadyDecided("Một quyết định khác vừa được ghi cho nghĩa vụ này.")
    return next(r for r in extension_requests(obligations.transitions(ob)) if r.id == request_id)


def waive_obligation(
    agency: str, period: str, reason: str, principal: Principal, *, obligations: ObligationStore, clock: Clock
) -> ObligationState:
    """Sở Nội vụ waives an obligation with a reason: it ends, no further level fires."""
    ob, _, _ = _obligation_in_force(agency, period, principal, obligations=obligations, clock=clock)
    now = clock.now()
    obligations.record(
        _obligation_event(ob, f"{ob.subject}:waived", "obligation.waived", now, reason=reason, waived_by=principal.sub)
    )
    return derive_state(ob, obligations.transitions(ob), now)
