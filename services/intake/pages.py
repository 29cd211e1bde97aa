"""The unit's web pages (Vietnamese, server-rendered): obligations, the report form, receipts, revisions, extensions.

They call the same handlers as the JSON API, validate with the same template schema, and read the unit's
obligations (and ask the scheduler for extensions) through the scheduler's client (`bootstrap`), server-side with
the person's own token.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
import uuid
from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request
from marshmallow import ValidationError

from services.intake import handlers
from services.intake.bootstrap import Dependencies
from services.intake.domain import (
    IntakeError,
    Report,
    ReportAlreadySubmitted,
    ReportInvalid,
    RevisionConflict,
    diff_content,
)
from services.intake.schemas import INDICATOR_HELP, load_report, report_schema
from shared import web
from shared.auth import Principal
from shared.clients import ExtensionRequest, ServiceError
from shared.formatting import STAFF_LABELS, status_label, vn_date, vn_datetime, vn_rate
from shared.logs import current_correlation
from shared.paging import MAX_LIMIT, PageRequest
from shared.plan import Template
from shared.timerules import deadline_day, local_date

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__, template_folder="templates")
STAFF_ROWS_EXTRA = 3


def _deps() -> Dependencies:
    return web.deps()


def _refusal_page(reason: str, who: Principal | None) -> Response:
    """The page for someone `login_required` turned away: the login page (back to this page after it, for a GET
    without a session), the expired-session page, or (a role without this page) the login, which sends the
    person on to their own landing page."""
    if reason == "csrf":
        return _render("dvcq_message.html", status=403, title="Phiên làm việc đã hết hạn", message=web.CSRF_MESSAGE)
    if reason == "login" and request.method == "GET":
        return redirect(f"/login?next={urllib.parse.quote(request.full_path.rstrip('?'), safe='')}", 303)
    return redirect("/login", 303)


def _render(name: str, status: int = 200, **context: Any) -> Response:
    resp = make_response(
        render_template(
            name,
            csrf_token=web.page_csrf_token(),
            vn_date=vn_date,
            vn_datetime=vn_datetime,
            vn_rate=vn_rate,
            status_label=status_label,
            **context,
        ),
        status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def obligations_of(who: Principal) -> tuple[list[dict[str, Any]], str | None]:
    """The unit's obligations from the scheduler (server-side, with the person's token), or an error text."""
    try:
        found = _deps().scheduler.obligations(web.session_token())
    except ServiceError:
        return [], "Tạm thời chưa lấy được danh sách nghĩa vụ báo cáo; vui lòng tải lại trang sau ít phút."
    today = local_date(_deps().rt.clock.now())
    plan = _deps().rt.plan_of(who.agency or "")
    rows = []
    for ob in sorted(found, key=lambda ob: (ob.due_before, ob.period)):  # the API lists them by key: nearest first
        period = plan.period(ob.period)
        day = deadline_day(ob.due_before)
        rows.append(
            {
                "period": ob.period,
                "name": period.name if period else ob.period,
                "deadline": vn_date(day),
                "status": ob.status,
                "days_left": (day - today).days,
                "received_at": vn_datetime(ob.received_at) if ob.received_at else "",
            }
        )
    return rows, None


def home_context(who: Principal) -> dict[str, Any]:
    """What the home page shows a unit officer: their obligations."""
    if not who.is_agency():
        return {"obligations": [], "obligations_error": None, "status_label": status_label}
    rows, error = obligations_of(who)
    return {"obligations": rows, "obligations_error": error, "status_label": status_label}


FORM_CONTROLS = ("csrf_token", "action", "submission_key")
SECTIONS = ("indicators", "narratives", "assessment")
INTEGER = re.compile(r"-?[0-9]{1,18}")
STAFF_KEY = re.compile(r"staff-([0-9]{1,3})-([a-z_]{1,40})")


def _to_nested(form: Any, template: Template) -> dict[str, Any]:
    """Form fields named `indicators.x`, `narratives.area_1`, `staff-0-ho_ten`... as a report body, in NFC.

    Blank is null; an integer typed as digits becomes one; anything else is kept as typed (and any field name
    the form does not have is passed on), so the template's schema names the field, as it does for the API.
    """
    body: dict[str, Any] = {}
    people: dict[int, dict[str, Any]] = {}
    for key, raw in web.nfc_deep(dict(form.items())).items():
        value: Any = raw.strip()
        staff = STAFF_KEY.fullmatch(key) if template.staff_fields else None
        section, _, name = key.partition(".")
        if key in FORM_CONTROLS:
            continue
        if staff:
            people.setdefault(int(staff.group(1)), {})[staff.group(2)] = value or None
        elif section in SECTIONS and name:
            if section == "indicators":
                value = None if value == "" else (int(value) if INTEGER.fullmatch(value) else value)
            holder = body.setdefault(section, {})
            if isinstance(holder, dict):
                holder[name] = value
        else:
            body[key] = value
    if template.staff_fields:
        body["staff"] = [p for _, p in sorted(people.items()) if any(p.values())]
    return body


def _shown(content: dict[str, Any]) -> dict[str, Any]:
    """What the form can show again: sections that are not objects (a tampered form) are shown empty."""
    return {k: (v if k not in SECTIONS or isinstance(v, dict) else {}) for k, v in content.items()}


def _form_page(
    who: Principal,
    template: Template,
    content: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    warnings: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    d = _deps()
    latest = d.reports.latest(who.agency or "", template.period)
    plan = d.rt.unit_plan_for(who.agency or "", template.period)
    period = plan.period(template.period)
    staff = list(content.get("staff") or [])
    shown = {f"indicators.{i.key}" for i in template.indicators} | {f"narratives.area_{a}" for a in template.areas}
    shown |= {f"assessment.{k}" for k in ("strengths", "limitations", "causes")} | {"next_tasks", "recommendations"}
    other_errors = {k: v for k, v in (errors or {}).items() if k not in shown and not k.startswith("staff.")}
    return _render(
        "report_form.html",
        status=status,
        template=template,
        period=period,
        unit=plan.unit(who.agency or ""),
        content=_shown(content),
        errors=errors or {},
        other_errors=other_errors,
        warnings=warnings or {},
        notice=notice,
        latest=latest,
        staff_rows=staff + [{}] * STAFF_ROWS_EXTRA,
        staff_labels=STAFF_LABELS,
        indicator_help=INDICATOR_HELP,
        submission_key=uuid.uuid4().hex,
    )


@bp.get("/reports/<period>")
@web.login_required(roles=("agency",))
def report_form(period: str) -> Response:
    """The report form of one period, grouped by the five content areas, with the draft or latest revision."""
    who = web.principal()
    d = _deps()
    try:
        template = handlers.check_period_open(
            d.rt.unit_plan_for(who.agency or "", period), who.agency or "", period, now=d.rt.clock.now()
        )
    except IntakeError as err:
        return _render("dvcq_message.html", status=404, title="Không có biểu mẫu", message=err.message)
    content: dict[str, Any] = {}
    notice = None
    draft = d.drafts.get(who.agency or "", period)
    latest = d.reports.latest(who.agency or "", period) if draft is None else None
    if draft is not None:
        content, notice = draft.content, f"Đang mở bản nháp lưu lúc {vn_datetime(draft.saved_at)}."
    elif latest is not None:
        content = latest.content
    return _form_page(who, template, content, notice=notice)


@bp.post("/reports/<period>")
@web.login_required(roles=("agency",))
def report_form_post(period: str) -> Response:
    """Save the draft or submit the report from the form; server errors are shown beside their fields."""
    who = web.principal()
    d = _deps()
    agency = who.agency or ""
    plan = d.rt.unit_plan_for(agency, period)  # the unit's plan as in force on the period's deadline day
    try:
        template = handlers.check_period_open(plan, agency, period, now=d.rt.clock.now())
    except IntakeError as err:
        return _render("dvcq_message.html", status=404, title="Không có biểu mẫu", message=err.message)
    raw = _to_nested(request.form, template)
    schema = report_schema(plan, agency, period)
    assert schema is not None
    try:
        data = load_report(schema, {**raw, "agency": agency, "period": period})
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"": str(exc.messages)}
        return _form_page(who, template, raw, errors=errors, status=422)  # type: ignore[arg-type]
    content = {k: v for k, v in data.items() if k not in ("agency", "period")}
    if request.form.get("action") == "draft":
        draft, rule_errors, rule_warnings = handlers.save_draft(
            agency, period, content, who, drafts=d.drafts, plan=plan, clock=d.rt.clock
        )
        notice = f"Đã lưu bản nháp lúc {vn_datetime(draft.saved_at)}."
        return _form_page(who, template, content, errors=rule_errors, warnings=rule_warnings, notice=notice)
    key = request.form.get("submission_key", "")[:100] or None
    cmd = handlers.SubmitReport(
        agency, period, content, source="form", correlation_id=current_correlation(), idempotency_key=key
    )
    first = d.reports.latest(agency, period) is None
    try:
        if first:
            report = handlers.submit_report(
                cmd, who, reports=d.reports, plan=plan, clock=d.rt.clock, extensions=d.extensions
            )
        else:
            report = handlers.amend_report(cmd, who, reports=d.reports, plan=plan, clock=d.rt.clock)
    except ReportInvalid as err:
        return _form_page(who, template, content, errors=err.fields, status=422)
    except (ReportAlreadySubmitted, RevisionConflict) as err:
        notice = f"{err.message} Biểu mẫu dưới đây là nội dung bạn vừa nhập."
        return _form_page(who, template, content, notice=notice, status=409)
    d.drafts.delete(agency, period)  # the draft has become the report: the form opens the report next time
    return redirect(f"/reports/{period}/receipt?revision={report.revision}", 303)


@bp.get("/reports/<period>/receipt")
@web.login_required(roles=("agency",))
def receipt(period: str) -> Response:
    """The receipt of a submitted report (or of one of its revisions)."""
    who = web.principal()
    d = _deps()
    raw = request.args.get("revision", "")
    revision = int(raw) if raw.isascii() and raw.isdigit() else None
    try:
        report = handlers.get_report(who.agency or "", period, who, reports=d.reports, revision=revision)
    except IntakeError as err:
        return _render("dvcq_message.html", status=404, title="Không tìm thấy báo cáo", message=err.message)
    return _render(
        "receipt.html", report=report, period=d.rt.plan_of(report.agency).period(period), labels=_labels(report)
    )


OPEN_STATUSES = ("pending", "overdue")
EXTENSION_FIELDS = ("csrf_token", "reason", "proposed_date")
UNKNOWN_FIELD = "Trường không có trong biểu mẫu."
SCHEDULER_DOWN = (
    "Tạm thời không kết nối được hệ thống theo dõi hạn báo cáo nên chưa gửi hoặc xem được đề nghị gia hạn; "
    "vui lòng thử lại sau ít phút."
)
RETRY_AFTER_SECONDS = "30"


def extension_outcome(item: ExtensionRequest) -> str:
    """An extension request's state in Vietnamese words: waiting, granted to a day, or refused with the reason."""
    if item.status == "granted" and item.granted_date:
        return f"Đã gia hạn đến {vn_date(item.granted_date)}"
    if item.status == "refused":
        return f"Không chấp nhận: {item.decided_reason}" if item.decided_reason else "Không chấp nhận"
    return "Chờ xử lý"


def _extension_view(who: Principal, period: str) -> dict[str, Any] | None:
    """The obligation of `period` and the unit's extension requests for it, from the scheduler; None if no such
    obligation. Raises `ServiceError` when the scheduler cannot answer."""
    scheduler, token = _deps().scheduler, web.session_token()
    found = scheduler.obligations(token, period=period)
    ob = next((o for o in found if o.agency == who.agency and o.period == period), None)
    if ob is None:
        return None
    asked = [
        {
            "id": r.id,
            "status": r.status,
            "reason": r.reason,
            "proposed": vn_date(r.proposed_date),
            "requested_at": vn_datetime(r.requested_at),
            "outcome": extension_outcome(r),
        }
        for r in scheduler.extension_requests(token)
        if r.agency == who.agency and r.period == period
    ]
    deadline = vn_date(deadline_day(ob.due_before))
    return {"deadline": deadline, "status": ob.status, "open": ob.status in OPEN_STATUSES, "asked": asked}


def _extension_page(
    who: Principal,
    period: str,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The extension page of one period, with what the person typed and the messages beside their fields."""
    plan = _deps().rt.unit_plan_for(who.agency or "", period)
    try:
        view = _extension_view(who, period)
    except ServiceError:
        view, problem = None, problem or SCHEDULER_DOWN
        status = status if status != 200 else 503
    else:
        if view is None:
            message = f"Đơn vị không có nghĩa vụ báo cáo kỳ {period}."
            return _render("dvcq_message.html", status=404, title="Không có nghĩa vụ báo cáo", message=message)
    found = plan.period(period)
    errors = errors or {}
    resp = _render(
        "extension.html",
        status=status,
        period=period,
        period_name=found.name if found else period,
        unit=plan.unit(who.agency or ""),
        view=view,
        form=form or {"reason": "", "proposed_date": ""},
        errors=errors,
        other_errors={k: v for k, v in errors.items() if k not in ("reason", "proposed_date")},
        notice=notice,
        problem=problem,
    )
    if status == 503:
        resp.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return resp


def _no_such_period(period: str) -> Response:
    return _render("dvcq_message.html", status=404, title="Không có kỳ báo cáo", message=f"Không có kỳ {period}.")


@bp.get("/reports/<period>/extension")
@web.login_required(roles=("agency",))
def extension_form(period: str) -> Response:
    """The unit's extension requests for one period and the form to ask for a later deadline (F8)."""
    who = web.principal()
    if _deps().rt.plan_of(who.agency or "").period(period) is None:
        return _no_such_period(period)
    sent = request.args.get("sent", "")
    notice = None
    if sent:
        notice = "Đã gửi đề nghị gia hạn. Sở Nội vụ sẽ xem xét; đơn vị được thông báo khi có kết quả."
    return _extension_page(who, period, notice=notice)


@bp.post("/reports/<period>/extension")
@web.login_required(roles=("agency",))
def extension_form_post(period: str) -> Response:
    """Ask the scheduler for an extension with the person's token; its messages are shown beside the fields."""
    who = web.principal()
    if _deps().rt.plan_of(who.agency or "").period(period) is None:
        return _no_such_period(period)
    posted = web.nfc_deep(dict(request.form.items()))
    form = {"reason": posted.get("reason", "").strip(), "proposed_date": posted.get("proposed_date", "").strip()}
    errors = {key: UNKNOWN_FIELD for key in posted if key not in EXTENSION_FIELDS}
    if not form["reason"]:
        errors["reason"] = "Lý do: bắt buộc."
    if not form["proposed_date"]:
        errors["proposed_date"] = "Ngày hạn đề nghị: bắt buộc."
    elif not web.is_day(form["proposed_date"]):
        errors["proposed_date"] = "Ngày hạn đề nghị: không phải ngày hợp lệ (ngày/tháng/năm)."
    if errors:
        return _extension_page(who, period, form=form, errors=errors, status=422)
    try:
        _deps().scheduler.request_extension(
            web.session_token(), who.agency or "", period, reason=form["reason"], proposed_date=form["proposed_date"]
        )
    except ServiceError as err:
        if err.unavailable:
            return _extension_page(who, period, form=form, problem=SCHEDULER_DOWN, status=503)
        problem = err.message or "Chưa gửi được đề nghị gia hạn."
        return _extension_page(who, period, form=form, errors=err.fields, problem=problem, status=err.status)
    return redirect(f"/reports/{period}/extension?sent=1", 303)


def _labels(report: Report) -> dict[str, str]:
    template = _deps().rt.unit_plan_for(report.agency, report.period).template_for(report.agency, report.period)
    if template is None:
        return {}
    out = {f"indicators.{i.key}": i.label for i in template.indicators}
    out.update({f"narratives.area_{a}": f"Nội dung {a}: {t}" for a, t in template.areas.items()})
    out.update({f"assessment.{k}": template.sections[k] for k in ("strengths", "limitations", "causes")})
    out.update({k: template.sections[k] for k in ("next_tasks", "recommendations")})
    return out


@bp.get("/reports")
@web.login_required(roles=("agency",))
def my_reports() -> Response:
    """The unit's reports, each with its revisions and what changed between them."""
    who = web.principal()
    d = _deps()
    # one page holds them all: a unit reports a few periods a year, far fewer than a page's maximum
    items = d.reports.page(period=None, agency=who.agency, asked=PageRequest(MAX_LIMIT)).items
    history = []
    for report in items:
        revisions = d.reports.revisions(report.agency, report.period)
        changes = [
            (r.revision, diff_content(previous.content, r.content))
            for previous, r in zip(revisions, revisions[1:], strict=False)
        ]
        history.append(
            {
                "report": report,
                "period": d.rt.plan_of(report.agency).period(report.period),
                "revisions": revisions,
                "changes": changes,
            }
        )
    labels = {k: v for h in history for k, v in _labels(h["report"]).items()}
    return _render("my_reports.html", history=history, labels=labels)


def register_pages(app: Any) -> None:
    """Add the unit's pages; the home page lists the unit's obligations."""
    app.register_blueprint(bp)
    app.extensions["dvcq.page_refusal"] = _refusal_page
    app.extensions["dvcq.home_context"] = home_context
