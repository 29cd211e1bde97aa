"""Sở Nội vụ's board (Vietnamese, server-rendered): a period's compliance, totals and overdue list; a unit's report
and revisions; extensions, waivers and closing the period's figures.

The pages read the aggregator's own read models through the same handlers as the JSON API. A unit's report comes
from intake's API and extension requests go to the scheduler's API, server-side, with the person's own token
(the session cookie intake set at login); so each service still decides what that person may do.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from datetime import date
from typing import Any

import requests
from flask import Blueprint, Flask, Response, current_app, make_response, redirect, render_template, request

from services.aggregator import handlers
from services.aggregator.bootstrap import Dependencies
from services.aggregator.handlers import AggregatorError
from services.aggregator.totals.sums import TYPE_LABELS, PeriodNotSummarisable, PeriodTotals
from shared.auth import InvalidToken, Principal, verify_token
from shared.formatting import LEVEL_LABELS, STATUS_LABELS, status_label, vn_date, vn_datetime, vn_number
from shared.logs import current_correlation
from shared.plan import Period, Plan
from shared.timerules import deadline_day, parse_instant
from shared.web import SESSION_COOKIE, ApiError, check_csrf, csrf_token_for, deps, nfc_deep, settings

log = logging.getLogger(__name__)
# the pages' style sheet is a static file, since the CSP (shared.web.security_headers) allows no inline style
bp = Blueprint("board", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")

BOARD_ROLES = ("home_affairs", "observer", "admin")
ACTION_ROLE = "home_affairs"
DOWNLOAD_ROLES = ("home_affairs", "admin")  # who the export API serves
OPEN_STATUSES = ("pending", "overdue")
SUBMITTED = ("submitted_on_time", "submitted_late")
ROLE_LABELS = {"home_affairs": "Chuyên viên Sở Nội vụ", "observer": "Quan sát viên", "admin": "Quản trị hệ thống"}
FIGURES = (
    ("EXPECTED_REPORTS", "Số báo cáo phải nộp"),
    ("ACTUAL_REPORTS", "Số báo cáo đã nộp"),
    ("ACTUAL_REPORTS_ON_TIME", "Số báo cáo nộp đúng hạn"),
    ("REPORTING_RATE", "Tỷ lệ đã nộp"),
    ("REPORTING_RATE_ON_TIME", "Tỷ lệ nộp đúng hạn"),
)
RATES = ("REPORTING_RATE", "REPORTING_RATE_ON_TIME")
STAFF_LABELS = {
    "ho_ten": "Họ và tên",
    "chuc_vu": "Chức vụ",
    "don_vi": "Đơn vị",
    "dien_thoai": "Điện thoại",
    "email": "Thư điện tử",
    "nhiem_vu": "Nhiệm vụ được phân công",
    "alert_role": "Vai trò nhận cảnh báo",
}
DONE = {
    "extended": "Đã gia hạn nộp báo cáo; đơn vị được thông báo. Hạn mới hiện trên bảng theo dõi sau ít giây.",
    "refused": "Đã từ chối đề nghị gia hạn; đơn vị được thông báo.",
    "waived": "Đã miễn nghĩa vụ báo cáo kỳ này cho đơn vị; đơn vị được thông báo.",
    "closed": "Đã chốt số liệu kỳ báo cáo. Báo cáo điều chỉnh gửi sau thời điểm này được đánh dấu riêng.",
}
SCHEDULER_DOWN = (
    "Tạm thời không kết nối được hệ thống theo dõi hạn báo cáo nên chưa thực hiện được thao tác; "
    "vui lòng thử lại sau ít phút."
)
INTAKE_DOWN = "Tạm thời không lấy được nội dung báo cáo từ hệ thống tiếp nhận; vui lòng tải lại trang sau ít phút."
NO_RIGHT = "Chỉ chuyên viên Sở Nội vụ được thực hiện thao tác này."
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_REASON = 2000


class Refused(Exception):
    """Another service refused or could not do what the page asked; `message` is Vietnamese."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


def _deps() -> Dependencies:
    return deps()


# --- who is looking -------------------------------------------------------------------------------------------


def _cookie_principal() -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return verify_token(settings().secret, token)
    except InvalidToken:
        return None


def _to_login() -> Response:
    # Intake's login page takes no `next`: after logging in the person lands on intake's home page.
    return redirect(f"{settings().public_intake_url}/login", 303)


def _viewer() -> Principal | Response:
    """The person looking at the board, a redirect to the login page, or the 403 page for a unit's officer."""
    who = _cookie_principal()
    if who is None:
        return _to_login()
    if who.role not in BOARD_ROLES:
        message = (
            "Bảng theo dõi chỉ dành cho Sở Nội vụ, quan sát viên và quản trị hệ thống. "
            "Cán bộ đầu mối của đơn vị xem nghĩa vụ báo cáo của đơn vị mình tại trang của đơn vị."
        )
        return _render("message.html", status=403, who=who, title="Không có quyền truy cập", message=message)
    return who


def _actor() -> Principal | Response:
    """The Sở Nội vụ specialist posting a form, after the CSRF check; otherwise the page to answer with."""
    who = _viewer()
    if isinstance(who, Response):
        return who
    if who.role != ACTION_ROLE:
        return _render("message.html", status=403, who=who, title="Không có quyền thực hiện", message=NO_RIGHT)
    try:
        check_csrf(who)
    except ApiError as err:
        return _render("message.html", status=403, who=who, title="Phiên làm việc đã hết hạn", message=err.message)
    return who


def _render(name: str, status: int = 200, *, who: Principal | None = None, **context: Any) -> Response:
    resp = make_response(
        render_template(
            name,
            who=who,
            role_label=ROLE_LABELS.get(who.role, who.role) if who else "",
            can_act=who is not None and who.role == ACTION_ROLE,
            can_download=who is not None and who.role in DOWNLOAD_ROLES,
            csrf_token=csrf_token_for(request.cookies.get(SESSION_COOKIE, "")),
            intake_url=settings().public_intake_url,
            status_label=status_label,
            **context,
        ),
        status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _not_found(who: Principal, title: str, message: str) -> Response:
    return _render("message.html", status=404, who=who, title=title, message=message)


# --- other services, with the person's own token --------------------------------------------------------------


def _call(service: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    """Call another service's API server-side with the person's own token (the session cookie)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return requests.request(
        method,
        f"{settings().service_urls[service]}{path}",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": current_correlation() or ""},
        timeout=5,
        **kwargs,
    )


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _refusal(resp: requests.Response, down: str) -> Refused:
    """What a 4xx answer says (its Vietnamese message and field messages); a 5xx is "unavailable"."""
    if not 400 <= resp.status_code < 500:
        log.warning("a service failed a board call", extra={"status": resp.status_code, "url": resp.url})
        return Refused(503, down)
    try:
        error = resp.json().get("error")
    except (ValueError, AttributeError):
        error = None
    error = error if isinstance(error, dict) else {}
    given = error.get("fields")
    fields = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
    return Refused(resp.status_code, str(error.get("message") or "Yêu cầu không được chấp nhận."), fields)


def _scheduler(method: str, path: str, **kwargs: Any) -> Any:
    """The scheduler's JSON answer; `Refused` with its message when it refuses or cannot answer."""
    try:
        resp = _call("scheduler", method, path, **kwargs)
    except requests.RequestException as exc:
        log.warning("scheduler unavailable for the board", extra={"error": repr(exc)})
        raise Refused(503, SCHEDULER_DOWN) from None
    if resp.status_code >= 300:
        raise _refusal(resp, SCHEDULER_DOWN)
    try:
        return resp.json()
    except ValueError:
        raise Refused(503, SCHEDULER_DOWN) from None


def _pending_requests(period: str | None = None, agency: str | None = None) -> list[dict[str, Any]]:
    """The extension requests waiting for a decision, optionally of one period and unit (`Refused` if the
    scheduler cannot say)."""
    body = _scheduler("GET", "/api/v1/extension-requests", params={"status": "pending"})
    items = body.get("items") if isinstance(body, dict) else None
    return [
        r
        for r in items or []
        if isinstance(r, dict)
        and (period is None or r.get("period") == period)
        and (agency is None or r.get("agency") == agency)
    ]


# --- presentation helpers -------------------------------------------------------------------------------------


def _when(text: str | None) -> str:
    """A stored ISO instant shown in local time (HH:MM dd/mm/yyyy, as every dvcq page)."""
    return vn_datetime(parse_instant(text)) if text else ""


def _deadline(due_before: str | None) -> str:
    return vn_date(deadline_day(parse_instant(due_before))) if due_before else ""


def _day(text: str | None) -> str:
    try:
        return vn_date(date.fromisoformat(text)) if text else ""
    except ValueError:
        return text or ""


def _number(value: Any, unit: str = "") -> str:
    """A figure the Vietnamese way (1.234; 95,5%); "—" when not reported."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    decimals = 0 if isinstance(value, int) or float(value).is_integer() else 1
    return vn_number(value, decimals) + ("%" if unit == "%" else "")


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """A board row with what the page shows: deadline, receipt, days late or overdue, extension, level."""
    status = row["status"]
    delay = ""
    if status == "submitted_late" and row.get("days_late"):
        delay = f"Trễ {row['days_late']} ngày"
    elif status == "overdue" and row.get("days_overdue") is not None:
        delay = f"Quá hạn {row['days_overdue']} ngày"
    extension = ""
    if row.get("extended"):
        extension = f"Đã gia hạn đến {_deadline(row.get('due_before'))}"
    return {
        **row,
        "deadline": _deadline(row.get("due_before")),
        "received": _when(row.get("received_at")),
        "delay": delay,
        "extension": extension,
        "level_label": LEVEL_LABELS.get(row.get("level") or "", row.get("level") or ""),
        "type_labels": [TYPE_LABELS.get(t, t) for t in row.get("types") or []],
    }


def _default_period(plan: Plan, d: Dependencies) -> Period | None:
    """The latest period whose deadline has passed, else the first one."""
    periods = plan.obligation_periods()
    now = d.rt.clock.now()
    passed = [p for p in periods if p.due_before is not None and p.due_before <= now]
    if passed:
        return max(passed, key=lambda p: p.due_before or now)
    return periods[0] if periods else None


def _figures(view: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, label in FIGURES:
        value = view.get(key)
        shown = (vn_number(value, 1) + "%" if value is not None else "—") if key in RATES else vn_number(value)
        out.append({"key": key, "label": label, "value": shown})
    return out


def _status_chart(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One bar segment per status present, its offset and width the share of units (SVG shapes: no script, and
    no inline style, which the CSP forbids)."""
    total = len(rows) or 1
    out = []
    done = 0
    for status, label in STATUS_LABELS.items():
        count = sum(1 for r in rows if r["status"] == status)
        if count:
            x, width = round(100 * done / total, 2), round(100 * count / total, 2)
            out.append({"status": status, "label": label, "count": count, "x": x, "width": width})
            done += count
    return out


def _totals(totals: PeriodTotals) -> list[dict[str, Any]]:
    """Each content area's lines with a bar: counts scaled to the area's largest total, rates to 100%."""
    areas = []
    for area in totals.areas:
        largest = max(
            (abs(line.total) for line in area.indicators if line.unit != "%" and line.total is not None), default=0
        )
        lines = []
        for line in area.indicators:
            if line.total is None:
                width = 0.0
            elif line.unit == "%":
                width = max(0.0, min(100.0, float(line.total)))
            else:
                width = 100.0 * abs(line.total) / largest if largest else 0.0
            change = ""
            if line.change is not None:
                sign = "+" if line.change > 0 else ""
                change = f"{sign}{_number(line.change)}" + (" điểm %" if line.unit == "%" else "")
            lines.append(
                {
                    "key": line.key,
                    "label": line.label,
                    "unit": line.unit,
                    "total": _number(line.total, line.unit),
                    "reported": line.reported,
                    "missing": line.missing,
                    "previous": _number(line.previous, line.unit) if line.previous is not None else "",
                    "change": change,
                    "width": round(width, 2),
                    "derived": line.derived,
                }
            )
        areas.append({"area": area.area, "name": area.name, "lines": lines})
    return areas


def _filters(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str, str]:
    """The rows chosen by the `status` and `type` query parameters (unknown values choose nothing out)."""
    status = request.args.get("status", "")
    kind = request.args.get("type", "")
    status = status if status in STATUS_LABELS else ""
    kind = kind if kind in TYPE_LABELS else ""
    chosen = [r for r in rows if (not status or r["status"] == status) and (not kind or kind in r["types"])]
    return chosen, status, kind


def _done() -> str | None:
    return DONE.get(request.args.get("done", ""))


# --- the board ------------------------------------------------------------------------------------------------


def _board_page(who: Principal, period: Period, *, problem: str | None = None, status: int = 200) -> Response:
    """A period's board: figures, the status chart, the filtered matrix, the overdue list, the totals."""
    d = _deps()
    plan = d.rt.plan
    view = handlers.get_compliance(
        period.key, boards=d.boards, plan=plan, clock=d.rt.clock, closings=d.closings, reports=d.reports
    )
    assert view is not None  # the period is the plan's
    rows = [_row(r) for r in view["units"]]
    shown, status_filter, type_filter = _filters(rows)
    totals, totals_note = None, None
    try:
        totals = _totals(handlers.summary(period.key, boards=d.boards, reports=d.reports, plan=plan, clock=d.rt.clock))
    except (PeriodNotSummarisable, AggregatorError) as exc:
        totals_note = str(exc)
    requests_note = None
    waiting: dict[str, int] = {}
    try:
        for r in _pending_requests(period.key):
            waiting[str(r.get("agency"))] = waiting.get(str(r.get("agency")), 0) + 1
    except Refused:
        requests_note = "Tạm thời chưa lấy được các đề nghị gia hạn đang chờ xử lý."
    closed = view.get("closed")
    return _render(
        "board.html",
        status=status,
        who=who,
        period=period,
        periods=plan.obligation_periods(),
        deadline=vn_date(period.deadline_day),
        view=view,
        closed={**closed, "at": _when(closed.get("closed_at"))} if closed else None,
        figures=_figures(view),
        chart=_status_chart(rows),
        rows=shown,
        total_rows=len(rows),
        overdue=[_row(r) for r in view["overdue"]],
        status_filter=status_filter,
        type_filter=type_filter,
        status_options=STATUS_LABELS,
        type_options=TYPE_LABELS,
        totals=totals,
        totals_note=totals_note,
        waiting=waiting,
        requests_note=requests_note,
        as_of=_when(view.get("as_of")),
        notice=_done(),
        problem=problem,
    )


def board_home() -> Response:
    """The Sở Nội vụ board for a browser (the latest period past its deadline, or `?period=`); the service's
    description as JSON for other clients."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        resp = make_response(current_app.extensions["dvcq.json_index"]())
        resp.vary.add("Accept")
        return resp
    who = _viewer()
    if isinstance(who, Response):
        who.vary.add("Accept")
        return who
    plan = _deps().rt.plan
    asked = request.args.get("period", "")
    period = plan.period(asked) if asked else _default_period(plan, _deps())
    if period is None or period not in plan.obligation_periods():
        return _not_found(who, "Không có kỳ báo cáo", f"Kế hoạch không có kỳ báo cáo {asked}.")
    resp = _board_page(who, period)
    resp.vary.add("Accept")
    return resp


def _obligation_period(who: Principal, key: str) -> Period | Response:
    plan = _deps().rt.plan
    period = plan.period(key)
    if period is None or period not in plan.obligation_periods():
        return _not_found(who, "Không có kỳ báo cáo", f"Kế hoạch không có kỳ báo cáo {key}.")
    return period


@bp.get("/periods/<period>")
def board(period: str) -> Response:
    """A period's compliance board (Vietnamese): filters `status` and `type`."""
    who = _viewer()
    if isinstance(who, Response):
        return who
    found = _obligation_period(who, period)
    if isinstance(found, Response):
        return found
    return _board_page(who, found)


@bp.post("/periods/<period>/close")
def close_form(period: str) -> Response:
    """Close the period's figures (chốt số liệu) from the board's button."""
    who = _actor()
    if isinstance(who, Response):
        return who
    found = _obligation_period(who, period)
    if isinstance(found, Response):
        return found
    d = _deps()
    try:
        handlers.close_period(found.key, by=who.sub, closings=d.closings, plan=d.rt.plan, clock=d.rt.clock)
    except AggregatorError as err:
        return _board_page(who, found, problem=err.message, status=409)
    return redirect(f"/periods/{_q(found.key)}?done=closed", 303)


# --- a unit ---------------------------------------------------------------------------------------------------


def _report_view(agency: str, period: str, template: Any, revision: int | None) -> dict[str, Any]:
    """The unit's report from intake (the latest revision or `revision`), with its labelled content and the list of
    revisions; `missing` when there is none, `problem` when intake cannot say."""
    path = f"/api/v1/reports/{_q(agency)}/{_q(period)}"
    try:
        resp = _call("intake", "GET", path, params={"revision": revision} if revision else None)
        if resp.status_code == 404 and revision is None:
            return {"missing": True}
        if resp.status_code != 200:
            return {"problem": _refusal(resp, INTAKE_DOWN).message}
        report = resp.json()
        listed = _call("intake", "GET", f"{path}/revisions")
        revisions = listed.json().get("items", []) if listed.status_code == 200 else []
    except (requests.RequestException, ValueError, AttributeError) as exc:
        log.warning("intake unavailable for the board", extra={"error": repr(exc)})
        return {"problem": INTAKE_DOWN}
    content = report.get("content") if isinstance(report.get("content"), dict) else {}
    return {
        "report": report,
        "received": _when(report.get("received_at")),
        "amended": _when(report.get("amended_at")),
        "sections": _content_sections(template, content),
        "staff": _staff(template, content),
        "revisions": [
            {**r, "when": _when(r.get("at"))} for r in revisions if isinstance(r, dict) and r.get("at") is not None
        ],
    }


def _content_sections(template: Any, content: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's content as the page shows it: per content area its indicators (label, figure, unit) and
    narrative, then sections II-IV."""
    if template is None or template.staff_fields:
        return []
    figures = content.get("indicators") if isinstance(content.get("indicators"), dict) else {}
    narratives = content.get("narratives") if isinstance(content.get("narratives"), dict) else {}
    assessment = content.get("assessment") if isinstance(content.get("assessment"), dict) else {}
    out = []
    for area, name in sorted(template.areas.items()):
        lines = [
            {"key": i.key, "label": i.label, "unit": i.unit, "value": _number(figures.get(i.key), i.unit)}
            for i in template.indicators
            if i.area == area
        ]
        out.append({"title": f"{area}. {name}", "lines": lines, "text": narratives.get(f"area_{area}") or ""})
    texts = [
        (template.sections.get("strengths", "Ưu điểm"), assessment.get("strengths")),
        (template.sections.get("limitations", "Hạn chế"), assessment.get("limitations")),
        (template.sections.get("causes", "Nguyên nhân"), assessment.get("causes")),
        (template.sections.get("next_tasks", "III."), content.get("next_tasks")),
        (template.sections.get("recommendations", "IV."), content.get("recommendations")),
    ]
    out.append(
        {
            "title": template.sections.get("assessment", "II. Đánh giá chung"),
            "lines": [],
            "texts": [(label, text or "") for label, text in texts],
        }
    )
    return out


def _staff(template: Any, content: dict[str, Any]) -> dict[str, Any] | None:
    if template is None or not template.staff_fields:
        return None
    people = [p for p in content.get("staff") or [] if isinstance(p, dict)]
    columns = [(f, STAFF_LABELS.get(f, f)) for f in template.staff_fields]
    return {"columns": columns, "people": people}


def _history(agency: str) -> list[dict[str, Any]]:
    """The unit's status in every period of the plan (F10: a unit's history across periods)."""
    d = _deps()
    out = []
    for period in d.rt.plan.obligation_periods():
        view = handlers.get_compliance(period.key, boards=d.boards, plan=d.rt.plan, clock=d.rt.clock)
        row = next((r for r in (view or {}).get("units", []) if r["agency"] == agency), None)
        if row is not None:
            out.append({"period": period, **_row(row)})
    return out


def _unit_page(
    who: Principal,
    period: Period,
    agency: str,
    *,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """A unit's page for one period: its board row, report, revisions, history and (for Sở Nội vụ) actions."""
    d = _deps()
    plan = d.rt.plan
    unit = plan.unit(agency)
    assert unit is not None
    view = handlers.get_compliance(
        period.key, boards=d.boards, plan=plan, clock=d.rt.clock, closings=d.closings, reports=d.reports
    )
    assert view is not None
    found = next((r for r in view["units"] if r["agency"] == agency), None)
    row = _row(found) if found else None
    raw = request.args.get("revision", "")
    revision = int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 100_000 else None
    report = _report_view(agency, period.key, plan.template_for(agency, period.key), revision)
    after_close = set(row.get("revisions_after_close") or []) if row else set()
    pending: list[dict[str, Any]] = []
    pending_note = None
    is_open = row is not None and row["status"] in OPEN_STATUSES
    if who.role == ACTION_ROLE and is_open:
        try:
            pending = [
                {**r, "proposed": _day(r.get("proposed_date")), "asked_at": _when(r.get("requested_at"))}
                for r in _pending_requests(period.key, agency)
            ]
        except Refused as err:
            pending_note = err.message
    closed = view.get("closed")
    return _render(
        "unit.html",
        status=status,
        who=who,
        period=period,
        unit=unit,
        row=row,
        closed={**closed, "at": _when(closed.get("closed_at"))} if closed else None,
        after_close=after_close,
        report=report,
        revision=revision,
        history=_history(agency),
        is_open=is_open,
        pending=pending,
        pending_note=pending_note,
        notice=_done(),
        problem=problem,
        errors=errors or {},
        form=form or {},
    )


def _unit_of(who: Principal, period: str, agency: str) -> tuple[Period, str] | Response:
    found = _obligation_period(who, period)
    if isinstance(found, Response):
        return found
    if not CODE.fullmatch(agency) or _deps().rt.plan.unit(agency) is None:
        return _not_found(who, "Không có đơn vị", f"Kế hoạch không có đơn vị mã {agency}.")
    return found, agency


@bp.get("/periods/<period>/units/<agency>")
def unit_page(period: str, agency: str) -> Response:
    """A unit's report for a period (the latest revision, or `?revision=N`), its revisions and history."""
    who = _viewer()
    if isinstance(who, Response):
        return who
    found = _unit_of(who, period, agency)
    if isinstance(found, Response):
        return found
    return _unit_page(who, *found)


def _is_day(text: str) -> bool:
    if not DAY.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _form(*names: str) -> dict[str, str]:
    posted = nfc_deep({k: v for k, v in request.form.items() if k in names})
    return {name: str(posted.get(name, "")).strip()[:MAX_REASON] for name in names}


def _unit_url(period: str, agency: str, done: str) -> str:
    return f"/periods/{_q(period)}/units/{_q(agency)}?done={done}"


@bp.post("/periods/<period>/units/<agency>/extension")
def extension_form(period: str, agency: str) -> Response:
    """Grant (to the chosen day) or refuse (with a reason) a unit's extension request; without a request, grant
    directly: the request is recorded on the unit's behalf, then granted (a request that came by letter or phone)."""
    who = _actor()
    if isinstance(who, Response):
        return who
    found = _unit_of(who, period, agency)
    if isinstance(found, Response):
        return found
    form = _form("request_id", "decision", "due_date", "reason")
    errors: dict[str, str] = {}
    if form["decision"] not in ("grant", "refuse"):
        errors["decision"] = "Chọn gia hạn hoặc từ chối."
    if form["due_date"] and not _is_day(form["due_date"]):
        errors["due_date"] = "Ngày hạn mới: không phải ngày hợp lệ (ngày/tháng/năm)."
    if form["decision"] == "refuse" and len(form["reason"]) < 3:
        errors["reason"] = "Từ chối cần nêu lý do (ít nhất 3 ký tự)."
    if not form["request_id"]:
        if form["decision"] != "grant":
            errors["decision"] = "Không có đề nghị gia hạn nào để từ chối."
        if not form["due_date"]:
            errors["due_date"] = "Ngày hạn mới: bắt buộc."
        if len(form["reason"]) < 3:
            errors["reason"] = "Lý do gia hạn: bắt buộc (ít nhất 3 ký tự)."
    elif not CODE.fullmatch(form["request_id"]):
        errors["request_id"] = "Đề nghị gia hạn không hợp lệ."
    if errors:
        problem = "Chưa xử lý được: vui lòng sửa các mục được đánh dấu."
        return _unit_page(who, *found, problem=problem, errors=errors, form=form, status=422)
    request_id = form["request_id"]
    try:
        if not request_id:
            asked = _scheduler(
                "POST",
                f"/api/v1/obligations/{_q(agency)}/{_q(period)}/extension-requests",
                json={"reason": form["reason"], "proposed_date": form["due_date"]},
            )
            request_id = str(asked.get("id", ""))
        decision: dict[str, Any] = {"decision": form["decision"], "reason": form["reason"]}
        if form["decision"] == "grant" and form["due_date"]:
            decision["due_date"] = form["due_date"]
        _scheduler("POST", f"/api/v1/extension-requests/{_q(request_id)}/decision", json=decision)
    except Refused as err:
        fields = {("due_date" if k == "proposed_date" else k): v for k, v in err.fields.items()}
        return _unit_page(who, *found, problem=err.message, errors=fields, form=form, status=err.status)
    return redirect(_unit_url(period, agency, "extended" if form["decision"] == "grant" else "refused"), 303)


@bp.post("/periods/<period>/units/<agency>/waive")
def waive_form(period: str, agency: str) -> Response:
    """Waive the unit's obligation for the period, with a reason."""
    who = _actor()
    if isinstance(who, Response):
        return who
    found = _unit_of(who, period, agency)
    if isinstance(found, Response):
        return found
    form = _form("waive_reason")
    if len(form["waive_reason"]) < 3:
        errors = {"waive_reason": "Lý do miễn báo cáo: bắt buộc (ít nhất 3 ký tự)."}
        problem = "Chưa miễn được: cần nêu lý do."
        return _unit_page(who, *found, problem=problem, errors=errors, form=form, status=422)
    try:
        _scheduler(
            "POST", f"/api/v1/obligations/{_q(agency)}/{_q(period)}/waive", json={"reason": form["waive_reason"]}
        )
    except Refused as err:
        fields = {("waive_reason" if k == "reason" else k): v for k, v in err.fields.items()}
        return _unit_page(who, *found, problem=err.message, errors=fields, form=form, status=err.status)
    return redirect(_unit_url(period, agency, "waived"), 303)


def register_pages(app: Flask) -> None:
    """Add the board's pages; `/` becomes the board for browsers and keeps its JSON for other clients."""
    app.register_blueprint(bp)
    app.extensions["dvcq.json_index"] = app.view_functions["index_page"]
    app.view_functions["index_page"] = board_home
