"""Every request handler finds what it reads and writes by equality or `_id` (README "The store"), checked on the
real store: each service's app, built in this process against a running stack's databases, answers every route of
its url_map while pymongo's command monitoring records the commands each request sends; every filter (find,
aggregate's first `$match`, count, distinct, update, delete, findAndModify) must hold a top-level equality on a
field with a scalar value, which FerretDB on PostgreSQL pushes down to SQL (an `_id` lookup is one). A range,
`$in`, `$or`, `$regex`, `$exists` or an empty filter alone reads the whole collection. The per-route list of
commands is printed and kept in `var/test/store-queries.txt`, the evidence beside the verdict.
"""

from __future__ import annotations

import io
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import requests
from bson import ObjectId
from flask import Flask
from pymongo import MongoClient, monitoring

from services.intake.accounts.app import LOGIN_NONCE_COOKIE
from shared.auth import csrf_digest, issue_token, verify_token
from shared.plan import load_plan
from shared.settings import ROOT, Settings
from shared.unit_list import unit_list_workbook
from shared.web import CSRF_HEADER, SESSION_COOKIE
from tests.support import TRACU_STAFF, TestStack, make_officer, notifications, own_stack, wait_for, wait_quiet

Route = tuple[str, str, str]  # (service, method, url rule)

FILTERS = {"find": "filter", "count": "query", "distinct": "query", "findAndModify": "query", "findandmodify": "query"}
STATEMENTS = {"update": ("updates", "q"), "delete": ("deletes", "q")}
SCALARS = (str, bool, int, float, datetime, ObjectId)

H1 = "2019-H1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNIT_LIST = unit_list_workbook(load_plan(ROOT / "plans" / "tra-vinh-2019").units)  # the busy stack's plan
OFFICER = ("canbo@cauke.travinh.example", "H_CAUKE", "Mật khẩu 2019!")
FOCAL = TRACU_STAFF[0]["email"]
WRONG_PASSWORD_CHANGE = {"current_password": "sai", "new_password": "Mới 2019!!", "confirm_password": "Mới 2019!!"}


# --- the recording wrapper ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One command a request sent: its collection, its name and the filter it selects by (None: no filter, an
    insert; `{}`: everything)."""

    collection: str
    name: str
    filter: dict[str, Any] | None

    def by_equality(self) -> bool:
        """True when the filter narrows by equality (or the command selects nothing: an insert, a ping)."""
        return self.filter is None or bool(equality_fields(self.filter))

    def __str__(self) -> str:
        shown = "" if self.filter is None else " " + json.dumps(self.filter, default=str, ensure_ascii=False)[:300]
        return f"{self.name} {self.collection}{shown}"


def equality_fields(query: dict[str, Any]) -> list[str]:
    """The top-level fields `query` compares for equality with a scalar (`{f: v}` or `{f: {"$eq": v}}`)."""
    out = []
    for name, value in query.items():
        if name.startswith("$"):
            continue
        if isinstance(value, dict) and set(value) == {"$eq"}:
            value = value["$eq"]
        if isinstance(value, SCALARS):
            out.append(name)
    return out


def commands_of(name: str, body: dict[str, Any]) -> list[Command]:
    """What a command selects by, one Command per filter (an update or delete carries one per statement)."""
    if name in FILTERS:
        return [Command(str(body[name]), name, dict(body.get(FILTERS[name]) or {}))]
    if name in STATEMENTS:
        key, q = STATEMENTS[name]
        return [Command(str(body[name]), name, dict(s.get(q) or {})) for s in body.get(key, ())]
    if name == "aggregate":
        first = next(iter(body.get("pipeline") or []), {})
        return [Command(str(body[name]), name, dict(first.get("$match") or {}))]
    if name == "insert":
        return [Command(str(body[name]), name, None)]
    return []  # getMore (of a find recorded already), ping, createIndexes, endSessions: no collection is read


class StoreRecorder(monitoring.CommandListener):
    """Records the commands sent to a stack's databases from the recording thread (the test's requests)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.thread = threading.get_ident()
        self.commands: list[Command] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name.startswith(self.prefix) and threading.get_ident() == self.thread:
            self.commands += commands_of(event.command_name, dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def take(self) -> list[Command]:
        """The commands recorded since the last call."""
        taken, self.commands = self.commands, []
        return taken


# --- the requests -------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request of a route: its path (or a function of what earlier requests found), who sends it (`api` a
    bearer token, `page` a session cookie with its CSRF token, `None` no one) and its body."""

    path: str | Callable[[dict[str, str]], str]
    who: tuple[str, str, str | None] | None = None  # (api|page, role, agency)
    json: Any = None
    data: dict[str, str] | None = None
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    keep: Callable[[Any, dict[str, str]], None] | None = None  # note what later requests need


def api(role: str, agency: str | None = None) -> tuple[str, str, str | None]:
    return ("api", role, agency)


def page(role: str, agency: str | None = None) -> tuple[str, str, str | None]:
    return ("page", role, agency)


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
HTML = {"Accept": "text/html"}
SNV, ADMIN = api("home_affairs"), api("admin")
PROBES = {"/": [Call("/")], "/healthz": [Call("/healthz")], "/readyz": [Call("/readyz")]}
PROBES |= {"/metrics": [Call("/metrics")], "/openapi.json": [Call("/openapi.json")]}
PROBES |= {"/api/v1/events": [Call("/api/v1/events?limit=50", ADMIN)]}


def _keep_header(name: str, key: str) -> Callable[[Any, dict[str, str]], None]:
    def keep(resp: Any, ctx: dict[str, str]) -> None:
        ctx[key] = resp.headers[name]

    return keep


def _keep_json(key: str, pick: Callable[[Any], str]) -> Callable[[Any, dict[str, str]], None]:
    def keep(resp: Any, ctx: dict[str, str]) -> None:
        ctx[key] = pick(resp.get_json())

    return keep


def routes_driven() -> dict[str, dict[tuple[str, str], list[Call]]]:
    """For each service, the requests that drive each (method, url rule), in the order they are sent."""
    officer = api("agency", "H_CAUKE")
    unit_page = page("agency", "H_CAUKE")
    report = f"/api/v1/reports/H_CAUKE/{H1}"
    form = {"csrf_token": "", "action": "submit", "submission_key": "form-1", "indicators.tcd_luot": "13"}
    extension = {"csrf_token": "", "reason": "Đơn vị đang kiện toàn bộ máy", "proposed_date": "2019-07-20"}
    export = {"number": "12/BC-SNV", "signer": "Nguyễn Văn A"}
    return {
        "intake": {
            ("GET", "/"): [Call("/", page("agency", "H_CAUKE"), headers=HTML), Call("/")],
            **{("GET", path): calls for path, calls in PROBES.items() if path != "/"},
            ("GET", "/static/<path:filename>"): [Call("/static/intake.css")],
            ("GET", "/assets/<path:filename>"): [Call("/assets/intake.css")],
            ("GET", "/assets/shared/<path:filename>"): [Call("/assets/shared/dvcq.css")],
            ("POST", "/api/v1/reports"): [
                Call(
                    "/api/v1/reports",
                    api("agency", "H_CANGLONG"),
                    json={"agency": "H_CANGLONG", "period": H1, "indicators": {"tcd_luot": 3}},
                    headers={"Idempotency-Key": "q-1"},
                )  # fmt: skip
            ],
            ("PUT", "/api/v1/reports/<agency>/<period>"): [
                Call(report, officer, json={"indicators": {"tcd_luot": 8}}, headers={"Idempotency-Key": "q-2"})
            ],
            ("POST", "/api/v1/reports/<agency>/<period>/on-behalf"): [
                Call(
                    f"/api/v1/reports/H_CHAUTHANH/{H1}/on-behalf",
                    SNV,
                    json={"received_on": "2019-06-04", "channel": "paper", "report": {"indicators": {"tcd_luot": 2}}},
                )  # fmt: skip
            ],
            ("GET", "/api/v1/reports/<agency>/<period>"): [Call(report, SNV), Call(report + "?revision=1", SNV)],
            ("GET", "/api/v1/reports/<agency>/<period>/revisions"): [Call(report + "/revisions", SNV)],
            ("GET", "/api/v1/reports/<agency>/<period>/diff"): [Call(report + "/diff", SNV)],
            ("PUT", "/api/v1/reports/<agency>/<period>/pdf"): [
                Call(report + "/pdf", officer, body=PDF, content_type="application/pdf")
            ],
            ("GET", "/api/v1/reports/<agency>/<period>/pdf"): [Call(report + "/pdf", SNV)],
            ("GET", "/api/v1/reports"): [Call(f"/api/v1/reports?period={H1}", SNV)],
            ("PUT", "/api/v1/drafts/<agency>/<period>"): [
                Call("/api/v1/drafts/H_CAUKE/2019-Q3", officer, json={"indicators": {"tcd_luot": 1}})
            ],
            ("GET", "/api/v1/drafts/<agency>/<period>"): [Call("/api/v1/drafts/H_CAUKE/2019-Q3", officer)],
            ("GET", "/api/v1/templates/<agency>/<period>"): [Call(f"/api/v1/templates/H_CAUKE/{H1}", officer)],
            ("POST", "/api/v1/login"): [
                Call("/api/v1/login", json={"email": OFFICER[0], "password": OFFICER[2]}),
                Call("/api/v1/login", json={"email": OFFICER[0], "password": "sai mật khẩu"}),
            ],
            ("POST", "/api/v1/logout"): [Call("/api/v1/logout", officer)],
            ("GET", "/login"): [Call("/login")],
            ("POST", "/login"): [Call("/login", data={"email": OFFICER[0], "password": OFFICER[2]})],
            ("POST", "/logout"): [Call("/logout", unit_page, data={"csrf_token": ""})],
            ("GET", "/account"): [Call("/account", unit_page), Call("/account", page("leadership"))],
            ("POST", "/account/password"): [Call("/account/password", unit_page, data=WRONG_PASSWORD_CHANGE)],
            ("GET", "/reports/<period>"): [Call(f"/reports/{H1}", unit_page), Call("/reports/2019-Q3", unit_page)],
            ("POST", "/reports/<period>"): [Call(f"/reports/{H1}", unit_page, data=form)],
            ("GET", "/reports/<period>/receipt"): [Call(f"/reports/{H1}/receipt", unit_page)],
            ("GET", "/reports/<period>/extension"): [Call(f"/reports/{H1}/extension", unit_page)],
            ("POST", "/reports/<period>/extension"): [
                Call(f"/reports/{H1}/extension", page("agency", "H_DUYENHAI"), data=extension)
            ],
            ("GET", "/reports"): [Call("/reports", unit_page)],
        },
        "scheduler": {
            **{("GET", path): calls for path, calls in PROBES.items()},
            ("GET", "/static/<path:filename>"): [Call("/static/none.css")],  # Flask's own, serving no folder
            ("GET", "/api/v1/units"): [Call("/api/v1/units", SNV)],
            ("GET", "/api/v1/calendar"): [Call("/api/v1/calendar", SNV)],
            ("GET", "/api/v1/obligations"): [Call(f"/api/v1/obligations?period={H1}", SNV)],
            ("GET", "/api/v1/clock"): [Call("/api/v1/clock", SNV)],
            ("POST", "/api/v1/clock"): [Call("/api/v1/clock", ADMIN, json=lambda ctx: {"now": ctx["now"]})],
            ("POST", "/api/v1/obligations/<agency>/<period>/extension-requests"): [
                Call(
                    f"/api/v1/obligations/TX_DUYENHAI/{H1}/extension-requests",
                    api("agency", "TX_DUYENHAI"),
                    json={"reason": "Thiếu cán bộ tổng hợp", "proposed_date": "2019-07-10"},
                    keep=_keep_json("request", lambda body: body["id"]),
                )  # fmt: skip
            ],
            ("GET", "/api/v1/extension-requests"): [Call("/api/v1/extension-requests?status=pending", SNV)],
            ("POST", "/api/v1/extension-requests/<request_id>/decision"): [
                Call(
                    lambda ctx: f"/api/v1/extension-requests/{ctx['request']}/decision",
                    api("home_affairs"),
                    json={"decision": "refuse", "reason": "Không đủ căn cứ gia hạn"},
                )  # fmt: skip
            ],
            ("POST", "/api/v1/obligations/<agency>/<period>/waive"): [
                Call(f"/api/v1/obligations/BQL_KKT/{H1}/waive", SNV, json={"reason": "Đơn vị giải thể theo quyết định"})
            ],
            ("GET", "/api/v1/plan"): [Call("/api/v1/plan", SNV), Call("/api/v1/plan?on=2019-12-01", api("observer"))],
            ("GET", "/api/v1/plan/units.xlsx"): [Call("/api/v1/plan/units.xlsx", SNV)],
            ("POST", "/api/v1/plan/imports"): [
                Call("/api/v1/plan/imports", SNV, body=b"not a workbook", content_type=XLSX),
                Call(
                    "/api/v1/plan/imports?filename=donvi.xlsx",
                    SNV,
                    body=UNIT_LIST,
                    content_type=XLSX,
                    keep=_keep_json("draft", lambda body: body["draft"]),
                ),  # fmt: skip
            ],
            ("GET", "/api/v1/plan/imports/<draft>/preview"): [
                Call(lambda ctx: f"/api/v1/plan/imports/{ctx['draft']}/preview?effective_from={ctx['now'][:10]}", SNV)
            ],
            ("POST", "/api/v1/plan/versions"): [
                Call(
                    "/api/v1/plan/versions",
                    SNV,
                    json=lambda ctx: {"draft": ctx["draft"], "effective_from": ctx["now"][:10]},
                )  # fmt: skip
            ],
            ("GET", "/api/v1/plan/versions"): [Call("/api/v1/plan/versions", SNV)],
            ("GET", "/api/v1/plan/versions/<number>"): [Call("/api/v1/plan/versions/1", SNV)],
            ("GET", "/api/v1/plan/diff"): [Call("/api/v1/plan/diff?from=0&to=1", SNV)],
        },
        "notifier": {
            **{("GET", path): calls for path, calls in PROBES.items()},
            ("GET", "/static/<path:filename>"): [Call("/static/none.css")],
            ("GET", "/api/v1/notifications"): [Call("/api/v1/notifications?agency=H_TRACU", SNV)],
            ("POST", "/api/v1/notifications/<path:notification_id>/resend"): [
                Call(lambda ctx: f"/api/v1/notifications/{ctx['notification']}/resend", api("home_affairs"))
            ],
            ("GET", "/api/v1/inbox"): [Call("/api/v1/inbox", ("api", "agency", "H_TRACU"))],
            ("POST", "/api/v1/inbox/<path:notification_id>/read"): [
                Call(lambda ctx: f"/api/v1/inbox/{ctx['inbox']}/read", ("api", "agency", "H_TRACU"))
            ],
            ("GET", "/api/v1/inbox/unread"): [Call("/api/v1/inbox/unread", ("api", "agency", "H_TRACU"))],
            ("GET", "/inbox/assets/<path:filename>"): [Call("/inbox/assets/inbox.css")],
            ("GET", "/inbox/assets/shared/<path:filename>"): [Call("/inbox/assets/shared/dvcq.css")],
            ("GET", "/inbox"): [Call("/inbox", page("agency", "H_TRACU")), Call("/inbox", page("home_affairs"))],
            ("POST", "/inbox/<path:notification_id>/read"): [
                Call(lambda ctx: f"/inbox/{ctx['inbox']}/read", page("agency", "H_TRACU"), data={"cursor": ""})
            ],
        },
        "aggregator": {
            ("GET", "/"): [Call("/", page("home_affairs"), headers=HTML), Call("/")],
            **{("GET", path): calls for path, calls in PROBES.items() if path not in ("/", "/api/v1/events")},
            ("GET", "/static/<path:filename>"): [Call("/static/board.css")],
            ("GET", "/board/assets/<path:filename>"): [Call("/board/assets/board.css")],
            ("GET", "/board/assets/shared/<path:filename>"): [Call("/board/assets/shared/dvcq.css")],
            ("GET", "/board"): [Call(f"/board?period={H1}", page("home_affairs")), Call("/board", page("observer"))],
            ("GET", "/overview"): [
                Call("/overview", page("leadership")),
                Call("/overview?year=2019", page("observer")),
            ],
            ("GET", "/api/v1/compliance"): [Call(f"/api/v1/compliance?period={H1}", SNV)],
            ("GET", "/plan"): [Call("/plan", page("home_affairs")), Call("/plan?on=2019-12-01", page("observer"))],
            ("GET", "/plan/units.xlsx"): [Call("/plan/units.xlsx", page("home_affairs"))],
            ("POST", "/plan/import"): [
                Call("/plan/import", page("home_affairs"), data={"file": (io.BytesIO(b"junk"), "x.xlsx")}),  # type: ignore[dict-item]
                Call("/plan/import", page("home_affairs"), data={"file": (io.BytesIO(UNIT_LIST), "donvi.xlsx")}),  # type: ignore[dict-item]
            ],
            ("GET", "/plan/preview"): [
                Call(lambda ctx: f"/plan/preview?draft={ctx['draft']}&effective_from={ctx['now'][:10]}", page("admin"))
            ],
            ("POST", "/plan/publish"): [
                Call(
                    "/plan/publish",
                    page("home_affairs"),
                    data={"draft": "vinh-long-2026:unknown", "effective_from": "2019-12-01"},
                )  # fmt: skip
            ],
            ("GET", "/plan/diff"): [Call("/plan/diff?from=0&to=1", page("observer"))],
            ("GET", "/api/v1/dead-letters"): [Call("/api/v1/dead-letters", SNV)],
            ("GET", "/api/v1/overdue"): [Call("/api/v1/overdue", SNV)],
            ("GET", "/api/v1/summary"): [Call(f"/api/v1/summary?period={H1}", SNV)],
            ("POST", "/api/v1/periods/<period>/close"): [Call("/api/v1/periods/2019-Q3/close", SNV)],
            ("POST", "/api/v1/exports/<period>.<ext>"): [
                Call(f"/api/v1/exports/{H1}.docx", SNV, json=export, keep=_keep_header("X-Dvcq-Document", "doc")),
                Call(f"/api/v1/exports/{H1}.xlsx", SNV),
            ],
            ("GET", "/api/v1/exports/<period>.<ext>"): [Call(f"/api/v1/exports/{H1}.docx", SNV)],
            ("POST", "/api/v1/exports/<period>/urging-letter.docx"): [
                Call(f"/api/v1/exports/{H1}/urging-letter.docx", SNV, json=export)
            ],
            ("GET", "/api/v1/exports/<period>/urging-letter.docx"): [
                Call(f"/api/v1/exports/{H1}/urging-letter.docx", SNV)
            ],
            ("GET", "/api/v1/documents"): [Call(f"/api/v1/documents?period={H1}", SNV)],
            ("GET", "/api/v1/documents/<record_id>"): [Call(lambda ctx: f"/api/v1/documents/{ctx['doc']}", SNV)],
            ("GET", "/api/v1/documents/<record_id>/data"): [
                Call(lambda ctx: f"/api/v1/documents/{ctx['doc']}/data", SNV)
            ],
            ("GET", "/periods/<period>"): [Call(f"/periods/{H1}", page("home_affairs"))],
            ("POST", "/periods/<period>/close"): [Call("/periods/2019-FY/close", page("home_affairs"), data={})],
            ("GET", "/periods/<period>/units/<agency>"): [
                Call(f"/periods/{H1}/units/H_CAUKE", page("home_affairs")),
                Call(f"/periods/{H1}/units/H_TRACU", page("observer")),
            ],
            ("POST", "/periods/<period>/units/<agency>/extension"): [
                Call(
                    f"/periods/{H1}/units/H_CAUNGANG/extension",
                    page("home_affairs"),
                    data={"decision": "grant", "due_date": "2019-07-05", "reason": "Theo công văn của đơn vị"},
                )  # fmt: skip
            ],
            ("POST", "/periods/<period>/units/<agency>/waive"): [
                Call(f"/periods/{H1}/units/DAI_PTTH/waive", page("home_affairs"), data={"waive_reason": "Đã sáp nhập"})
            ],
        },
    }


# --- the run ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_stack() -> Iterator[TestStack]:
    """A stack with what a province has by mid-June 2019: reports (one corrected), a staff list, overdue units,
    their alerts and receipts in the ledger and the inboxes, an extension request."""
    with own_stack("q") as stack:
        make_officer(stack, OFFICER[0], OFFICER[1], "Trần Thị Bé", OFFICER[2])
        stack.set_clock("2019-06-05T10:00:00+07:00")
        for agency in ("H_CAUKE", "H_TIEUCAN", "SNV"):
            assert stack.post_report(agency, H1, {"indicators": {"tcd_luot": 4}}).status_code == 201
        assert stack.post_report("H_TRACU", "2019-STAFF", {"staff": TRACU_STAFF}).status_code == 201
        headers = stack.auth("agency", "H_CAUKE")
        fixed = {"indicators": {"tcd_luot": 6}}
        assert stack_put(stack, f"/api/v1/reports/H_CAUKE/{H1}", fixed, headers) == 200
        stack.set_clock("2019-06-12T08:00:00+07:00")
        wait_quiet(stack)
        wait_for(lambda: notifications(stack, "agency=H_TRACU"), timeout=120, what="H_TRACU's alerts")
        yield stack


def stack_put(stack: TestStack, path: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    """PUT to the stack's intake process (not the app under test)."""
    return requests.put(stack.url("intake", path), json=body, headers=headers, timeout=15).status_code


@pytest.fixture(scope="module")
def recorder(busy_stack: TestStack) -> Iterator[StoreRecorder]:
    """Command monitoring for every MongoClient this process creates from now on (the apps' own)."""
    rec = StoreRecorder(busy_stack.space.prefix)
    monitoring.register(rec)
    yield rec
    rec.thread = -1  # pymongo cannot unregister a listener: it stops recording instead


@pytest.fixture(scope="module")
def apps(busy_stack: TestStack, recorder: StoreRecorder) -> dict[str, Flask]:
    """Each service's app as gunicorn builds it, on the stack's settings (store, vhost, secret, peers' URLs),
    after the recorder is registered, so their store clients report to it."""
    from services.aggregator.app import create_app as aggregator
    from services.intake.app import create_app as intake
    from services.notifier.app import create_app as notifier
    from services.scheduler.app import create_app as scheduler

    settings = Settings.from_env(busy_stack.stack.env)
    return {"intake": intake(settings), "scheduler": scheduler(settings), "notifier": notifier(settings),
            "aggregator": aggregator(settings)}  # fmt: skip


def url_map_routes(service: str, app: Flask) -> set[Route]:
    """Every (method, rule) the app answers, HEAD and OPTIONS aside (Flask answers them for every GET)."""
    return {
        (service, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


class Sender:
    """Sends Calls through the services' test clients with their credentials."""

    def __init__(self, stack: TestStack, apps: dict[str, Flask]) -> None:
        self.secret = stack.secret
        self.clients = {name: app.test_client() for name, app in apps.items()}

    def send(self, service: str, method: str, call: Call, ctx: dict[str, str]) -> Any:
        """The response to `call`, sent to `service` with `method`."""
        client = self.clients[service]
        headers = dict(call.headers)
        client.delete_cookie(SESSION_COOKIE)
        data = dict(call.data) if call.data is not None else None
        if call.who is not None:
            kind, role, agency = call.who
            sub = FOCAL if agency == "H_TRACU" else f"{role}@{agency or 'test'}"
            token = issue_token(self.secret, sub=sub, role=role, agency=agency)
            if kind == "api":
                headers["Authorization"] = f"Bearer {token}"
            else:
                client.set_cookie(SESSION_COOKIE, token)
                headers[CSRF_HEADER] = csrf_digest(self.secret, verify_token(self.secret, token).jti or "")
        if call.path == "/login" and data is not None:
            client.set_cookie(LOGIN_NONCE_COOKIE, "nonce-1", path="/login")
            data["csrf_token"] = csrf_digest(self.secret, "login:nonce-1")
        body = call.json(ctx) if callable(call.json) else call.json
        return client.open(
            path_of(call, ctx), method=method, json=body, data=call.body if call.body is not None else data,
            content_type=call.content_type, headers=headers,
        )  # fmt: skip


def path_of(call: Call, ctx: dict[str, str]) -> str:
    """The call's path, filled with what earlier requests found."""
    return call.path(ctx) if callable(call.path) else call.path


def test_every_request_handler_reads_and_writes_the_store_by_equality(
    busy_stack: TestStack, recorder: StoreRecorder, apps: dict[str, Flask]
) -> None:
    driven = routes_driven()
    answered = set().union(*(url_map_routes(name, app) for name, app in apps.items()))
    table = {(service, method, rule) for service, calls in driven.items() for method, rule in calls}
    assert answered <= table, f"routes no request of this test drives (add them to routes_driven): {answered - table}"
    assert table <= answered, f"routes this test drives that no app answers: {table - answered}"

    ctx = context(busy_stack)
    sender = Sender(busy_stack, apps)
    recorder.take()
    evidence: list[str] = []
    offending: dict[Route, list[str]] = {}
    for service, calls in driven.items():
        for (method, rule), sends in calls.items():
            for call in sends:
                resp = sender.send(service, method, call, ctx)
                commands = recorder.take()
                path = path_of(call, ctx)
                assert resp.status_code < 500, f"{service} {method} {path}: {resp.status_code} {resp.data[:300]!r}"
                if call.keep is not None:
                    call.keep(resp, ctx)
                evidence.append(f"{service} {method} {rule}  ({path} → {resp.status_code}, {len(commands)} commands)")
                evidence += [f"    {'ok ' if c.by_equality() else 'SCAN'} {c}" for c in commands]
                bad = [f"{path}: {c}" for c in commands if not c.by_equality()]
                if bad:
                    offending.setdefault((service, method, rule), []).extend(bad)
    report = "\n".join(evidence)
    print(report)
    (ROOT / "var" / "test").mkdir(parents=True, exist_ok=True)
    (ROOT / "var" / "test" / "store-queries.txt").write_text(report + "\n", encoding="utf-8")
    flagged = offending
    assert not flagged, "request handlers reading or writing without an equality filter:\n" + "\n".join(
        f"{' '.join(route)}:\n    " + "\n    ".join(bad) for route, bad in flagged.items()
    )


def context(stack: TestStack) -> dict[str, str]:
    """What some routes need from the stack's data: the business time, a notification and an inbox item."""
    ledger = notifications(stack, "agency=H_TRACU")
    token = issue_token(stack.secret, sub=FOCAL, role="agency", agency="H_TRACU")
    inbox = requests.get(stack.url("notifier", "/api/v1/inbox"), headers={"Authorization": f"Bearer {token}"},
                         timeout=15).json()["items"]  # fmt: skip
    assert inbox, "the focal person of H_TRACU has no inbox item"
    return {
        "now": stack.clock()["now"],
        "notification": urllib.parse.quote(ledger[0]["id"], safe=""),
        "inbox": urllib.parse.quote(inbox[0]["id"], safe=""),
    }


def test_a_correction_at_revision_50_costs_what_it_costs_at_revision_2(
    busy_stack: TestStack, recorder: StoreRecorder, apps: dict[str, Flask]
) -> None:
    sender = Sender(busy_stack, apps)
    unit = api("agency", "STP")
    report = f"/api/v1/reports/STP/{H1}"
    first = Call("/api/v1/reports", unit, json={"agency": "STP", "period": H1, "indicators": {"tcd_luot": 1}})
    assert sender.send("intake", "POST", first, {}).status_code == 201
    costs: dict[int, dict[str, int]] = {}
    for revision in range(2, 51):
        fix = Call(
            report, unit, json={"indicators": {"tcd_luot": revision}}, headers={"Idempotency-Key": f"r{revision}"}
        )
        recorder.take()
        resp = sender.send("intake", "PUT", fix, {})
        put = recorder.take()
        assert resp.status_code == 200 and resp.get_json()["revision"] == revision, resp.data[:300]
        got = sender.send("intake", "GET", Call(report, SNV), {})
        get = recorder.take()
        assert got.get_json()["revision"] == revision
        costs[revision] = {"PUT reads": report_reads(put), "GET reads": report_reads(get)}
    print(f"store reads at revision 2: {costs[2]}, at revision 50: {costs[50]}")
    assert costs[50] == costs[2], costs


def report_reads(commands: list[Command]) -> int:
    """The reads of a report's revisions (the rate limiter's reads, which depend on other requests, left out)."""
    return sum(c.name == "find" and c.collection in ("reports", "report_heads") for c in commands)


def test_a_head_left_behind_or_missing_still_finds_the_latest_revision(
    busy_stack: TestStack, apps: dict[str, Flask]
) -> None:
    sender = Sender(busy_stack, apps)
    unit, report = api("agency", "H_TIEUCAN"), f"/api/v1/reports/H_TIEUCAN/{H1}"
    for n in (2, 3):
        fix = Call(report, unit, json={"indicators": {"tcd_luot": n}})
        assert sender.send("intake", "PUT", fix, {}).get_json()["revision"] == n
    client: MongoClient[dict[str, Any]] = MongoClient(busy_stack.space.mongo_url)
    try:
        db = client[f"{busy_stack.space.prefix}intake"]
        first = db["reports"].find_one({"_id": f"H_TIEUCAN:{H1}:1"}, {"event": 0, "more_events": 0, "pending": 0})
        assert first is not None
        # a crash after revisions 2 and 3 were stored, before their heads were written
        db["report_heads"].replace_one({"_id": f"H_TIEUCAN:{H1}"}, {**first, "_id": f"H_TIEUCAN:{H1}"})
        assert sender.send("intake", "GET", Call(report, SNV), {}).get_json()["revision"] == 3
        fix = Call(report, unit, json={"indicators": {"tcd_luot": 4}})
        assert sender.send("intake", "PUT", fix, {}).get_json()["revision"] == 4  # no conflict, nothing skipped
        assert db["report_heads"].find_one({"_id": f"H_TIEUCAN:{H1}"})["revision"] == 4  # written forward
        db["report_heads"].delete_one({"_id": f"H_TIEUCAN:{H1}"})  # a report stored before heads existed
        got = sender.send("intake", "GET", Call(report, SNV), {}).get_json()
        assert (got["revision"], got["content"]["indicators"]["tcd_luot"]) == (4, 4)
    finally:
        client.close()
