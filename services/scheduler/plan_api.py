"""The scheduler's plan routes (issue 14 point 4): the plan in force, the unit-list template, imports, previews,
versions and their differences. Registered by `services.scheduler.app.create_app`.

Reading the plan is open to every role (contacts only to Sở Nội vụ, admins and services); importing, previewing and
publishing to Sở Nội vụ and admins. An upload is the XLSX file itself as the request body (Content-Type
`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`), within the services' body limit.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import RAISE, Schema, fields

from services.scheduler import versions
from services.scheduler.bootstrap import Dependencies
from shared import web
from shared.formatting import content_disposition
from shared.plan import Plan, Unit, load_plan
from shared.plan_versions import PlanVersion, Preview, UnitChange, plan_in_force
from shared.plan_versions import unit_json as _unit_full_json
from shared.timerules import local_date, local_iso
from shared.unit_list import unit_list_workbook

bp = Blueprint("plan", __name__)
READ_ROLES = ("agency", "home_affairs", "observer", "leadership", "admin", "service")
MANAGE_ROLES = ("home_affairs", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _deps() -> Dependencies:
    return web.deps()


def _plan() -> Plan:
    """The plan file a request is about: `plan`, default the plan in force today."""
    return web.plan_arg() or _deps().rt.plan


def _taken_codes(plan: Plan) -> dict[str, str]:
    """The unit codes of the stack's other plans (their latest lists), by plan id: a version of `plan` may not take
    one (one code, one unit of one plan: shared.plan.load_plans)."""
    d = _deps()
    latest = [versions.current_plan(p, versions=d.versions) for p in d.rt.plans if p.id != plan.id]
    return {u.code: p.id for p in latest for u in p.units}


def _other_codes(plan: Plan) -> frozenset[str]:
    """Codes a successor may name outside the list: the units of the stack's other plans and of the plan's
    `successor_plan`, a sibling directory of the plan's own (plans/tra-vinh-2019 names units of
    plans/vinh-long-2026)."""
    others = set(_taken_codes(plan))
    if plan.successor_plan:
        files = _deps().rt.plan_files
        own = next((i for i, p in enumerate(files) if p.id == plan.id), 0)
        path = web.settings().plan_paths[own].parent / plan.successor_plan
        if (path / "plan.json").is_file():
            others |= {u.code for u in load_plan(path).units}
    return frozenset(others)


def _day_arg(name: str, default: date | None = None) -> date | None:
    text = web.query_arg(name) or ""
    if not text:
        return default
    if not web.is_day(text):
        raise web.ApiError(400, f"{name} phải là ngày dạng YYYY-MM-DD.", fields={name: "Không hợp lệ."})
    return date.fromisoformat(text)


def _number(text: str, name: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise web.ApiError(400, f"{name} phải là số phiên bản (0 là kế hoạch gốc).", fields={name: "Không hợp lệ."})
    return int(text)


def _unit_json(unit: Unit, with_contacts: bool) -> dict[str, Any]:
    out = _unit_full_json(unit)
    if not with_contacts:
        out.pop("contacts")
    return out


def _version_json(version: PlanVersion, *, with_units: bool = False, with_contacts: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "plan": version.plan,
        "number": version.number,
        "effective_from": version.effective_from.isoformat(),
        "published_at": local_iso(version.published_at),
        "published_by": version.published_by,
        "units_count": len(version.units),
    }
    if with_units:
        out["units"] = [_unit_json(u, with_contacts) for u in version.units]
    return out


def _change_json(change: UnitChange) -> dict[str, Any]:
    return {"code": change.code, "name": change.name, "kinds": list(change.kinds), "details": list(change.details)}


def preview_json(shown: Preview) -> dict[str, Any]:
    """A preview as the API answers it."""
    return {
        "effective_from": shown.effective_from.isoformat(),
        "counts": {k: shown.count(k) for k in ("added", "ended", "renamed", "changed")},
        "units": [_change_json(c) for c in shown.units],
        "obligations": [
            {
                "agency": e.agency,
                "unit_name": e.unit_name,
                "period": e.period,
                "effect": e.effect,
                "due_before": local_iso(e.due_before),
                "note": e.note,
            }
            for e in shown.obligations
        ],
        "calendar": [
            {
                "period": c.period.key,
                "name": c.period.name,
                "deadline_day": c.period.deadline_day.isoformat(),
                "due_before": local_iso(c.period.due_before),
                "expected_before": c.expected_before,
                "expected_after": c.expected_after,
            }
            for c in shown.calendar
        ],
    }


def plan_json(
    plan: Plan, day: date, version: PlanVersion | None, latest: PlanVersion | None, who: str
) -> dict[str, Any]:
    """The plan in force on `day`: units in official order, calendar, ladder, recipients, days off."""
    with_contacts = who in ("home_affairs", "admin", "service")
    units = sorted(plan.units, key=lambda u: (u.order is None, u.order or 0, u.code))
    years = sorted({day.year, *(p.deadline_day.year for p in plan.calendar)})
    rules = plan.calendar_rules
    return {
        "plan": plan.id,
        "title": plan.title,
        "issuer": plan.issuer,
        "issued_on": plan.issued_on.isoformat(),
        "on": day.isoformat(),
        "version": version.number if version else 0,
        "version_effective_from": version.effective_from.isoformat() if version else None,
        "latest_version": latest.number if latest else 0,
        "latest_effective_from": latest.effective_from.isoformat() if latest else None,
        "effective_from": rules.effective_from.isoformat() if rules else None,
        "effective_until": rules.effective_until.isoformat() if rules and rules.effective_until else None,
        "carried_over_from": rules.carried_over_from if rules else None,
        "units": [_unit_json(u, with_contacts) for u in units],
        "calendar": [
            {
                "period": p.key,
                "name": p.name,
                "rule": p.rule,
                "applicable": p.applicable,
                "deadline_day": p.deadline_day.isoformat(),
                "due_before": local_iso(p.due_before),
                "data_window": (
                    {"from": p.data_window[0].isoformat(), "to": p.data_window[1].isoformat()}
                    if p.data_window
                    else None
                ),
                "served_by": p.served_by,
                "not_applicable_reason": p.not_applicable_reason,
                "expected_reports": len(plan.expected_units(p)),
            }
            for p in plan.calendar
        ],
        "ladder": [
            {"level": lv.level, "offset_days": lv.offset_days, "shift": lv.shift, "to": list(lv.to)}
            for lv in plan.escalation
        ],
        "escalation_local_time": plan.escalation_local_time,
        "recipients": [
            {k: r.get(k) for k in ("role", "name", "title", *(("email",) if with_contacts else ()))}
            for r in plan.recipients
        ],
        "days": [
            {
                "day": d.day.isoformat(),
                "kind": d.kind,
                "name": d.name,
                "source": d.source,
                "confirmed": d.confirmed,
            }
            for year in years
            for d in plan.working_days.days(year)
        ],
    }


@bp.get("/api/v1/plan")
@web.requires(*READ_ROLES)
@web.document(query=("on", "plan"))
def get_plan() -> Response:
    """The plan in force on `on` (default: today's business date): units in official order with types and
    validity, calendar, ladder, recipients, days off and make-up days; the version in force and the latest."""
    d, base = _deps(), _plan()
    day = _day_arg("on") or local_date(d.rt.clock.now())
    published = d.versions.versions(base.id)
    effective = [v for v in published if v.effective_from <= day]
    version = max(effective, key=lambda v: v.number, default=None)
    latest = max(published, key=lambda v: v.number, default=None)
    plan = plan_in_force(base, published, day)
    return jsonify(plan_json(plan, day, version, latest, web.principal().role))


@bp.get("/api/v1/plan/units.xlsx")
@web.requires(*MANAGE_ROLES, "service")
@web.document(query=("plan",))
def get_unit_list() -> Response:
    """The latest published unit list as an XLSX file in the import layout: the template to edit and upload."""
    d = _deps()
    plan = versions.current_plan(_plan(), versions=d.versions)
    resp = Response(unit_list_workbook(plan.units), mimetype=XLSX)
    resp.headers["Content-Disposition"] = content_disposition(f"danh-sach-don-vi-{plan.id}.xlsx")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/api/v1/plan/imports")
@web.requires(*MANAGE_ROLES)
@web.document(query=("effective_from", "filename", "plan"), status=201)
def post_import() -> tuple[Response, int]:
    """Upload a unit list (the XLSX file as the body): 422 with every bad row (row, column, why) and nothing kept,
    or 201 with the kept draft and what it would change from `effective_from` (default: today)."""
    if request.mimetype != XLSX:
        raise web.ApiError(415, f"Tệp phải là bảng tính Excel (.xlsx), Content-Type {XLSX}.")
    d = _deps()
    day = _day_arg("effective_from")
    filename = (web.query_arg("filename") or "")[:200]
    base = _plan()
    outcome = versions.import_unit_list(
        request.get_data(cache=False), filename, day, web.principal(), base=base,
        other_codes=_other_codes(base), versions=d.versions, clock=d.rt.clock, taken_codes=_taken_codes(base),
    )  # fmt: skip
    return jsonify({"draft": outcome.draft.id, "units_count": len(outcome.draft.units),
                    "preview": preview_json(outcome.preview)}), 201  # fmt: skip


@bp.get("/api/v1/plan/imports/<draft>/preview")
@web.requires(*MANAGE_ROLES)
@web.document(query=("effective_from", "plan"))
def get_import_preview(draft: str) -> Response:
    """What publishing a kept draft from `effective_from` (required) would change."""
    d = _deps()
    day = _day_arg("effective_from")
    if day is None:
        raise web.ApiError(400, "Cần effective_from (YYYY-MM-DD).", fields={"effective_from": "Bắt buộc."})
    shown = versions.preview_draft(draft, day, base=_plan(), versions=d.versions, clock=d.rt.clock)
    return jsonify({"draft": draft, "preview": preview_json(shown)})


class PublishSchema(Schema):
    """Publish a kept draft as the next version of the plan's unit list."""

    class Meta:
        unknown = RAISE

    draft = fields.String(required=True, error_messages={"required": "draft: bắt buộc (mã danh sách đã tải lên)."})
    effective_from = fields.Date(
        required=True,
        error_messages={"required": "effective_from: bắt buộc.", "invalid": "effective_from: dạng YYYY-MM-DD."},
    )


@bp.post("/api/v1/plan/versions")
@web.requires(*MANAGE_ROLES)
@web.document(status=201, query=("plan",))
@web.accepts(PublishSchema)
def post_version(body: dict[str, Any]) -> tuple[Response, int]:
    """Publish a kept draft as the next version, in force from `effective_from` (not before today nor before the
    latest version's day); its new obligations are created and `plan.published` announced."""
    d, base = _deps(), _plan()
    version = versions.publish_version(
        body["draft"], body["effective_from"], web.principal(), base=base, versions=d.versions,
        obligations=d.obligations, clock=d.rt.clock, taken_codes=_taken_codes(base),
    )  # fmt: skip
    return jsonify(_version_json(version)), 201


@bp.get("/api/v1/plan/versions")
@web.requires(*READ_ROLES)
@web.document(query=("plan",))
def list_versions() -> Response:
    """Every published version of the plan's unit list, oldest first (version 0 is the plan file)."""
    plan = _plan()
    return jsonify({"plan": plan.id, "items": [_version_json(v) for v in _deps().versions.versions(plan.id)]})


@bp.get("/api/v1/plan/versions/<number>")
@web.requires(*READ_ROLES)
@web.document(query=("plan",))
def get_version(number: str) -> Response:
    """One published version with its unit list (contacts for Sở Nội vụ, admins and services)."""
    d = _deps()
    version = versions.version_of(_number(number, "number"), base=_plan(), versions=d.versions)
    with_contacts = web.principal().role in ("home_affairs", "admin", "service")
    return jsonify(_version_json(version, with_units=True, with_contacts=with_contacts))


@bp.get("/api/v1/plan/diff")
@web.requires(*READ_ROLES)
@web.document(query=("from", "to", "plan"))
def get_versions_diff() -> Response:
    """The differences of the unit list from version `from` to version `to` (0 is the plan file)."""
    d = _deps()
    first = _number(web.query_arg("from") or "", "from")
    second = _number(web.query_arg("to") or "", "to")
    plan = _plan()
    changes = versions.compare_versions(first, second, base=plan, versions=d.versions)
    return jsonify({"plan": plan.id, "from": first, "to": second, "units": [_change_json(c) for c in changes]})
