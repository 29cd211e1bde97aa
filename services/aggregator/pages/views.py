"""The board's routes: who may see and do what, the forms' checks, and the pages put together."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, make_response, redirect, render_template, request

from services.aggregator import handlers
from services.aggregator.bootstrap import Dependencies
from services.aggregator.domain import NOT_EXPECTED
from services.aggregator.handlers import AggregatorError
from services.aggregator.pages import present
from services.aggregator.pages.charts import rates_chart, status_grid, status_segments, submissions_by_day, timeline
from services.aggregator.totals.sums import TYPE_LABELS, PeriodNotSummarisable
from shared import web
from shared.auth import Principal
from shared.clients import ExtensionRequest, ServiceError
from shared.formatting import STATUS_LABELS, status_label, vn_date, vn_datetime
from shared.navigation import ROLE_LABELS
from shared.plan import Period, Plan
from shared.timerules import local_date

# the pages' style sheet is a static file, since the CSP (shared.web.security_headers) allows no inline style
bp = Blueprint(
    "board",
    __name__,
    root_path=str(Path(__file__).resolve().parent.parent),
    template_folder="templates",
    static_folder="static",
    static_url_path="/board/assets",  # the one origin (shared.edge) sends /board to this service
)

BOARD_ROLES = ("home_affairs", "observer", "leadership", "admin")
ACTION_ROLE = "home_affairs"
DOWNLOAD_ROLES = ("home_affairs", "admin")  # who the export API serves
OPEN_STATUSES = ("pending", "overdue")
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
REFUSED = "Yêu cầu không được chấp nhận."
NO_RIGHT = "Chỉ chuyên viên Sở Nội vụ được thực hiện thao tác này."
BOARD_ONLY = (
    "Bảng theo dõi chỉ dành cho Sở Nội vụ, lãnh đạo, quan sát viên và quản trị hệ thống. "
    "Cán bộ đầu mối của đơn vị xem nghĩa vụ báo cáo của đơn vị mình tại trang của đơn vị."
)
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_REASON = 2000


def _deps() -> Dependencies:
    return web.deps()


# --- who is looking -------------------------------------------------------------------------------------------


def _refusal_page(reason: str, who: Principal | None) -> Response:
    """The page for someone `login_required` turned away: the login page, or a 403 page saying why."""
    if who is None:
        # back to this page after the login when both are at the one address (else the role's landing page)
        urls = web.settings().public_urls
        same = urls["intake"] == urls["aggregator"]
        asked = f"?next={_q(request.full_path.rstrip('?'))}" if same else ""
        return redirect(f"{urls['intake']}/login{asked}", 303)
    if reason == "csrf":
        return _render(
            "dvcq_message.html", status=403, who=who, title="Phiên làm việc đã hết hạn", message=web.CSRF_MESSAGE
        )
    if who.role in BOARD_ROLES:
        return _render("dvcq_message.html", status=403, who=who, title="Không có quyền thực hiện", message=NO_RIGHT)
    return _render("dvcq_message.html", status=403, who=who, title="Không có quyền truy cập", message=BOARD_ONLY)


def _way_back(who: Principal | None) -> tuple[str, str]:
    """Where a message page leads on: the board for those who read it, else the home page at the one address."""
    if who is not None and who.role in BOARD_ROLES:
        return "/board", "Về bảng theo dõi"
    return f"{web.settings().public_urls['intake']}/", "Về trang chính"


def _render(name: str, status: int = 200, *, who: Principal | None = None, **context: Any) -> Response:
    context.setdefault("back", _way_back(who))
    resp = make_response(
        render_template(
            name,
            who=who,
            role_label=ROLE_LABELS.get(who.role, who.role) if who else "",
            can_act=who is not None and who.role == ACTION_ROLE,
            can_download=who is not None and who.role in DOWNLOAD_ROLES,
            csrf_token=web.page_csrf_token(),
            status_label=status_label,
            vn_date=vn_date,
            **context,
        ),
        status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _not_found(who: Principal, title: str, message: str) -> Response:
    return _render("dvcq_message.html", status=404, who=who, title=title, message=message)


def _problem(err: ServiceError, down: str) -> str:
    """What to tell the person when another service refused (its message) or could not answer (`down`)."""
    return down if err.unavailable else err.message or REFUSED


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _pending_requests(period: str, agency: str | None = None) -> list[ExtensionRequest]:
    """The extension requests waiting for a decision, of one period and optionally one unit (`ServiceError` if the
    scheduler cannot say)."""
    found = _deps().scheduler.extension_requests(web.session_token(), status="pending")
    return [r for r in found if r.period == period and (agency is None or r.agency == agency)]


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


def _asked_plan() -> str | None:
    """The plan the page is asked about (`?plan=`, when the stack runs it), else None: the default (a period's
    plan, `Runtime.plan_for`, or the plan in force today)."""
    asked = request.args.get("plan", "")
    return asked if asked and _deps().rt.plan_named(asked) is not None else None


def _plan_query(plan_id: str) -> str:
    """`?plan=<id>` for the links of a stack that runs several plans (a period key may be in two of them)."""
    return f"?plan={_q(plan_id)}" if len(_deps().rt.plan_files) > 1 else ""


def _default_period(plan: Plan, d: Dependencies) -> Period | None:
    """The latest period whose deadline has passed, else the first one (of the years opened so far)."""
    now = d.rt.clock.now()
    periods = plan.open_periods(now)
    passed = [p for p in periods if p.due_before is not None and p.due_before <= now]
    if passed:
        return max(passed, key=lambda p: p.due_before or now)
    return periods[0] if periods else None


# --- the board ------------------------------------------------------------------------------------------------


def _board_page(
    who: Principal, period: Period, plan_id: str | None, *, problem: str | None = None, status: int = 200
) -> Response:
    """A period's board: figures, the status chart, the filtered matrix, the overdue list, the totals; with the
    plan chooser when the stack runs several plans."""
    d = _deps()
    plan = d.rt.plan_for(period.key, plan_id)
    view = handlers.get_compliance(
        period.key, boards=d.boards, plan=plan, clock=d.rt.clock, closings=d.closings, reports=d.reports
    )
    assert view is not None  # the period is the plan's
    rows = [present.row(r) for r in view["units"]]
    shown, status_filter, type_filter = _filters(rows)
    totals, totals_note = None, None
    try:
        summary = handlers.summary(period.key, boards=d.boards, reports=d.reports, plan=plan, clock=d.rt.clock)
        totals = present.totals_lines(summary)
    except (PeriodNotSummarisable, AggregatorError) as exc:
        totals_note = str(exc)
    requests_note = None
    waiting: dict[str, int] = {}
    try:
        for r in _pending_requests(period.key):
            waiting[r.agency] = waiting.get(r.agency, 0) + 1
    except ServiceError:
        requests_note = "Tạm thời chưa lấy được các đề nghị gia hạn đang chờ xử lý."
    closed = view.get("closed")
    year = period.deadline_day.year
    grid = [(p, v["units"]) for p, v in _year_views(plan, year, view)]
    return _render(
        "board.html",
        status=status,
        who=who,
        period=period,
        period_years=[(year, plan.obligation_periods(year)) for year in plan.open_years(d.rt.clock.now())],
        plan=plan,
        plans=d.rt.plans if len(d.rt.plan_files) > 1 else (),
        plan_query=_plan_query(plan.id),
        deadline=vn_date(period.deadline_day),
        view=view,
        closed={**closed, "at": present.when(closed.get("closed_at"))} if closed else None,
        figures=present.figures(view),
        chart=status_segments(rows, STATUS_LABELS),
        timeline=timeline(
            submissions_by_day(
                view["units"],
                deadline_day=period.deadline_day,
                today=local_date(d.rt.clock.now()),
                not_expected=NOT_EXPECTED,
            ),
            deadline_day=period.deadline_day,
        ),
        rows=shown,
        total_rows=len(rows),
        grid_year=year,
        grid_periods=[p for p, _ in grid],
        grid_shown=[p.key for p, _ in grid].index(period.key),
        grid=status_grid(grid),
        short_period=present.short_period,
        overdue=[present.row(r) for r in view["overdue"]],
        status_filter=status_filter,
        type_filter=type_filter,
        status_options=STATUS_LABELS,
        type_options=TYPE_LABELS,
        totals=totals,
        totals_note=totals_note,
        waiting=waiting,
        requests_note=requests_note,
        as_of=present.when(view.get("as_of")),
        notice=_done(),
        problem=problem,
    )


def _year_views(plan: Plan, year: int, known: dict[str, Any] | None = None) -> list[tuple[Period, dict[str, Any]]]:
    """Every open period of the plan whose deadline falls in `year`, in calendar order, with its compliance view
    (`known`: a view already read, of the period the page shows): the year grid's columns, the summary's rows."""
    d = _deps()
    out = []
    for p in plan.open_periods(d.rt.clock.now()):
        if p.deadline_day.year != year:
            continue
        view = known if known is not None and known["period"] == p.key else None
        view = view or handlers.get_compliance(
            p.key, boards=d.boards, plan=d.rt.plan_for(p.key, plan.id), clock=d.rt.clock
        )
        assert view is not None  # an open period of the plan
        out.append((p, view))
    return out


@bp.get("/board")
def board_page() -> Response:
    """The Sở Nội vụ board (the latest period past its deadline, or `?period=`): its address at the one origin."""
    return _latest_board()


def board_home() -> Response:
    """The Sở Nội vụ board for a browser (the latest period past its deadline, or `?period=`); the service's
    description as JSON for other clients."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        resp = make_response(current_app.extensions["dvcq.json_index"]())
    else:
        resp = _latest_board()
    resp.vary.add("Accept")
    return resp


@web.login_required(roles=BOARD_ROLES)
def _latest_board() -> Response:
    """The board of `?period=` (of `?plan=`, default the plan in force today) or of the plan's latest period past its
    deadline (also when the chosen plan has no such period: the plan chooser changed)."""
    who = web.principal()
    d = _deps()
    plan_id = _asked_plan()
    asked = request.args.get("period", "")
    plan = (d.rt.plan_named(plan_id) if plan_id else None) or d.rt.plan_for(asked)
    period = plan.period(asked) if asked else None
    if period is None and (not asked or plan_id is not None):
        period = _default_period(plan, d)
    if period is None or period not in plan.open_periods(d.rt.clock.now()):
        return _not_found(who, "Không có kỳ báo cáo", f"Kế hoạch không có kỳ báo cáo {asked}.")
    return _board_page(who, period, plan.id)


# --- the leadership's summary -----------------------------------------------------------------------------------


@bp.get("/overview")
@web.login_required(roles=BOARD_ROLES)
def overview_page() -> Response:
    """The one-page summary for the leadership (UBND tỉnh, Sở Nội vụ's director): the province's reporting rates in
    each period of a year (`?year=`, default the year of the latest period past its deadline), as a chart and a
    table, and how many units are overdue now; each period links to its board. Read-only for every role."""
    who = web.principal()
    d = _deps()
    plan_id = _asked_plan()
    plan = (d.rt.plan_named(plan_id) if plan_id else None) or d.rt.plan
    now = d.rt.clock.now()
    opened = plan.open_periods(now)
    latest = _default_period(plan, d)
    years = sorted({p.deadline_day.year for p in opened})
    asked = request.args.get("year", "")
    year = int(asked) if asked.isascii() and asked.isdigit() and int(asked) in years else None
    if year is None and asked:
        return _not_found(who, "Không có năm báo cáo", f"Kế hoạch chưa có kỳ báo cáo nào của năm {asked}.")
    year = year or (latest.deadline_day.year if latest else (years[-1] if years else now.year))
    rows = [
        {
            "key": p.key,
            "name": p.name,
            "deadline": vn_date(p.deadline_day),
            "due": p.due_before is not None and p.due_before <= now,
            "overdue": len(view["overdue"]),
            "figures": {f["key"]: f["value"] for f in present.figures(view)},
            **{key: view.get(key) for key in ("EXPECTED_REPORTS", "REPORTING_RATE", "REPORTING_RATE_ON_TIME")},
        }
        for p, view in _year_views(plan, year)
    ]
    return _render(
        "overview.html",
        who=who,
        plan=plan,
        plans=d.rt.plans if len(d.rt.plan_files) > 1 else (),
        plan_query=_plan_query(plan.id),
        year=year,
        years=years,
        rows=rows,
        chart=rates_chart(rows),
        overdue_now=sum(r["overdue"] for r in rows),
        as_of=vn_datetime(now),
    )


def _obligation_period(who: Principal, key: str, plan_id: str | None = None) -> Period | Response:
    plan = _deps().rt.plan_for(key, plan_id or _asked_plan())
    period = plan.period(key)
    if period is None or period not in plan.open_periods(_deps().rt.clock.now()):
        return _not_found(who, "Không có kỳ báo cáo", f"Kế hoạch không có kỳ báo cáo {key}.")
    return period


@bp.get("/periods/<period>")
@web.login_required(roles=BOARD_ROLES)
def board(period: str) -> Response:
    """A period's compliance board (Vietnamese): filters `status` and `type`."""
    who = web.principal()
    found = _obligation_period(who, period)
    if isinstance(found, Response):
        return found
    return _board_page(who, found, _asked_plan())


@bp.post("/periods/<period>/close")
@web.login_required(roles=(ACTION_ROLE,))
def close_form(period: str) -> Response:
    """Close the period's figures (chốt số liệu) from the board's button."""
    who = web.principal()
    found = _obligation_period(who, period)
    if isinstance(found, Response):
        return found
    d = _deps()
    plan = d.rt.plan_for(found.key, _asked_plan())
    try:
        handlers.close_period(found.key, by=who.sub, closings=d.closings, plan=plan, clock=d.rt.clock)
    except AggregatorError as err:
        return _board_page(who, found, plan.id, problem=err.message, status=409)
    query = _plan_query(plan.id)
    return redirect(f"/periods/{_q(found.key)}{query}{'&' if query else '?'}done=closed", 303)


# --- a unit ---------------------------------------------------------------------------------------------------


def _report_view(agency: str, period: str, template: Any, revision: int | None) -> dict[str, Any]:
    """The unit's report from intake (the latest revision or `revision`), with its labelled content and the list of
    revisions; `missing` when there is none, `problem` when intake cannot say."""
    intake = _deps().intake
    token = web.session_token()
    try:
        report = intake.report(token, agency, period, revision=revision)
        if report is None:
            return {"missing": True}
        try:
            revisions = intake.revisions(token, agency, period)
        except ServiceError as err:
            if err.unavailable:
                raise
            revisions = []
    except ServiceError as err:
        return {"problem": _problem(err, INTAKE_DOWN)}
    content = report.get("content") if isinstance(report.get("content"), dict) else {}
    return {
        "report": report,
        "received": present.when(report.get("received_at")),
        "amended": present.when(report.get("amended_at")),
        "sections": present.content_sections(template, content),
        "staff": present.staff(template, content),
        "revisions": [{**r, "when": present.when(r.get("at"))} for r in revisions if r.get("at") is not None],
    }


def _history(agency: str) -> list[dict[str, Any]]:
    """The unit's status in every period of its plan (F10: a unit's history across periods)."""
    d = _deps()
    out = []
    own = d.rt.plan_of(agency)
    for period in own.open_periods(d.rt.clock.now()):
        plan = d.rt.plan_for(period.key, own.id)
        view = handlers.unit_compliance(period.key, agency, boards=d.boards, plan=plan, clock=d.rt.clock)
        found = (view or {}).get("unit")
        if found is not None:
            out.append({"period": period, **present.row(found)})
    return out


def _pending_view(r: ExtensionRequest) -> dict[str, Any]:
    """A pending extension request as the unit page's decision form shows it."""
    return {
        **asdict(r),
        "proposed_date": r.proposed_date.isoformat(),
        "proposed": vn_date(r.proposed_date),
        "asked_at": vn_datetime(r.requested_at),
    }


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
    own = d.rt.plan_of(agency)
    plan = d.rt.plan_for(period.key, own.id)  # the unit as it was in that period, or as it is now if it came later
    unit = plan.unit(agency) or own.unit(agency)
    assert unit is not None
    view = handlers.unit_compliance(
        period.key, agency, boards=d.boards, plan=plan, clock=d.rt.clock, closings=d.closings, reports=d.reports
    )
    assert view is not None
    found = view["unit"]
    row = present.row(found) if found else None
    raw = request.args.get("revision", "")
    revision = int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 100_000 else None
    report = _report_view(agency, period.key, plan.template_for(agency, period.key), revision)
    after_close = set(row.get("revisions_after_close") or []) if row else set()
    pending: list[dict[str, Any]] = []
    pending_note = None
    is_open = row is not None and row["status"] in OPEN_STATUSES
    if who.role == ACTION_ROLE and is_open:
        try:
            pending = [_pending_view(r) for r in _pending_requests(period.key, agency)]
        except ServiceError as err:
            pending_note = _problem(err, SCHEDULER_DOWN)
    closed = view.get("closed")
    return _render(
        "unit.html",
        status=status,
        who=who,
        period=period,
        unit=unit,
        row=row,
        closed={**closed, "at": present.when(closed.get("closed_at"))} if closed else None,
        after_close=after_close,
        report=report,
        revision=revision,
        history=_history(agency),
        plan_query=_plan_query(own.id),
        is_open=is_open,
        pending=pending,
        pending_note=pending_note,
        notice=_done(),
        problem=problem,
        errors=errors or {},
        form=form or {},
    )


def _unit_of(who: Principal, period: str, agency: str) -> tuple[Period, str] | Response:
    """The period (of the unit's own plan) and the unit of a unit page, or the page saying there is none."""
    own = _deps().rt.plan_of(agency) if CODE.fullmatch(agency) else None
    found = _obligation_period(who, period, own.id if own else None)
    if isinstance(found, Response):
        return found
    if own is None or own.unit(agency) is None:
        return _not_found(who, "Không có đơn vị", f"Kế hoạch không có đơn vị mã {agency}.")
    return found, agency


@bp.get("/periods/<period>/units/<agency>")
@web.login_required(roles=BOARD_ROLES)
def unit_page(period: str, agency: str) -> Response:
    """A unit's report for a period (the latest revision, or `?revision=N`), its revisions and history."""
    who = web.principal()
    found = _unit_of(who, period, agency)
    if isinstance(found, Response):
        return found
    return _unit_page(who, *found)


def _form(*names: str) -> dict[str, str]:
    posted = web.nfc_deep({k: v for k, v in request.form.items() if k in names})
    return {name: str(posted.get(name, "")).strip()[:MAX_REASON] for name in names}


def _unit_url(period: str, agency: str, done: str) -> str:
    return f"/periods/{_q(period)}/units/{_q(agency)}?done={done}"


@bp.post("/periods/<period>/units/<agency>/extension")
@web.login_required(roles=(ACTION_ROLE,))
def extension_form(period: str, agency: str) -> Response:
    """Grant (to the chosen day) or refuse (with a reason) a unit's extension request; without a request, grant
    directly: the request is recorded on the unit's behalf, then granted (a request that came by letter or phone)."""
    who = web.principal()
    found = _unit_of(who, period, agency)
    if isinstance(found, Response):
        return found
    form = _form("request_id", "decision", "due_date", "reason")
    errors: dict[str, str] = {}
    if form["decision"] not in ("grant", "refuse"):
        errors["decision"] = "Chọn gia hạn hoặc từ chối."
    if form["due_date"] and not web.is_day(form["due_date"]):
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
    scheduler, token = _deps().scheduler, web.session_token()
    request_id = form["request_id"]
    try:
        if not request_id:
            request_id = scheduler.request_extension(
                token, agency, period, reason=form["reason"], proposed_date=form["due_date"]
            )
        due_date = form["due_date"] if form["decision"] == "grant" else None
        scheduler.decide_extension(
            token, request_id, decision=form["decision"], reason=form["reason"], due_date=due_date
        )
    except ServiceError as err:
        fields = {("due_date" if k == "proposed_date" else k): v for k, v in err.fields.items()}
        problem = _problem(err, SCHEDULER_DOWN)
        return _unit_page(who, *found, problem=problem, errors=fields, form=form, status=err.status)
    return redirect(_unit_url(period, agency, "extended" if form["decision"] == "grant" else "refused"), 303)


@bp.post("/periods/<period>/units/<agency>/waive")
@web.login_required(roles=(ACTION_ROLE,))
def waive_form(period: str, agency: str) -> Response:
    """Waive the unit's obligation for the period, with a reason."""
    who = web.principal()
    found = _unit_of(who, period, agency)
    if isinstance(found, Response):
        return found
    form = _form("waive_reason")
    if len(form["waive_reason"]) < 3:
        errors = {"waive_reason": "Lý do miễn báo cáo: bắt buộc (ít nhất 3 ký tự)."}
        problem = "Chưa miễn được: cần nêu lý do."
        return _unit_page(who, *found, problem=problem, errors=errors, form=form, status=422)
    try:
        _deps().scheduler.waive(web.session_token(), agency, period, reason=form["waive_reason"])
    except ServiceError as err:
        fields = {("waive_reason" if k == "reason" else k): v for k, v in err.fields.items()}
        problem = _problem(err, SCHEDULER_DOWN)
        return _unit_page(who, *found, problem=problem, errors=fields, form=form, status=err.status)
    return redirect(_unit_url(period, agency, "waived"), 303)


def register_pages(app: Flask) -> None:
    """Add the board's pages; `/` becomes the board for browsers and keeps its JSON for other clients."""
    from services.aggregator.pages import plan  # noqa: F401  (Sở Nội vụ's plan pages, on the same blueprint)

    app.register_blueprint(bp)
    web.shared_assets(app, "/board/assets")
    app.extensions["dvcq.page_refusal"] = _refusal_page
    app.extensions["dvcq.json_index"] = app.view_functions["index_page"]
    app.view_functions["index_page"] = board_home
