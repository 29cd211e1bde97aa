"""Scheduler's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates
from prometheus_client import Gauge

from services.scheduler import handlers, plan_api
from services.scheduler.bootstrap import Dependencies, build_dependencies
from services.scheduler.domain import (
    STATUSES,
    ClockNotSimulated,
    ExtensionAlreadyDecided,
    ExtensionNotLater,
    ExtensionRequest,
    ExtensionRequestNotFound,
    NotYourObligation,
    ObligationEnded,
    ObligationNotFound,
    ObligationState,
    SchedulerError,
)
from services.scheduler.versions import DraftNotFound, VersionConflict, VersionNotFound
from shared import web
from shared.clock import SimulatedClock
from shared.paging import is_key_of, page_of
from shared.plan import Period, Unit
from shared.settings import Settings
from shared.timerules import local_date, local_iso

ERROR_STATUS: dict[type[SchedulerError], int] = {
    ObligationNotFound: 404,
    ClockNotSimulated: 404,
    ExtensionRequestNotFound: 404,
    ExtensionAlreadyDecided: 409,
    ExtensionNotLater: 422,
    ObligationEnded: 409,
    NotYourObligation: 403,
    DraftNotFound: 404,
    VersionNotFound: 404,
    VersionConflict: 409,
}
ALL_ROLES = ("agency", "home_affairs", "observer", "leadership", "admin", "service")

bp = Blueprint("scheduler", __name__)


def _deps() -> Dependencies:
    return web.deps()


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _unit_json(unit: Unit, with_contacts: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": unit.code,
        "name": unit.name,
        "order": unit.order,
        "types": list(unit.types),
        "reports": unit.reports,
        "not_reporting_reason": unit.not_reporting_reason,
        "valid_from": _day(unit.valid_from),
        "valid_until": _day(unit.valid_until),
        "successors": list(unit.successors),
    }
    if with_contacts:
        out["contacts"] = [
            {"alert_role": c.alert_role, "name": c.name, "title": c.title, "email": c.email, "phone": c.phone}
            for c in unit.contacts
        ]
    return out


def _period_json(period: Period, expected: int) -> dict[str, Any]:
    return {
        "period": period.key,
        "kind": period.kind,
        "name": period.name,
        "rule": period.rule,
        "applicable": period.applicable,
        "expected_reports": expected,
        "deadline_day": _day(period.deadline_day),
        "due_before": local_iso(period.due_before),
        "data_window": (
            {"from": _day(period.data_window[0]), "to": _day(period.data_window[1])} if period.data_window else None
        ),
        "serves": list(period.serves),
        "served_by": period.served_by,
        "not_applicable_reason": period.not_applicable_reason,
    }


def _state_json(s: ObligationState) -> dict[str, Any]:
    ob = s.obligation
    return {
        "agency": ob.agency,
        "unit_name": ob.unit_name,
        "unit_order": ob.unit_order,
        "period": ob.period,
        "status": s.status,
        "generation": s.generation,
        "due_before": local_iso(s.due_before),
        "deadline_day": _day(ob.deadline_day),
        "data_window": {"from": _day(ob.data_window[0]), "to": _day(ob.data_window[1])} if ob.data_window else None,
        "received_at": local_iso(s.received_at),
        "days_late": s.days_late,
        "levels": {"emitted": list(s.emitted), "skipped": list(s.skipped)},
        "version": s.version,
        "policy": list(ob.policy),
    }


@bp.get("/api/v1/units")
@web.requires(*ALL_ROLES)
@web.document(query=("plan", *web.PAGE_QUERY))
def list_units() -> Response:
    """The registry of units (F2) of `plan` (default: the plan in force today) in official order, paged (the plan,
    held in memory); contacts only for Sở Nội vụ, admins and services."""
    who = web.principal()
    plan = web.plan_arg() or _deps().rt.plan
    page = page_of(plan.units, _official_order, web.page_request(is_key_of(bool, int, str)))
    with_contacts = who.role in ("home_affairs", "admin", "service")
    return web.paged(page, [_unit_json(u, with_contacts) for u in page.items], plan=plan.id)


def _official_order(unit: Unit) -> tuple[bool, int, str]:
    return (unit.order is None, unit.order or 0, unit.code)


@bp.get("/api/v1/calendar")
@web.requires(*ALL_ROLES)
@web.document(query=("year", "plan"))
def get_calendar() -> Response:
    """The plan's calendar: every period of `year` (default: every year opened so far), with `due_before`, data
    window, or why it is not applicable. A year the plan has not opened yet lists no period (`opens_at` says when
    it opens): its calendar is not owed until then. `plan`: one of the stack's plans (default: in force today)."""
    d = _deps()
    plan = web.plan_arg() or d.rt.plan
    year = web.query_arg("year")
    if year is not None and not re.fullmatch(r"[0-9]{4}", year):
        raise web.ApiError(400, "year phải là năm có 4 chữ số, ví dụ 2019.", fields={"year": "Không hợp lệ."})
    opened = plan.open_years(d.rt.clock.now())
    years = [y for y in opened if year is None or y == int(year)]
    periods = []
    for y in years:
        demanded = plan.obligation_periods(y)
        periods += [_period_json(p, len(plan.expected_units(p)) if p in demanded else 0) for p in plan.calendar_for(y)]
    body: dict[str, Any] = {
        "plan": plan.id,
        "year": int(year) if year is not None else None,
        "years": list(years),
        "issued_on": plan.issued_on.isoformat(),
        "periods": periods,
    }
    if year is not None:
        body["opens_at"] = local_iso(plan.year_opens_at(int(year)))
    return jsonify(body)


@bp.get("/api/v1/obligations")
@web.requires(*ALL_ROLES)
@web.document(query=("agency", "period", "status", *web.PAGE_QUERY))
def list_obligations() -> Response:
    """Obligations with their current status, of a `period` or an `agency` (one is required, read by equality;
    a unit sees only its own and needs neither), in `<agency>:<period>` order, paged; `status` filters within
    each page."""
    status = web.query_arg("status") or None
    if status is not None and status not in STATUSES:
        raise web.ApiError(400, f"status phải là một trong: {', '.join(STATUSES)}.", fields={"status": "Không hợp lệ."})
    who = web.principal()
    agency, period = web.query_arg("agency") or None, web.query_arg("period") or None
    if agency is None and period is None and not who.is_agency():
        raise web.ApiError(400, "Cần period hoặc agency.", fields={"period": "Bắt buộc khi không có agency."})
    d = _deps()
    page = handlers.list_obligations(
        who, obligations=d.obligations, clock=d.rt.clock, agency=agency, period=period, status=status,
        passes=d.passes, asked=web.page_request(),
    )  # fmt: skip
    return web.paged(page, [_state_json(s) for s in page.items])


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_RATE = 1e5  # a year of simulated time in about 5 real minutes


class SetClockSchema(Schema):
    """Move the simulated clock."""

    class Meta:
        unknown = RAISE

    now = fields.AwareDateTime(
        required=True,
        error_messages={
            "required": "now: bắt buộc (ISO 8601 có múi giờ).",
            "invalid": "now: phải là thời điểm ISO 8601 có múi giờ.",
            "invalid_awareness": "now: phải có múi giờ (ví dụ +07:00).",
        },
    )
    rate = fields.Float(
        load_default=0.0,
        validate=validate.Range(min=0, max=MAX_RATE, error=f"rate: từ 0 đến {MAX_RATE:g} giây mô phỏng mỗi giây."),
    )

    @validates("now")
    def _plausible(self, value: datetime, **_: Any) -> None:
        if not EARLIEST <= value <= LATEST:
            raise ValidationError("now: phải nằm trong khoảng năm 2000 đến 2100.")


def _clock() -> SimulatedClock:
    clock = _deps().rt.clock
    if not isinstance(clock, SimulatedClock):
        raise ClockNotSimulated("Đồng hồ mô phỏng chỉ có ở chế độ mô phỏng.")
    return clock


# F17: the ladder's state for Prometheus, refreshed at each scrape; in multiprocess mode the most recent value
# of a live worker wins, so every worker's scrape shows the same figures.
LADDER_HELD = Gauge("dvcq_ladder_held", "1 while the ladder is held (intake's watermark lags)", ["service"],
                    multiprocess_mode="livemostrecent")  # fmt: skip
LADDER_HELD_SINCE = Gauge("dvcq_ladder_held_since_seconds", "Business instant (Unix seconds) the hold began, 0 if none",
                          ["service"], multiprocess_mode="livemostrecent")  # fmt: skip
LADDER_LAG = Gauge("dvcq_ladder_watermark_lag_seconds", "Business seconds the intake watermark lags the clock",
                   ["service"], multiprocess_mode="livemostrecent")  # fmt: skip


def _ladder(done: datetime | None = None) -> dict[str, Any]:
    d = _deps()
    limit = d.rt.settings.ladder_hold_after_seconds
    return handlers.ladder_status(passes=d.passes, clock=d.rt.clock, limit_seconds=limit, done=done).to_json()


def _refresh_ladder_metrics() -> None:
    d = _deps()
    status = handlers.ladder_status(
        passes=d.passes, clock=d.rt.clock, limit_seconds=d.rt.settings.ladder_hold_after_seconds
    )
    LADDER_HELD.labels("scheduler").set(1 if status.state == "held" else 0)
    LADDER_HELD_SINCE.labels("scheduler").set(status.held_since.timestamp() if status.held_since else 0)
    LADDER_LAG.labels("scheduler").set(status.lag_seconds)


def _clock_json() -> dict[str, Any]:
    d = _deps()
    clock = d.rt.clock
    out: dict[str, Any] = {"mode": "simulation" if isinstance(clock, SimulatedClock) else "system"}
    out["now"] = local_iso(clock.now())
    if isinstance(clock, SimulatedClock):
        out["rate"] = clock.state().rate
    done = d.passes.processed_up_to()
    out["processed_up_to"] = local_iso(done)
    out["ladder"] = _ladder(done)
    return out


@bp.get("/api/v1/clock")
@web.requires(*ALL_ROLES)
def get_clock() -> Response:
    """Business time, `processed_up_to` and the ladder's state (held since when, and why: F17)."""
    return jsonify(_clock_json())


@bp.post("/api/v1/clock")
@web.requires("admin", "service")
@web.accepts(SetClockSchema, message="Dữ liệu đặt đồng hồ không hợp lệ.", before=lambda: _clock())
def set_clock(body: dict[str, Any]) -> Response:
    """Set the simulated clock (`now`, `rate`; rate 0 = frozen). Simulation mode only."""
    _clock().set(body["now"], body["rate"])
    return jsonify(_clock_json())


def _reason(label: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=3, max=2000, error=f"{label}: từ 3 đến 2000 ký tự."),
        error_messages={
            "required": f"{label}: bắt buộc.",
            "null": f"{label}: bắt buộc.",
            "invalid": "Phải là văn bản.",
        },
    )


def _date_field(label: str, required: bool) -> fields.Date:
    messages = {
        "required": f"{label}: bắt buộc.",
        "invalid": f"{label}: dạng YYYY-MM-DD.",
        "null": f"{label}: bắt buộc.",
    }
    if required:
        return fields.Date(required=True, error_messages=messages)
    return fields.Date(load_default=None, allow_none=True, error_messages=messages)


class ExtensionRequestSchema(Schema):
    """A unit asks for a later deadline day."""

    class Meta:
        unknown = RAISE

    reason = _reason("Lý do (reason)")
    proposed_date = _date_field("Ngày hạn đề nghị (proposed_date)", required=True)


class DecisionSchema(Schema):
    """Sở Nội vụ grants (possibly to another date) or refuses with a reason."""

    class Meta:
        unknown = RAISE

    decision = fields.String(
        required=True,
        validate=validate.OneOf(["grant", "refuse"], error="decision: grant hoặc refuse."),
        error_messages={"required": "decision: bắt buộc (grant hoặc refuse)."},
    )
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    due_date = _date_field("Ngày hạn mới (due_date)", required=False)


class WaiveSchema(Schema):
    """Sở Nội vụ waives an obligation."""

    class Meta:
        unknown = RAISE

    reason = _reason("Lý do miễn báo cáo (reason)")


def _request_json(r: ExtensionRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "agency": r.agency,
        "period": r.period,
        "reason": r.reason,
        "proposed_date": r.proposed_date.isoformat(),
        "requested_at": local_iso(r.requested_at),
        "requested_by": r.requested_by,
        "status": r.decision or "pending",
        "decided_reason": r.decided_reason,
        "granted_date": r.granted_date.isoformat() if r.granted_date else None,
    }


def _plausible_day(value: date | None, name: str) -> None:
    """A deadline day no earlier than the plan's issue date and no later than the end of next year (business time):
    the plan runs for years, so the bound moves with the clock."""
    d = _deps()
    last = date(local_date(d.rt.clock.now()).year + 1, 12, 31)
    if value is not None and not min(p.issued_on for p in d.rt.plan_files) <= value <= last:
        raise web.ApiError(422, "Ngày nằm ngoài năm của kế hoạch.", fields={name: "Ngoài năm kế hoạch."})


@bp.post("/api/v1/obligations/<agency>/<period>/extension-requests")
@web.requires("agency", "home_affairs")
@web.document(status=201)
@web.accepts(ExtensionRequestSchema)
def post_extension_request(agency: str, period: str, body: dict[str, Any]) -> tuple[Response, int]:
    """A unit asks for an extension: a reason and the proposed new deadline day (F8)."""
    data = body
    _plausible_day(data["proposed_date"], "proposed_date")
    d = _deps()
    request_ = handlers.request_extension(
        agency, period, data["reason"], data["proposed_date"], web.principal(),
        obligations=d.obligations, clock=d.rt.clock, request_id=uuid.uuid4().hex,
    )  # fmt: skip
    return jsonify(_request_json(request_)), 201


@bp.get("/api/v1/extension-requests")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("status", *web.PAGE_QUERY))
def list_extension_requests() -> Response:
    """Extension requests in request-id order, paged, by status (`pending`, `granted`, `refused`, within each
    page); a unit sees only its own.

    Sở Nội vụ, observers, admins and services see every unit's requests; an `agency` caller sees only the
    requests of the unit its credential is bound to (its intake pages list them).
    """
    status = web.query_arg("status") or None
    if status not in (None, "pending", "granted", "refused"):
        raise web.ApiError(400, "status: pending, granted hoặc refused.", fields={"status": "Không hợp lệ."})
    page = handlers.extension_requests_page(
        web.principal(), obligations=_deps().obligations, status=status, asked=web.page_request()
    )
    return web.paged(page, [_request_json(r) for r in page.items])


@bp.post("/api/v1/extension-requests/<request_id>/decision")
@web.requires("home_affairs")
@web.accepts(DecisionSchema)
def post_decision(request_id: str, body: dict[str, Any]) -> Response:
    """Grant (a new generation with the new deadline) or refuse (with a reason) an extension request."""
    data = body
    if data["decision"] == "refuse" and len(data["reason"].strip()) < 3:
        raise web.ApiError(422, "Từ chối cần nêu lý do.", fields={"reason": "Lý do từ chối: bắt buộc."})
    _plausible_day(data["due_date"], "due_date")
    d = _deps()
    decided = handlers.decide_extension(
        request_id, data["decision"] == "grant", data["reason"].strip(), data["due_date"], web.principal(),
        obligations=d.obligations, clock=d.rt.clock,
    )  # fmt: skip
    return jsonify(_request_json(decided))


@bp.post("/api/v1/obligations/<agency>/<period>/waive")
@web.requires("home_affairs")
@web.accepts(WaiveSchema)
def post_waive(agency: str, period: str, body: dict[str, Any]) -> Response:
    """Waive an obligation with a reason: it ends, and no further reminder or escalation fires."""
    data = body
    d = _deps()
    state = handlers.waive_obligation(
        agency, period, data["reason"], web.principal(), obligations=d.obligations, clock=d.rt.clock
    )
    return jsonify(_state_json(state))


def _web_checks(d: Dependencies) -> dict[str, Any]:
    checks = d.rt.web_checks()
    checks["details"] = {**checks["details"], "ladder": lambda: _ladder()}
    return checks


def create_app(settings: Settings | None = None) -> Flask:
    """Build the scheduler's app; gunicorn calls this in each worker (no preload)."""
    app = web.service_app(
        "scheduler", settings, build_dependencies, bp, (SchedulerError, ERROR_STATUS),
        events=lambda d: d.obligations, checks=_web_checks,
    )  # fmt: skip
    app.register_blueprint(plan_api.bp)

    @app.before_request
    def _metrics_scrape() -> None:
        if request.path == "/metrics":
            try:
                _refresh_ladder_metrics()
            except Exception:  # the store may be down: the scrape still answers, with the last figures
                pass

    return app
