"""Scheduler's use cases: one function per command or event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from services.scheduler.domain import (
    FINAL_STATUSES,
    LADDER_SUBJECT,
    ExtensionAlreadyDecided,
    ExtensionNotLater,
    ExtensionRequest,
    ExtensionRequestNotFound,
    LadderStatus,
    NotYourObligation,
    Obligation,
    ObligationEnded,
    ObligationNotFound,
    ObligationState,
    Step,
    Transition,
    closes_at,
    closing_reason,
    derive_state,
    extension_requests,
    hold_event_id,
    hold_reason,
    obligations_for_plan,
    pass_step,
    verdict,
    version_at,
    watermark_lag,
)
from shared.auth import Principal
from shared.calendar_rules import Period
from shared.events import Event, IntakeWatermark, ObligationFulfilled, ReportSubmitted
from shared.failpoints import failpoint
from shared.formatting import vn_date
from shared.paging import Page, PageRequest
from shared.plan import Plan
from shared.plan_versions import VersionedPlan
from shared.retention import DayPruner, cutoff_day
from shared.timerules import (
    Clock,
    at_local,
    days_overdue,
    deadline_day,
    due_before_for_deadline_day,
    local_date,
    parse_instant,
)

log = logging.getLogger(__name__)
EMIT_BATCH = 1000
FIRST_PAGE = PageRequest()
WAKE_AFTER = timedelta(seconds=1)  # a wake-up lands after any pass already running (the agenda is read by window)


class ObligationStore(Protocol):
    """Obligations (static facts) and their transitions (events, append-only, unique ids)."""

    def create(self, ob: Obligation, event: Event) -> bool:
        """Store an obligation and its `obligation.created` event, each at most once."""
        ...

    def get(self, agency: str, period: str) -> Obligation | None:
        """One obligation."""
        ...

    def obligation_of_request(self, request_id: str) -> Obligation | None:
        """The obligation an extension request was made for, or None (no such request)."""
        ...

    def all(self) -> list[Obligation]:
        """Every obligation."""
        ...

    def page(self, *, period: str | None, agency: str | None, asked: PageRequest) -> Page[Obligation]:
        """A page of the obligations of a period or a unit (at least one given), in key order."""
        ...

    def requests_page(self, *, agency: str | None, asked: PageRequest) -> Page[Transition]:
        """A page of the extension-request transitions, of one unit's obligations when `agency` is given."""
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

    def create_many(self, items: list[tuple[Obligation, Event]]) -> int:
        """Store obligations with their created events, each at most once; return how many are new."""
        ...

    def record_many(self, events: list[Event]) -> int:
        """Append transition events, each id once; return how many were new."""
        ...

    def get_many(self, keys: list[str]) -> dict[str, Obligation]:
        """Obligations by key."""
        ...

    def transitions_of(self, keys: list[str]) -> dict[str, list[Transition]]:
        """The transitions of the given obligations, by key (every key present)."""
        ...

    def due(self, after: datetime | None, now: datetime) -> list[str]:
        """Keys of obligations with an agenda entry in (after, now]."""
        ...

    def appoint(self, appointments: list[tuple[str, datetime]]) -> None:
        """Add agenda entries (obligation key, instant), each once."""
        ...


class PassStore(Protocol):
    """How far the scheduler's passes have got in business time, the intake watermark they may go up to, and
    the ladder's holds (F17)."""

    def processed_up_to(self) -> datetime | None:
        """The business instant up to which a pass has finished."""
        ...

    def set_processed_up_to(self, instant: datetime) -> None:
        """Record a finished pass."""
        ...

    def watermark(self) -> datetime | None:
        """The intake watermark applied so far."""
        ...

    def apply_watermark(self, received_before: datetime) -> bool:
        """Move the applied watermark forward; False when it was already there."""
        ...

    def hold(self, start: int = 1) -> tuple[int, dict[str, Any] | None]:
        """The first hold number from `start` not resumed, with its `held` event data if it was sent."""
        ...

    def record_hold(self, event: Event) -> bool:
        """Store a hold event once by its id."""
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


def sync_plan(
    plan: Plan, *, obligations: ObligationStore, clock: Clock, plan_for: Callable[[Period], Plan] | None = None
) -> int:
    """At start: create the obligations of every plan year opened by now (`Plan.open_periods`) that do not exist
    yet, each announced once; return how many. Later years are opened by the pass (`open_years_due`).

    `plan_for` gives the plan a period's obligations come from (the loop: the unit list in force on its deadline
    day, `shared.plan_versions.plan_for_period`), so a unit a published version ended or stopped from reporting
    gets no obligation from the plan file at a restart; without it, `plan` for every period.

    Every obligation then gets an agenda entry just after now, so a pass looks at each once: the plan file
    may have changed since the last start (a unit's `valid_until`, a holiday), and the agenda follows it.
    Units that ceased before now are announced (`unit.changed`, once each).
    """
    now = clock.now()
    periods = plan.open_periods(now)
    planned = _planned(plan, periods, plan_for)
    created = obligations.create_many([(ob, created_event(ob, now)) for ob in planned])
    obligations.appoint([(ob.key, now + WAKE_AFTER) for ob in planned])
    obligations.record_many(units_ceased(plan, after=None, now=now))
    return created


def _planned(plan: Plan, periods: Sequence[Period], plan_for: Callable[[Period], Plan] | None) -> list[Obligation]:
    """The obligations of `periods`, each period's from `plan_for(period)` (`plan` for all without it)."""
    if plan_for is None:
        return obligations_for_plan(plan, periods)
    return [ob for period in periods for ob in obligations_for_plan(plan_for(period), [period])]


def on_report_submitted(
    event: Event, *, obligations: ObligationStore, plans: Callable[[], Sequence[VersionedPlan]]
) -> None:
    """A report arrived: fulfil its obligation with the verdict for its `received_at`, once. An obligation the
    pass has not created yet is created as the pass would: from the plan whose latest list has the unit, with the
    list in force on the period's deadline day (so a unit a published version added is known); `plans` is read
    only then."""
    data = ReportSubmitted.of(event)
    agency, period, received_at = data.agency, data.period, data.received_at
    ob = obligations.get(agency, period)
    if ob is None:  # the pass has not opened its year yet (it lags intake): create it now, as the pass would
        found: list[Obligation] = []
        for plan in plans():
            entry = plan.latest.period(period) if plan.latest.unit(agency) is not None else None
            if entry is not None and plan.latest.is_open(entry, max(received_at, event.occurred_at)):
                found = obligations_for_plan(plan.for_period(entry), [entry])
                break
        ob = next((o for o in found if o.agency == agency), None)
        if ob is None:
            log.info("report for no obligation ignored", extra={"agency": agency, "period": period})
            return
        obligations.create(ob, created_event(ob, received_at))
    transitions = obligations.transitions(ob)
    if any(t.type in ("obligation.fulfilled", "obligation.waived", "obligation.closed") for t in transitions):
        return
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
            data=ObligationFulfilled(
                agency=agency,
                period=period,
                status=status,
                received_at=received_at,
                due_before=in_force.due_before,
                generation=in_force.generation,
                days_late=late,
                report_id=data.report_id,
            ).to_data(),
        )
    )


def on_intake_watermark(event: Event, *, passes: PassStore) -> bool:
    """Intake's watermark arrived (F17): every report it accepted before `received_before` has been handled
    by this consumer already (its queue has one active consumer, in publication order), so the ladder may now
    apply levels due up to that instant. Kept monotonic: an older or repeated watermark changes nothing."""
    return passes.apply_watermark(IntakeWatermark.of(event).received_before)


def run_pass(
    *, plans: Sequence[VersionedPlan], obligations: ObligationStore, passes: PassStore, clock: Clock
) -> datetime:
    """One pass of the F7 ladder up to business time now or the applied intake watermark, whichever is
    earlier (F17: a level due at L is applied only once every report accepted before L has been handled), then
    `processed_up_to` is recorded. Without any watermark yet nothing is applied: the ladder waits for its input.

    `plans`: every plan the stack runs with its published versions; an obligation goes by the plan whose latest
    list has its unit (the first for a code none has).

    First each plan's years that opened in (processed_up_to, now] get their obligations (`open_years_due`, each
    period's from the unit list in force on its deadline day, as in `sync_plan`). Then
    only obligations with an agenda entry in (processed_up_to, now] are read. For each: a ceased unit's
    obligation is closed (`obligation.closed`); otherwise the highest level due now is emitted if it has not
    been, and the lower unemitted levels are recorded as `skipped` in it, so after downtime or a clock jump
    nobody gets a pile of stale reminders; levels before the generation's start (an extension granted after
    them) are never sent. Event id = (obligation, generation, level), inserted once, so replicas and restarts
    cannot emit twice. Events are stored in batches of EMIT_BATCH (one round trip each); then each obligation
    gets an agenda entry at its next action, and `processed_up_to` is recorded. A pass killed midway is
    redone by the next one over the same window.
    """
    previous = passes.processed_up_to()
    watermark = passes.watermark()
    now = min(clock.now(), watermark) if watermark is not None else previous
    if now is None:
        return clock.now()  # nothing known yet; `processed_up_to` stays unset until intake's first watermark
    if previous is not None and now < previous:
        now = previous  # never back (a stack upgraded from passes that ran ungated)
    for each in plans:
        open_years_due(each.latest, obligations=obligations, after=previous, now=now, plan_for=each.for_period)
    keys = obligations.due(previous, now)
    found = obligations.get_many(keys)
    history = obligations.transitions_of(keys)
    by_unit = {u.code: each.latest for each in reversed(plans) for u in each.latest.units}
    names = {u.code: u.name for each in plans for u in each.latest.units}  # successors may be in another plan
    events: list[Event] = []
    appointments: list[tuple[str, datetime]] = []
    for key in keys:
        ob = found.get(key)
        if ob is None:
            continue
        plan = by_unit.get(ob.agency, plans[0].latest)
        unit = plan.unit(ob.agency)
        closing = closes_at(ob, unit)
        step = pass_step(
            ob,
            history[key],
            now,
            working_days=plan.working_days,
            local_time=plan.escalation_local_time,
            closing=closing,
        )
        if step.close and unit is not None and closing is not None:
            events.append(_closed_event(ob, closing, closing_reason(unit, names)))
        elif step.rung is not None:
            events.append(_level_event(ob, step))
        if step.next_at is not None:
            appointments.append((key, step.next_at))
    for start in range(0, len(events), EMIT_BATCH):
        obligations.record_many(events[start : start + EMIT_BATCH])
        failpoint("scheduler.mid_pass")
    obligations.appoint(appointments)
    for each in plans:
        obligations.record_many(units_ceased(each.latest, after=previous, now=now))
    passes.set_processed_up_to(now)
    return now


def open_years_due(
    plan: Plan,
    *,
    obligations: ObligationStore,
    after: datetime | None,
    now: datetime,
    plan_for: Callable[[Period], Plan] | None = None,
) -> int:
    """Create the obligations of the plan years that opened in (after, now] (`Plan.periods_opening`), announced
    at `now` (the business day the scheduler opens them, however late after a clock jump); return how many are
    new. Insert-once by their deterministic ids, so replicas, a pass redone after a crash and the start's
    `sync_plan` create and announce each once. Each gets an agenda entry at `now`, so the pass that opens a year
    applies the levels already due in it (a clock jumping over a deadline: the highest, the others skipped).
    `plan_for`: the plan each period's obligations come from, as in `sync_plan` (`plan` itself without it)."""
    opening = plan.periods_opening(after, now)
    if not opening:
        return 0
    planned = _planned(plan, opening, plan_for)
    created = obligations.create_many([(ob, created_event(ob, now)) for ob in planned])
    if created:
        log.info("plan year opened", extra={"periods": [p.key for p in opening], "obligations_created": created})
    return created


def prune_agenda(pruner: DayPruner, *, passes: PassStore, keep: timedelta, real_now: float) -> bool:
    """Delete one batch of agenda entries processed more than `keep` of business time ago (a pass reads only
    entries after `processed_up_to`, so those are never read again); False when there was nothing to do."""

    def first_kept() -> date | None:
        processed = passes.processed_up_to()
        return cutoff_day(processed, keep) if processed is not None else None

    return pruner.step(first_kept, real_now)


@dataclass
class LadderWatch:
    """What a pass loop remembers between ticks about the ladder's input: since when (real monotonic seconds)
    the watermark has lagged beyond the limit, and the hold number it has seen resolved (a lookup hint).

    The grace is real time: a simulated clock step makes business time jump ahead of the watermark for the
    moment intake's relay needs to follow, which is not a hold. On the system clock it only adds the grace
    to the limit."""

    limit_seconds: float
    grace_seconds: float
    lagging_since: float | None = None
    hold_hint: int = 1
    maybe_open: bool = True  # a hold may be open (at start, or since a lag was seen): look it up


def ladder_status(
    *, passes: PassStore, clock: Clock, limit_seconds: float, hint: int = 1, done: datetime | None = None
) -> LadderStatus:
    """The ladder's state now: running, waiting for the watermark, or held (with since when and why).
    `done`: `processed_up_to` when the caller has just read it."""
    now = clock.now()
    watermark, done = passes.watermark(), done or passes.processed_up_to()
    lag = watermark_lag(now, watermark, done)
    _, held = passes.hold(hint)
    if held is not None:
        return LadderStatus(
            "held", now, watermark, done, lag, limit_seconds, parse_instant(held["held_since"]), held["reason"]
        )
    state = "running" if done is not None and done >= now else "waiting"
    return LadderStatus(state, now, watermark, done, lag, limit_seconds)


def watch_ladder(watch: LadderWatch, *, passes: PassStore, clock: Clock, real_now: float) -> None:
    """After a pass: open a hold when the watermark has lagged business time by more than the limit for the
    grace period, close it once it no longer does (the pass has caught up by then, with the usual skip rule).

    Each hold is two events of the outbox, `scheduler.ladder_held` and `scheduler.ladder_resumed`, with ids
    numbered by hold (`ladder:hold:<n>:held`), inserted once: every replica computes the same ids, so Sở Nội vụ
    is told once of each, however many loops run.
    """
    now = clock.now()
    watermark, done = passes.watermark(), passes.processed_up_to()
    lag = watermark_lag(now, watermark, done)
    if lag <= watch.limit_seconds and not watch.maybe_open:
        watch.lagging_since = None
        return  # the usual tick: no hold can be open that this loop has not seen lagging
    watch.maybe_open = True
    number, held = passes.hold(watch.hold_hint)
    watch.hold_hint = number
    # Read the watermark again after the holds: a replica that resumed a hold read a watermark at least this
    # old before it did, so this loop cannot open a new hold on a lag that replica has seen end.
    watermark, done = passes.watermark(), passes.processed_up_to()
    lag = watermark_lag(now, watermark, done)
    if lag <= watch.limit_seconds:
        watch.lagging_since = None
        if held is not None and watermark is not None:
            passes.record_hold(_resumed_event(number, held, now, watermark))
            watch.hold_hint = number + 1
            log.info("ladder resumed", extra={"watermark": watermark.isoformat()})
        watch.maybe_open = held is not None and watermark is None
        return
    if watch.lagging_since is None:
        watch.lagging_since = real_now
    if held is None and real_now - watch.lagging_since >= watch.grace_seconds:
        reason = hold_reason(watermark, watch.limit_seconds)
        passes.record_hold(_held_event(number, now, watermark, watch.limit_seconds, reason))
        log.warning("ladder held", extra={"watermark": str(watermark), "lag_seconds": lag})


def _held_event(number: int, now: datetime, watermark: datetime | None, limit: float, reason: str) -> Event:
    return Event(
        id=hold_event_id(number, "held"),
        type="scheduler.ladder_held",
        subject=LADDER_SUBJECT,
        subject_version=number * 2 - 1,
        producer="scheduler",
        occurred_at=now,
        data={
            "held_since": now.isoformat(),
            "watermark": watermark.isoformat() if watermark else None,
            "limit_seconds": int(limit),
            "reason": reason,
        },
    )


def _resumed_event(number: int, held: dict[str, Any], now: datetime, watermark: datetime) -> Event:
    return Event(
        id=hold_event_id(number, "resumed"),
        type="scheduler.ladder_resumed",
        subject=LADDER_SUBJECT,
        subject_version=number * 2,
        producer="scheduler",
        occurred_at=now,
        data={"held_since": held["held_since"], "resumed_at": now.isoformat(), "watermark": watermark.isoformat()},
    )


def _level_event(ob: Obligation, step: Step) -> Event:
    rung = step.rung
    assert rung is not None
    return Event(
        id=f"{ob.subject}:g{step.generation}:{rung.level}",
        type=rung.event,
        subject=ob.subject,
        subject_version=version_at(rung.at),
        producer="scheduler",
        occurred_at=rung.at,
        data={
            "agency": ob.agency,
            "period": ob.period,
            "level": rung.level,
            "generation": step.generation,
            "due_before": step.due_before.isoformat(),
            "days_overdue": days_overdue(local_date(rung.at), step.due_before),
            "skipped": list(step.skipped),
        },
    )


def _closed_event(ob: Obligation, at: datetime, reason: str) -> Event:
    return _obligation_event(
        ob, f"{ob.subject}:closed", "obligation.closed", at, status="closed_by_reorganisation", reason=reason
    )


def units_ceased(plan: Plan, *, after: datetime | None, now: datetime) -> list[Event]:
    """`unit.changed` for each unit whose `valid_until` (local 00:00) falls in (after, now]: once per unit."""
    out = []
    for unit in plan.units:
        if unit.valid_until is None:
            continue
        at = at_local(unit.valid_until, 0, 0)
        if at <= now and (after is None or at > after):
            out.append(
                Event(
                    id=f"unit:{unit.code}:changed:{unit.valid_until.isoformat()}",
                    type="unit.changed",
                    subject=f"unit:{unit.code}",
                    subject_version=version_at(at),
                    producer="scheduler",
                    occurred_at=at,
                    data={
                        "code": unit.code,
                        "name": unit.name,
                        "valid_from": unit.valid_from.isoformat() if unit.valid_from != date.min else None,
                        "valid_until": unit.valid_until.isoformat(),
                        "successors": list(unit.successors),
                    },
                )
            )
    return out


def list_obligations(
    principal: Principal,
    *,
    obligations: ObligationStore,
    clock: Clock,
    agency: str | None = None,
    period: str | None = None,
    status: str | None = None,
    passes: PassStore | None = None,
    asked: PageRequest = FIRST_PAGE,
) -> Page[ObligationState]:
    """A page of obligations with their derived state, of a period or a unit (one of them given; a unit sees
    only its own), in key order (`<agency>:<period>`); `status` filters within the page, so a page may hold
    fewer than its limit while `next` says more follow. Each shown obligation costs one read of its transitions.

    With `passes`, an obligation shows `overdue` only up to where the passes have got (`processed_up_to`, never
    past intake's watermark, F17): while a report may still be on its way, the scheduler does not call it late.
    """
    if principal.is_agency():
        agency = principal.agency
    now = clock.now()
    done = passes.processed_up_to() if passes is not None else None
    if done is not None:
        now = min(now, done)
    found = obligations.page(period=period, agency=agency, asked=asked)
    states = [derive_state(ob, obligations.transitions(ob), now) for ob in found.items]
    return Page([s for s in states if not status or s.status == status], found.next)


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


def _obligation_event(
    ob: Obligation, event_id: str, event_type: str, now: datetime, *, after: int = 0, **data: object
) -> Event:
    """An event about an obligation at `now`; its version is above `after` (the state it was decided on), so
    a request and its decision at the same business instant (a frozen simulated clock) still grow."""
    return Event(
        id=event_id,
        type=event_type,
        subject=ob.subject,
        subject_version=max(version_at(now), after + 1),
        producer="scheduler",
        occurred_at=now,
        data={"agency": ob.agency, "period": ob.period, **data},
    )


def request_extension(
    agency: str, period: str, reason: str, proposed: date, principal: Principal, *, obligations: ObligationStore,
    clock: Clock, request_id: str,
) -> ExtensionRequest:  # fmt: skip
    """A unit asks for a later deadline day, with a reason (F8)."""
    ob, _, state = _obligation_in_force(agency, period, principal, obligations=obligations, clock=clock)
    _check_later(proposed, state, "proposed_date")
    now = clock.now()
    obligations.record(
        _obligation_event(
            ob, f"{ob.subject}:xr:{request_id}", "obligation.extension_requested", now, after=state.version,
            request_id=request_id, reason=reason, proposed_date=proposed.isoformat(), requested_by=principal.sub,
        )
    )  # fmt: skip
    return extension_requests(obligations.transitions(ob))[-1]


def _check_later(day: date, state: ObligationState, field: str) -> None:
    current = deadline_day(state.due_before)
    if day <= current:
        raise ExtensionNotLater(f"Ngày gia hạn phải sau hạn hiện hành ({vn_date(current)}).", field=field)


def pending_extension_requests(*, obligations: ObligationStore, status: str | None) -> list[ExtensionRequest]:
    """Every extension request, filtered by status (`pending`, `granted`, `refused`)."""
    out = []
    for transitions in obligations.all_transitions().values():
        out += extension_requests(transitions)
    chosen = [r for r in out if status is None or (r.decision or "pending") == status]
    return sorted(chosen, key=lambda r: r.requested_at)


def extension_requests_page(
    principal: Principal, *, obligations: ObligationStore, status: str | None, asked: PageRequest = FIRST_PAGE
) -> Page[ExtensionRequest]:
    """A page of extension requests in request-id order, by status (`pending`, `granted`, `refused`) within the
    page; a unit sees only its own. Each request costs the reads of its obligation and its transitions (for
    the decision)."""
    found = obligations.requests_page(agency=principal.agency if principal.is_agency() else None, asked=asked)
    out = []
    for t in found.items:
        ob = obligations.get(t.data["agency"], t.data["period"])
        decided = extension_requests(obligations.transitions(ob)) if ob is not None else []
        out += [r for r in decided if r.id == t.data["request_id"] and status in (None, r.decision or "pending")]
    return Page(out, found.next)


def decide_extension(
    request_id: str, grant: bool, reason: str, granted_date: date | None, principal: Principal, *,
    obligations: ObligationStore, clock: Clock,
) -> ExtensionRequest:  # fmt: skip
    """Sở Nội vụ grants (to the proposed or another date: a new generation) or refuses (with a reason)."""
    ob = obligations.obligation_of_request(request_id)
    asked = extension_requests(obligations.transitions(ob)) if ob is not None else []
    found = next((r for r in asked if r.id == request_id), None)
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
        _check_later(day, state, "due_date")
        due = due_before_for_deadline_day(day)
        generation = state.generation + 1
        event = _obligation_event(
            ob, f"{ob.subject}:g{generation}:extended", "obligation.extended", now, after=state.version,
            generation=generation, due_before=due.isoformat(), effective_from=now.isoformat(),
            request_id=request_id, reason=reason or None, decided_by=principal.sub,
        )  # fmt: skip
    else:
        event = _obligation_event(
            ob, f"{ob.subject}:xr:{request_id}:refused", "obligation.extension_refused", now, after=state.version,
            request_id=request_id, reason=reason, decided_by=principal.sub,
        )  # fmt: skip
    if not obligations.record(event):
        raise ExtensionAlreadyDecided("Một quyết định khác vừa được ghi cho nghĩa vụ này.")
    if grant:
        obligations.appoint([(ob.key, now + WAKE_AFTER)])  # the new ladder may start before the old next action
    return next(r for r in extension_requests(obligations.transitions(ob)) if r.id == request_id)


def waive_obligation(
    agency: str, period: str, reason: str, principal: Principal, *, obligations: ObligationStore, clock: Clock
) -> ObligationState:
    """Sở Nội vụ waives an obligation with a reason: it ends, no further level fires."""
    ob, _, state = _obligation_in_force(agency, period, principal, obligations=obligations, clock=clock)
    now = clock.now()
    obligations.record(
        _obligation_event(
            ob,
            f"{ob.subject}:waived",
            "obligation.waived",
            now,
            after=state.version,
            reason=reason,
            waived_by=principal.sub,
        )
    )
    return derive_state(ob, obligations.transitions(ob), now)
