"""Scheduler's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from services.scheduler import handlers
from services.scheduler.bootstrap import Dependencies, build_dependencies
from services.scheduler.domain import STATUSES, ClockNotSimulated, ObligationNotFound, ObligationState, SchedulerError
from shared.clock import SimulatedClock
from shared.logs import configure
from shared.plan import Period, Unit
from shared.settings import Settings
from shared.timerules import local_iso
from shared.web import (
    ApiError,
    add_events_route,
    create_service_app,
    deps,
    document,
    json_body,
    principal,
    register_domain_errors,
    requires,
)

ERROR_STATUS: dict[type[SchedulerError], int] = {ObligationNotFound: 404, ClockNotSimulated: 404}
ALL_ROLES = ("agency", "home_affairs", "observer", "admin", "service")

bp = Blueprint("scheduler", __name__)


def _deps() -> Dependencies:
    return deps()


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
@requires(*ALL_ROLES)
def list_units() -> Response:
    """The registry of units (F2) in official order; contacts only for Sở Nội vụ, admins and services."""
    who = principal()
    plan = _deps().rt.plan
    units = sorted(plan.units, key=lambda u: (u.order is None, u.order or 0, u.code))
    with_contacts = who.role in ("home_affairs", "admin", "service")
    return jsonify({"plan": plan.id, "items": [_unit_json(u, with_contacts) for u in units]})


@bp.get("/api/v1/calendar")
@requires(*ALL_ROLES)
@document(query=("year",))
def get_calendar() -> Response:
    """The plan's calendar: every period, with `due_before`, data window, or why it is not applicable."""
    plan = _deps().rt.plan
    year = request.args.get("year")
    if year is not None and not re.fullmatch(r"[0-9]{4}", year):
        raise ApiError(400, "year phải là năm có 4 chữ số, ví dụ 2019.", fields={"year": "Không hợp lệ."})
    if year is not None and int(year) != plan.year:
        return jsonify({"plan": plan.id, "year": int(year), "periods": []})
    periods = [
        _period_json(p, len(plan.expected_units(p)) if p in plan.obligation_periods() else 0) for p in plan.calendar
    ]
    return jsonify({"plan": plan.id, "year": plan.year, "issued_on": plan.issued_on.isoformat(), "periods": periods})


@bp.get("/api/v1/obligations")
@requires(*ALL_ROLES)
@document(query=("agency", "period", "status"))
def list_obligations() -> Response:
    """Obligations with their current status; a unit sees only its own."""
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status phải là một trong: {', '.join(STATUSES)}.", fields={"status": "Không hợp lệ."})
    d = _deps()
    states = handlers.list_obligations(
        principal(),
        obligations=d.obligations,
        clock=d.rt.clock,
        agency=request.args.get("agency") or None,
        period=request.args.get("period") or None,
        status=status,
    )
    return jsonify({"items": [_state_json(s) for s in states], "total": len(states)})


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


def _clock_json() -> dict[str, Any]:
    clock = _clock()
    state = clock.state()
    return {
        "mode": "simulation",
        "now": local_iso(clock.now()),
        "rate": state.rate,
        "processed_up_to": local_iso(_deps().passes.processed_up_to()),
    }


@bp.get("/api/v1/clock")
@requires(*ALL_ROLES)
def get_clock() -> Response:
    """The simulated clock and `processed_up_to` (simulation mode only)."""
    return jsonify(_clock_json())


@bp.post("/api/v1/clock")
@requires("admin", "service")
@document(request_schema=SetClockSchema)
def set_clock() -> Response:
    """Set the simulated clock (`now`, `rate`; rate 0 = frozen). Simulation mode only."""
    clock = _clock()
    try:
        data = SetClockSchema().load(json_body())
    except ValidationError as exc:
        fields_ = {k: " ".join(v) if isinstance(v, list) else str(v) for k, v in exc.messages.items()}  # type: ignore[union-attr]
        raise ApiError(422, "Dữ liệu đặt đồng hồ không hợp lệ.", fields=fields_) from None
    clock.set(data["now"], data["rate"])
    return jsonify(_clock_json())


def create_app(settings: Settings | None = None) -> Flask:
    """Build the scheduler's app; gunicorn calls this in each worker (no preload)."""
    settings = settings or Settings.from_env()
    configure("scheduler", settings.log_level)
    dependencies = build_dependencies(settings)
    app = create_service_app("scheduler", settings, dependencies, **dependencies.rt.web_checks())
    app.register_blueprint(bp)
    add_events_route(app, lambda: _deps().obligations)

    register_domain_errors(app, SchedulerError, ERROR_STATUS)
    return app
