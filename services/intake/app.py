"""Intake's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from marshmallow import ValidationError

from services.intake import handlers
from services.intake.bootstrap import Dependencies, build_dependencies
from services.intake.domain import (
    AgencyMismatch,
    IntakeError,
    PeriodNotOpen,
    Report,
    ReportAlreadySubmitted,
    ReportNotFound,
    UnknownAgency,
)
from services.intake.schemas import ReceiptSchema, ReportDocSchema, load_report, report_schema
from shared.logs import configure, current_correlation
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

ERROR_STATUS: dict[type[IntakeError], int] = {
    UnknownAgency: 422,
    PeriodNotOpen: 422,
    ReportAlreadySubmitted: 409,
    ReportNotFound: 404,
    AgencyMismatch: 403,
}

bp = Blueprint("intake", __name__)


def _deps() -> Dependencies:
    return deps()


def _receipt(report: Report) -> dict[str, Any]:
    return {
        "id": report.report_id,
        "revision": report.revision,
        "received_at": local_iso(report.received_at),
        "on_time": report.on_time,
        "completeness": report.completeness,
    }


def _report_json(report: Report) -> dict[str, Any]:
    return {
        **_receipt(report),
        "agency": report.agency,
        "period": report.period,
        "submitted_by": report.submitted_by,
        "source": report.source,
        "content": report.content,
    }


def _page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", "1"))
        size = int(request.args.get("page_size", "50"))
    except ValueError:
        raise ApiError(400, "page và page_size phải là số nguyên.", fields={"page": "Phải là số nguyên."}) from None
    if page < 1 or not 1 <= size <= 200:
        raise ApiError(400, "page ≥ 1; 1 ≤ page_size ≤ 200.", fields={"page_size": "Ngoài giới hạn."})
    return page, size


@bp.post("/api/v1/reports")
@requires("agency")
@document(request_schema=ReportDocSchema, response_schema=ReceiptSchema)
def post_report() -> tuple[Response, int]:
    """Submit a unit's report for a period (first submission).

    Validated against the unit's template; answered 201 with `received_at` and the on-time verdict.
    """
    body = json_body()
    who = principal()
    agency, period = body.get("agency"), body.get("period")
    if not isinstance(agency, str) or not agency:
        raise ApiError(422, "Mã đơn vị (agency): bắt buộc.", fields={"agency": "Mã đơn vị (agency): bắt buộc."})
    handlers.check_caller_may_act_for(who, agency)
    if not isinstance(period, str) or not period:
        raise ApiError(422, "Kỳ báo cáo (period): bắt buộc.", fields={"period": "Kỳ báo cáo (period): bắt buộc."})
    d = _deps()
    handlers.check_period_open(d.rt.plan, agency, period)
    schema = report_schema(d.rt.plan, agency, period)
    assert schema is not None  # check_period_open found the unit and the period
    try:
        data = load_report(schema, body)
    except ValidationError as exc:
        raise ApiError(422, "Báo cáo có dữ liệu không hợp lệ.", fields=exc.messages) from None  # type: ignore[arg-type]
    content = {k: v for k, v in data.items() if k not in ("agency", "period")}
    cmd = handlers.SubmitReport(agency, period, content, source="api", correlation_id=current_correlation())
    report = handlers.submit_report(cmd, who, reports=d.reports, plan=d.rt.plan, clock=d.rt.clock)
    resp = jsonify(_receipt(report))
    resp.headers["Location"] = f"/api/v1/reports/{agency}/{period}"
    return resp, 201


@bp.get("/api/v1/reports/<agency>/<period>")
@requires("agency", "home_affairs", "observer", "admin", "service")
def get_report(agency: str, period: str) -> Response:
    """One report (latest revision); a unit sees only its own."""
    report = handlers.get_report(agency, period, principal(), reports=_deps().reports)
    return jsonify(_report_json(report))


@bp.get("/api/v1/reports")
@requires("home_affairs", "observer", "admin", "service")
@document(query=("period", "agency", "page", "page_size"))
def list_reports() -> Response:
    """Reports (latest revisions), filtered by period and agency, paginated."""
    page, size = _page_args()
    items, total = _deps().reports.list(
        period=request.args.get("period") or None,
        agency=request.args.get("agency") or None,
        skip=(page - 1) * size,
        limit=size,
    )
    return jsonify({"items": [_report_json(r) for r in items], "page": page, "page_size": size, "total": total})


@bp.get("/api/v1/templates/<agency>/<period>")
@requires("agency", "home_affairs", "observer", "admin", "service")
def get_template(agency: str, period: str) -> Response:
    """The template a unit must fill for a period: indicators by content area, sections, data window."""
    who = principal()
    if who.is_agency() and who.agency != agency:
        raise ApiError(404)
    template = _deps().rt.plan.template_for(agency, period)
    if template is None:
        raise ApiError(404, "Không có biểu mẫu cho đơn vị và kỳ này.")
    return jsonify(
        {
            "agency": agency,
            "period": period,
            "kind": template.kind,
            "data_window": (
                {"from": template.data_window[0].isoformat(), "to": template.data_window[1].isoformat()}
                if template.data_window
                else None
            ),
            "estimate_note": template.estimate_note,
            "areas": [
                {
                    "area": area,
                    "title": title,
                    "indicators": [
                        {"key": i.key, "label": i.label, "unit": i.unit, "measure": i.measure}
                        for i in template.indicators
                        if i.area == area
                    ],
                }
                for area, title in sorted(template.areas.items())
            ]
            if not template.staff_fields
            else [],
            "sections": template.sections,
            "staff_fields": list(template.staff_fields),
        }
    )


def create_app(settings: Settings | None = None) -> Flask:
    """Build intake's app; gunicorn calls this in each worker (no preload)."""
    settings = settings or Settings.from_env()
    configure("intake", settings.log_level)
    dependencies = build_dependencies(settings)
    app = create_service_app("intake", settings, dependencies, **dependencies.rt.web_checks(broker_required=False))
    app.register_blueprint(bp)
    add_events_route(app, lambda: _deps().reports)

    register_domain_errors(app, IntakeError, ERROR_STATUS)
    return app
