"""Intake's HTTP entrypoint: `create_app()` for gunicorn, routes beside it."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.intake import handlers
from services.intake.accounts.app import register_accounts
from services.intake.bootstrap import Dependencies, build_dependencies
from services.intake.domain import (
    AgencyMismatch,
    DraftNotFound,
    IntakeError,
    PdfAlreadyAttached,
    PdfInvalid,
    PdfNotFound,
    PeriodNotOpen,
    Report,
    ReportAlreadySubmitted,
    ReportInvalid,
    ReportNotFound,
    RevisionConflict,
    RevisionNotFound,
    UnknownAgency,
)
from services.intake.pages import register_pages
from services.intake.schemas import (
    INDICATOR_HELP,
    ReceiptSchema,
    ReportDocSchema,
    load_report,
    report_schema,
)
from shared import web
from shared.formatting import content_disposition
from shared.logs import current_correlation
from shared.paging import Page
from shared.settings import Settings
from shared.timerules import local_iso, local_midnight, parse_instant

ERROR_STATUS: dict[type[IntakeError], int] = {
    UnknownAgency: 422,
    PeriodNotOpen: 422,
    ReportAlreadySubmitted: 409,
    RevisionConflict: 409,
    ReportNotFound: 404,
    RevisionNotFound: 404,
    DraftNotFound: 404,
    PdfNotFound: 404,
    PdfAlreadyAttached: 409,
    PdfInvalid: 422,
    AgencyMismatch: 403,
    ReportInvalid: 422,
}

bp = Blueprint("intake", __name__)


def _deps() -> Dependencies:
    return web.deps()


def _receipt(report: Report) -> dict[str, Any]:
    return {
        "id": report.report_id,
        "revision": report.revision,
        "received_at": local_iso(report.received_at),
        "on_time": report.on_time,
        "completeness": report.completeness,
        "warnings": report.warnings,
        "amended_at": local_iso(report.amended_at),
    }


def _report_json(report: Report) -> dict[str, Any]:
    return {
        **_receipt(report),
        "agency": report.agency,
        "period": report.period,
        "submitted_by": report.submitted_by,
        "source": report.source,
        "recorded_by": report.recorded_by,
        "recorded_at": local_iso(report.recorded_at),
        "document": report.document,
        "content": report.content,
    }


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise web.ApiError(400, "Idempotency-Key: từ 1 đến 200 ký tự.", fields={"Idempotency-Key": "Không hợp lệ."})
    return key


def _content(body: dict[str, Any], agency: str, period: str) -> dict[str, Any]:
    """Validate a report body against the unit's template (marshmallow); the content without agency/period."""
    d = _deps()
    plan = d.rt.unit_plan_for(agency, period)  # the unit's plan as in force on the period's deadline day
    handlers.check_period_open(plan, agency, period, now=d.rt.clock.now())
    schema = report_schema(plan, agency, period)
    assert schema is not None  # check_period_open found the unit's template
    try:
        data = load_report(schema, body)
    except ValidationError as exc:
        raise web.ApiError(422, "Báo cáo có dữ liệu không hợp lệ.", fields=exc.messages) from None  # type: ignore[arg-type]
    return {k: v for k, v in data.items() if k not in ("agency", "period")}


def _api_command(
    body: dict[str, Any], agency: str, period: str, source: str = "api", **extra: Any
) -> handlers.SubmitReport:
    """The command a JSON report body makes, validated against the unit's template."""
    return handlers.SubmitReport(
        agency,
        period,
        _content(body, agency, period),
        source=source,
        correlation_id=current_correlation(),
        idempotency_key=_idempotency_key(),
        **extra,
    )


def _body_for(agency: str, period: str) -> dict[str, Any]:
    """A body for a report named in the URL: its agency and period, if given, must be the URL's."""
    body = web.json_body()
    for name, value in (("agency", agency), ("period", period)):
        if body.setdefault(name, value) != value:
            if name == "agency":
                handlers.check_caller_may_act_for(web.principal(), str(body[name]))
            raise web.ApiError(422, f"{name} trong nội dung khác địa chỉ.", fields={name: "Khác với địa chỉ (URL)."})
    return body


def _revision_arg(name: str, default: int | None = None) -> int | None:
    raw = web.query_arg(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise web.ApiError(400, f"{name} phải là số bản (1, 2, ...).", fields={name: "Không hợp lệ."})
    return int(raw)


@bp.post("/api/v1/reports")
@web.requires("agency")
@web.document(response_schema=ReceiptSchema, status=201)
@web.accepts(ReportDocSchema, load=False)
def post_report() -> tuple[Response, int]:
    """Submit a unit's report for a period (first submission).

    Validated against the unit's template and its cross-field rules; answered 201 with `received_at`, the
    on-time verdict, the completeness and any warnings. The same `Idempotency-Key` returns the first answer.
    """
    body = web.json_body()
    who = web.principal()
    agency, period = body.get("agency"), body.get("period")
    if not isinstance(agency, str) or not agency:
        raise web.ApiError(422, "Mã đơn vị (agency): bắt buộc.", fields={"agency": "Mã đơn vị (agency): bắt buộc."})
    handlers.check_caller_may_act_for(who, agency)
    if not isinstance(period, str) or not period:
        raise web.ApiError(422, "Kỳ báo cáo (period): bắt buộc.", fields={"period": "Kỳ báo cáo (period): bắt buộc."})
    cmd = _api_command(body, agency, period)
    d = _deps()
    report = handlers.submit_report(
        cmd, who, reports=d.reports, plan=d.rt.unit_plan_for(agency, period), clock=d.rt.clock, extensions=d.extensions
    )
    resp = jsonify(_receipt(report))
    resp.headers["Location"] = f"/api/v1/reports/{agency}/{period}"
    return resp, 201


@bp.put("/api/v1/reports/<agency>/<period>")
@web.requires("agency")
@web.document(response_schema=ReceiptSchema)
@web.accepts(ReportDocSchema, load=False)
def put_report(agency: str, period: str) -> Response:
    """Correct a report: a new revision (F5); the first submission's verdict stands."""
    who = web.principal()
    handlers.check_caller_may_act_for(who, agency)
    cmd = _api_command(_body_for(agency, period), agency, period)
    d = _deps()
    report = handlers.amend_report(
        cmd, who, reports=d.reports, plan=d.rt.unit_plan_for(agency, period), clock=d.rt.clock
    )
    return jsonify(_receipt(report))


class OnBehalfSchema(Schema):
    """A report that reached Sở Nội vụ on paper or by e-mail, recorded on the unit's behalf."""

    class Meta:
        unknown = RAISE

    received_on = fields.String(
        required=True,
        metadata={"description": "Ngày văn thư nhận (YYYY-MM-DD = 00:00 giờ Việt Nam ngày đó) hoặc thời điểm ISO 8601"},
        error_messages={"required": "Ngày nhận (received_on): bắt buộc."},
    )
    channel = fields.String(
        required=True,
        validate=validate.OneOf(["paper", "email"], error="Hình thức nhận (channel): paper hoặc email."),
        error_messages={"required": "Hình thức nhận (channel): bắt buộc."},
    )
    document_number = fields.String(load_default=None, validate=validate.Length(max=100))
    document_date = fields.Date(load_default=None, error_messages={"invalid": "Ngày văn bản: YYYY-MM-DD."})
    signer = fields.String(load_default=None, validate=validate.Length(max=200))
    report = fields.Dict(
        required=True,
        error_messages={
            "required": "Nội dung báo cáo (report): bắt buộc.",
            "null": "Nội dung báo cáo (report): bắt buộc.",
            "invalid": "Nội dung báo cáo (report) phải là một đối tượng JSON.",
        },
    )


def _received_on(text: str, earliest: datetime) -> datetime:
    """A date-only received date (YYYY-MM-DD) is local 00:00 of that date; an instant must carry its offset."""
    invalid = web.ApiError(
        422, "Ngày nhận không hợp lệ.", fields={"received_on": "YYYY-MM-DD hoặc thời điểm ISO 8601 có múi giờ."}
    )
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            when = local_midnight(date.fromisoformat(text))
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})", text):
            when = parse_instant(text)
        else:
            raise invalid
    except (ValueError, OverflowError):
        raise invalid from None
    if when < earliest:
        raise web.ApiError(422, "Ngày nhận trước ngày ban hành kế hoạch.", fields={"received_on": "Quá sớm."})
    return when


@bp.post("/api/v1/reports/<agency>/<period>/on-behalf")
@web.requires("home_affairs", "admin")
@web.document(status=201)
@web.accepts(OnBehalfSchema, message="Dữ liệu ghi nhận không hợp lệ.")
def post_on_behalf(agency: str, period: str, body: dict[str, Any]) -> tuple[Response, int]:
    """Record a report that arrived on paper or by e-mail (F4), with the văn thư's received date; audited."""
    data = body
    d = _deps()
    received_at = _received_on(data["received_on"], d.rt.plan_of(agency).issued_at)
    if received_at > d.rt.clock.now():
        raise web.ApiError(422, "Ngày nhận ở tương lai.", fields={"received_on": "Không được sau thời điểm hiện tại."})
    report_body = {**data["report"], "agency": agency, "period": period}
    document_info = {
        "channel": data["channel"],
        "number": data["document_number"],
        "date": data["document_date"].isoformat() if data["document_date"] else None,
        "signer": data["signer"],
    }
    cmd = _api_command(report_body, agency, period, source="on_behalf", received_at=received_at, document=document_info)
    report = handlers.submit_report(
        cmd,
        web.principal(),
        reports=d.reports,
        plan=d.rt.unit_plan_for(agency, period),
        clock=d.rt.clock,
        extensions=d.extensions,
    )
    return jsonify(_report_json(report)), 201


@bp.get("/api/v1/reports/<agency>/<period>")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("revision",))
def get_report(agency: str, period: str) -> Response:
    """One report: the latest revision, or `?revision=N`; a unit sees only its own."""
    report = handlers.get_report(
        agency, period, web.principal(), reports=_deps().reports, revision=_revision_arg("revision")
    )
    return jsonify(_report_json(report))


@bp.get("/api/v1/reports/<agency>/<period>/revisions")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=web.PAGE_QUERY)
def list_revisions(agency: str, period: str) -> Response:
    """The revisions of a report with who and when (F5), oldest first, paged (`_id` lookups by revision number)."""
    d = _deps()
    latest = handlers.get_report(agency, period, web.principal(), reports=d.reports)
    asked = web.page_request(is_revision)
    first = (asked.after or 0) + 1
    numbers = range(first, min(latest.revision, first + asked.limit - 1) + 1)
    items = [
        {
            "revision": r.revision,
            "submitted_by": r.submitted_by,
            "at": local_iso(r.amended_at or r.recorded_at or r.received_at),
            "source": r.source,
            "completeness": r.completeness,
        }
        for r in (latest if n == latest.revision else d.reports.revision(agency, period, n) for n in numbers)
        if r is not None
    ]
    more = bool(numbers) and numbers[-1] < latest.revision
    return web.paged(Page(items, numbers[-1] if more else None), id=latest.report_id)


def is_revision(key: Any) -> bool:
    """The shape of a revisions cursor: the last revision number shown."""
    return isinstance(key, int) and not isinstance(key, bool) and key >= 1


@bp.get("/api/v1/reports/<agency>/<period>/diff")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("from", "to"))
def diff_report(agency: str, period: str) -> Response:
    """Exactly the fields that changed between revisions `from` and `to` (default: the last two)."""
    d = _deps()
    latest = handlers.get_report(agency, period, web.principal(), reports=d.reports)
    new = _revision_arg("to", latest.revision)
    old = _revision_arg("from", max(1, (new or 1) - 1))
    assert old is not None and new is not None
    changes = handlers.diff_revisions(agency, period, web.principal(), reports=d.reports, old=old, new=new)
    return jsonify({"id": latest.report_id, "from": old, "to": new, "changes": changes})


@bp.put("/api/v1/reports/<agency>/<period>/pdf")
@web.requires("agency", "home_affairs")
def put_pdf(agency: str, period: str) -> tuple[Response, int]:
    """Attach the signed PDF (`Content-Type: application/pdf`, size-limited) to the report's latest revision."""
    limit = web.settings().max_pdf_bytes
    if request.mimetype != "application/pdf":
        raise web.ApiError(415, "Chỉ nhận tệp PDF (Content-Type: application/pdf).")
    if request.content_length is not None and request.content_length > limit:
        raise web.ApiError(413, f"Tệp PDF vượt quá {limit} byte.")
    request.max_content_length = limit
    data = request.get_data(cache=False)
    d = _deps()
    pdf = handlers.attach_pdf(
        agency, period, data, web.principal(), reports=d.reports, pdfs=d.reports, clock=d.rt.clock
    )
    return jsonify({"id": f"{agency}:{period}", "revision": pdf.revision, "bytes": len(pdf.data)}), 201


@bp.get("/api/v1/reports/<agency>/<period>/pdf")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("revision",))
def get_pdf(agency: str, period: str) -> Response:
    """The signed PDF of a revision (latest by default), as a download with an RFC 5987 file name."""
    d = _deps()
    pdf = handlers.get_pdf(
        agency, period, web.principal(), reports=d.reports, pdfs=d.reports, revision=_revision_arg("revision")
    )
    resp = Response(pdf.data, mimetype="application/pdf")
    unit = d.rt.unit_plan_for(agency, period).unit(agency) or d.rt.plan_of(agency).unit(agency)
    name = f"Báo cáo {period} - {unit.name if unit else agency} - bản {pdf.revision}.pdf"
    resp.headers["Content-Disposition"] = content_disposition(name)
    return resp


@bp.get("/api/v1/reports")
@web.requires("home_affairs", "observer", "leadership", "admin", "service")
@web.document(query=("period", "agency", *web.PAGE_QUERY))
def list_reports() -> Response:
    """Reports (latest revisions) of a period or of a unit (`period` or `agency` required: a list is read by
    equality), in unit then period order; paged by `limit` and `cursor` (the `next` of the previous answer)."""
    period, agency = web.query_arg("period") or None, web.query_arg("agency") or None
    if period is None and agency is None:
        raise web.ApiError(400, "Cần period hoặc agency.", fields={"period": "Bắt buộc khi không có agency."})
    page = _deps().reports.page(period=period, agency=agency, asked=web.page_request())
    return web.paged(page, [_report_json(r) for r in page.items])


def _draft_json(
    draft: Any, errors: dict[str, str] | None = None, warnings: dict[str, str] | None = None
) -> dict[str, Any]:
    out = {
        "agency": draft.agency,
        "period": draft.period,
        "saved_by": draft.saved_by,
        "saved_at": local_iso(draft.saved_at),
        "content": draft.content,
    }
    if errors is not None:
        out["rule_errors"], out["rule_warnings"] = errors, warnings or {}
    return out


@bp.put("/api/v1/drafts/<agency>/<period>")
@web.requires("agency")
@web.accepts(ReportDocSchema, load=False)
def put_draft(agency: str, period: str) -> Response:
    """Save the unit's draft for a period: validated field by field, kept apart, no event, no verdict.

    Cross-field rules are reported (`rule_errors`, `rule_warnings`) but do not stop a draft being saved.
    """
    who = web.principal()
    handlers.check_caller_may_act_for(who, agency)
    content = _content(_body_for(agency, period), agency, period)
    d = _deps()
    draft, errors, warnings = handlers.save_draft(
        agency, period, content, who, drafts=d.drafts, plan=d.rt.unit_plan_for(agency, period), clock=d.rt.clock
    )
    return jsonify(_draft_json(draft, errors, warnings))


@bp.get("/api/v1/drafts/<agency>/<period>")
@web.requires("agency")
def get_draft(agency: str, period: str) -> Response:
    """The unit's draft for a period."""
    return jsonify(_draft_json(handlers.get_draft(agency, period, web.principal(), drafts=_deps().drafts)))


@bp.get("/api/v1/templates/<agency>/<period>")
@web.requires("agency", "home_affairs", "observer", "leadership", "admin", "service")
def get_template(agency: str, period: str) -> Response:
    """The template a unit must fill for a period: indicators by content area, sections, data window."""
    who = web.principal()
    if who.is_agency() and who.agency != agency:
        raise web.ApiError(404)
    template = _deps().rt.unit_plan_for(agency, period).template_for(agency, period)
    if template is None:
        raise web.ApiError(404, "Không có biểu mẫu cho đơn vị và kỳ này.")
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
                        {
                            "key": i.key,
                            "label": i.label,
                            "unit": i.unit,
                            "measure": i.measure,
                            "help": INDICATOR_HELP.get(i.measure or "", ""),
                        }
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


def _web_checks(d: Dependencies) -> dict[str, Any]:
    # Intake's requests never wait on the broker (its events leave through the outbox): ready while it is down.
    return d.rt.web_checks(broker_required=False)


def create_app(settings: Settings | None = None) -> Flask:
    """Build intake's app; gunicorn calls this in each worker (no preload)."""
    app = web.service_app(
        "intake", settings, build_dependencies, bp, (IntakeError, ERROR_STATUS),
        events=lambda d: d.reports, checks=_web_checks,
    )  # fmt: skip
    register_accounts(app)
    register_pages(app)
    return app
