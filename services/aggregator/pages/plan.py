"""Sở Nội vụ's plan pages (issue 14 point 4): the plan in force, the unit list's upload with every bad row listed,
the preview of a new version, its publication with an effective date, and the difference between two versions.

The scheduler owns the plan and its versions: every page calls its API (shared.clients.SchedulerClient) with the
person's own token, so the scheduler decides who may import and publish. Registered on the board's blueprint.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Response, redirect, request

from services.aggregator.pages.views import (
    BOARD_ROLES,
    SCHEDULER_DOWN,
    _asked_plan,
    _deps,
    _not_found,
    _plan_query,
    _problem,
    _render,
    bp,
)
from shared import web
from shared.clients import ServiceError
from shared.formatting import vn_date, vn_datetime
from shared.timerules import parse_instant

MANAGE_ROLES = ("home_affairs", "admin")
TYPE_NAMES = {
    "SO": "Sở, ngành",
    "HUYEN": "UBND cấp huyện",
    "XA": "UBND cấp xã",
    "TTR": "Thanh tra",
    "TTTT": "Thông tin và Truyền thông",
    "BAO_DAI": "Báo, đài",
    "SNV": "Sở Nội vụ",
}
KIND_NAMES = {"added": "Thêm mới", "ended": "Hết hiệu lực", "renamed": "Đổi tên", "changed": "Thay đổi khác"}
EFFECT_NAMES = {"created": "Sẽ tạo", "closed": "Sẽ đóng", "dropped": "Không còn phải báo cáo"}
LEVEL_NAMES = {
    "reminder_7": "Nhắc hạn trước 7 ngày",
    "reminder_1": "Nhắc hạn trước 1 ngày",
    "overdue": "Quá hạn",
    "escalation_1": "Báo cáo Giám đốc Sở",
    "escalation_2": "Báo cáo Phó Chủ tịch UBND tỉnh",
}
ROLE_NAMES = {"focal": "cán bộ đầu mối", "head": "thủ trưởng", "other": "người khác"}
MAX_UPLOAD = 200_000  # bytes of XLSX: a list of thousands of units; the services' body limit is 262,144
PLACE = re.compile(r"^row([0-9]+)")
PUBLISHED = "Đã công bố phiên bản {number} của danh sách đơn vị, có hiệu lực từ {day}."


def _day(text: str | None) -> str:
    return vn_date(date.fromisoformat(text)) if text else ""


def _unit_row(unit: dict[str, Any]) -> dict[str, Any]:
    people = [c for c in unit.get("contacts") or [] if c.get("alert_role") in ("focal", "head")]
    return {
        **unit,
        "type_names": ", ".join(TYPE_NAMES.get(t, t) for t in unit.get("types", [])) or "Không báo cáo",
        "from": _day(unit.get("valid_from")),
        "until": _day(unit.get("valid_until")),
        "people": [
            f"{ROLE_NAMES[c['alert_role']].capitalize()}: {c['name']} ({c.get('email') or '—'})" for c in people
        ],
    }


def _plan_view(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan as the page shows it, every date as dd/mm/yyyy."""
    return {
        **plan,
        "units": [_unit_row(u) for u in plan["units"]],
        "calendar": [
            {
                **p,
                "deadline": _day(p["deadline_day"]),
                "window": f"{_day(p['data_window']['from'])} - {_day(p['data_window']['to'])}"
                if p.get("data_window")
                else "",
            }
            for p in plan["calendar"]
        ],
        "ladder": [
            {**lv, "name": LEVEL_NAMES.get(lv["level"], lv["level"]), "when": _offset(lv["offset_days"], lv["shift"])}
            for lv in plan["ladder"]
        ],
        "days": [{**d, "date": _day(d["day"])} for d in plan["days"]],
        "on_day": _day(plan["on"]),
        "issued_day": _day(plan["issued_on"]),
        "version_day": _day(plan.get("version_effective_from")),
        "latest_day": _day(plan.get("latest_effective_from")),
    }


def _offset(days: int, shift: str) -> str:
    moved = "ngày làm việc liền trước" if shift == "previous" else "ngày làm việc liền sau"
    if days < 0:
        return f"{-days} ngày trước hạn (nếu không phải ngày làm việc: {moved})"
    return f"{days} ngày sau hạn (nếu không phải ngày làm việc: {moved})"


def _versions_view(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**v, "day": _day(v["effective_from"]), "at": vn_datetime(parse_instant(v["published_at"]))} for v in items]


def _carried() -> str:
    """`?plan=<id>` for the links and forms of a page asked about a plan by name (several plans on the stack)."""
    asked = _asked_plan()
    return _plan_query(asked) if asked else ""


def _plan_page(*, problem: str | None = None, status: int = 200) -> Response:
    who = web.principal()
    token = web.session_token()
    asked = request.args.get("on", "")
    on = asked if asked and web.is_day(asked) else None
    asked_plan = _asked_plan()
    try:
        plan = _deps().scheduler.plan(token, on=on, plan=asked_plan)
        versions = _deps().scheduler.plan_versions(token, plan=plan["plan"])
    except ServiceError as err:
        return _render("dvcq_message.html", status=503 if err.unavailable else 400, who=who,
                       title="Chưa xem được kế hoạch", message=_problem(err, SCHEDULER_DOWN))  # fmt: skip
    notice = None
    if request.args.get("published"):
        notice = PUBLISHED.format(number=request.args["published"], day=_day(request.args.get("from")))
    return _render(
        "plan.html",
        status=status,
        who=who,
        plan=_plan_view(plan),
        plans=_deps().rt.plan_files if len(_deps().rt.plan_files) > 1 else (),
        plan_query=_plan_query(plan["plan"]),
        versions=_versions_view(versions),
        can_manage=who.role in MANAGE_ROLES,
        notice=notice,
        problem=problem,
    )


@bp.get("/plan")
@web.login_required(roles=BOARD_ROLES)
def plan_page() -> Response:
    """The plan in force (`?on=` a day): units in official order with types and validity, calendar, ladder,
    recipients, days off; its versions; for Sở Nội vụ, the unit list's template and upload."""
    return _plan_page()


@bp.get("/plan/units.xlsx")
@web.login_required(roles=MANAGE_ROLES)
def plan_units_file() -> Response:
    """The latest unit list as the XLSX template to edit and upload."""
    try:
        data = _deps().scheduler.unit_list_file(web.session_token(), plan=_asked_plan())
    except ServiceError as err:
        return _plan_page(problem=_problem(err, SCHEDULER_DOWN), status=503 if err.unavailable else 400)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = 'attachment; filename="danh-sach-don-vi.xlsx"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _errors(fields: dict[str, str]) -> list[str]:
    """The scheduler's messages per place, the file's first, then by row number (its JSON sorts keys as text)."""

    def order(key: str) -> tuple[int, str]:
        match = PLACE.match(key)
        return (int(match.group(1)) if match else 0, key)

    return [fields[key] for key in sorted(fields, key=order)]


@bp.post("/plan/import")
@web.login_required(roles=MANAGE_ROLES)
def plan_import() -> Response:
    """Upload the unit list (XLSX) with the day it would take effect: every bad row listed, or the preview."""
    who = web.principal()
    upload = request.files.get("file")
    effective = request.form.get("effective_from", "")
    data = upload.read(MAX_UPLOAD + 1) if upload is not None else b""
    if not data:
        return _plan_page(problem="Chọn tệp danh sách đơn vị (.xlsx) để tải lên.", status=422)
    if len(data) > MAX_UPLOAD:
        return _plan_page(problem=f"Tệp lớn hơn {MAX_UPLOAD // 1000} kB.", status=413)
    if effective and not web.is_day(effective):
        return _plan_page(problem="Ngày có hiệu lực không hợp lệ.", status=422)
    name = (upload.filename or "") if upload is not None else ""
    try:
        outcome = _deps().scheduler.import_unit_list(
            web.session_token(), data, effective_from=effective, filename=name[:200], plan=_asked_plan()
        )
    except ServiceError as err:
        if err.status == 422 and err.fields:
            return _render("plan_import.html", status=422, who=who, errors=_errors(err.fields), message=err.message,
                           filename=name, preview=None, plan_query=_carried())  # fmt: skip
        return _scheduler_refused(err)
    return _preview_page(outcome["draft"], outcome["preview"], name)


def _preview_page(draft: str, preview: dict[str, Any], filename: str) -> Response:
    shown = {
        **preview,
        "day": _day(preview["effective_from"]),
        "units": [{**u, "kind_names": [KIND_NAMES.get(k, k) for k in u["kinds"]]} for u in preview["units"]],
        "obligations": [
            {
                **o,
                "effect_name": EFFECT_NAMES.get(o["effect"], o["effect"]),
                "due": vn_datetime(parse_instant(o["due_before"])),
            }
            if o.get("due_before")
            else {**o, "effect_name": EFFECT_NAMES.get(o["effect"], o["effect"]), "due": ""}
            for o in preview["obligations"]
        ],
        "calendar": [{**c, "deadline": _day(c["deadline_day"])} for c in preview["calendar"]],
    }
    return _render("plan_import.html", who=web.principal(), errors=[], draft=draft, preview=shown, filename=filename,
                   plan_query=_carried(), plan_id=_asked_plan())  # fmt: skip


def _scheduler_refused(err: ServiceError) -> Response:
    """The plan page with what the scheduler answered: 503 when it did not answer, else its own status."""
    return _plan_page(problem=_problem(err, SCHEDULER_DOWN), status=503 if err.unavailable else err.status)


@bp.get("/plan/preview")
@web.login_required(roles=MANAGE_ROLES)
def plan_preview() -> Response:
    """The preview of a kept draft from another effective day (`draft`, `effective_from`)."""
    draft, effective = request.args.get("draft", ""), request.args.get("effective_from", "")
    if not draft or not web.is_day(effective):
        return _plan_page(problem="Ngày có hiệu lực không hợp lệ.", status=422)
    try:
        body = _deps().scheduler.preview_import(
            web.session_token(), draft, effective_from=effective, plan=_asked_plan()
        )
    except ServiceError as err:
        return _scheduler_refused(err)
    return _preview_page(draft, body["preview"], "")


@bp.post("/plan/publish")
@web.login_required(roles=MANAGE_ROLES)
def plan_publish() -> Response:
    """Publish the previewed list as the next version from its effective day."""
    draft, effective = request.form.get("draft", ""), request.form.get("effective_from", "")
    if not draft or not web.is_day(effective):
        return _plan_page(problem="Ngày có hiệu lực không hợp lệ.", status=422)
    try:
        version = _deps().scheduler.publish_version(
            web.session_token(), draft, effective_from=effective, plan=_asked_plan()
        )
    except ServiceError as err:
        return _scheduler_refused(err)
    query = _carried()
    return redirect(
        f"/plan{query}{'&' if query else '?'}published={int(version.get('number', 0))}&from={effective}", 303
    )


@bp.get("/plan/diff")
@web.login_required(roles=BOARD_ROLES)
def plan_diff() -> Response:
    """The differences of the unit list between two versions (`from`, `to`; 0 is the plan file)."""
    who = web.principal()
    first, second = request.args.get("from", ""), request.args.get("to", "")
    if not (first.isdigit() and second.isdigit() and len(first) < 7 and len(second) < 7):
        return _not_found(who, "Không có phiên bản", "Chọn hai phiên bản để so sánh.")
    try:
        changes = _deps().scheduler.plan_diff(web.session_token(), int(first), int(second), plan=_asked_plan())
    except ServiceError as err:
        if err.status == 404:
            return _not_found(who, "Không có phiên bản", err.message)
        return _scheduler_refused(err)
    units = [{**u, "kind_names": [KIND_NAMES.get(k, k) for k in u["kinds"]]} for u in changes]
    return _render("plan_diff.html", who=who, first=int(first), second=int(second), units=units,
                   plan_query=_carried())  # fmt: skip
