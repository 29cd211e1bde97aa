"""The HTTP base every service shares: one JSON error shape, safe JSON bodies, authentication, health,
Prometheus metrics and the OpenAPI document.

Errors are `{"error": {"code", "message", "fields"}}` with Vietnamese messages, since a person reads them.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, g, has_request_context, jsonify, request
from jinja2 import ChoiceLoader, FileSystemLoader
from marshmallow import Schema, ValidationError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from werkzeug.exceptions import HTTPException

from shared.auth import InvalidToken, Principal, csrf_digest, verify_token
from shared.clients import ServiceClient, unread_count
from shared.edge import route_for
from shared.errors import DomainError
from shared.jsontext import forbidden_key, json_depth_exceeds, not_text
from shared.logs import configure, set_correlation
from shared.navigation import ROLE_LABELS, NavLink, header_links, landing
from shared.paging import DEFAULT_LIMIT, MAX_LIMIT, BadCursor, Page, PageRequest, decode_cursor, encode_cursor, is_text
from shared.plan import Plan
from shared.ratelimit import Limit, RateLimited, RateLimiter, RateLimits
from shared.registry import registered_description, services
from shared.revocation import RevocationList
from shared.settings import Settings
from shared.store import STORE_ERRORS

log = logging.getLogger(__name__)

SESSION_COOKIE = "dvcq_session"
CSRF_COOKIE = "dvcq_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
CSRF_MESSAGE = "Thiếu hoặc sai mã chống giả mạo yêu cầu (CSRF). Vui lòng tải lại trang rồi thử lại."
F = TypeVar("F", bound=Callable[..., Any])

REQUESTS = Counter("dvcq_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram("dvcq_http_request_seconds", "HTTP request latency", ["service", "method", "route"])

MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa xác thực: thiếu hoặc sai mã truy cập (token).",
    403: "Không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ cho địa chỉ này.",
    409: "Xung đột với dữ liệu đã có.",
    413: "Nội dung yêu cầu vượt quá dung lượng cho phép.",
    415: "Định dạng nội dung không được hỗ trợ: cần Content-Type application/json.",
    422: "Dữ liệu không hợp lệ.",
    429: "Quá nhiều yêu cầu, vui lòng thử lại sau.",
    503: "Dịch vụ tạm thời không sẵn sàng, vui lòng thử lại sau.",
}
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answered as JSON with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or MESSAGES.get(status, ""))
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message or MESSAGES.get(status, "Lỗi.")
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(err: ApiError) -> Response:
    """Render an ApiError in the one JSON error shape."""
    resp = jsonify({"error": {"code": err.code, "message": err.message, "fields": err.fields}})
    resp.status_code = err.status
    for key, value in err.headers.items():
        resp.headers[key] = value
    return resp


def settings() -> Settings:
    """The settings of the running app."""
    found: Settings = current_app.extensions["dvcq.settings"]
    return found


def deps() -> Any:
    """The dependencies `create_app` built for this worker."""
    return current_app.extensions["dvcq.deps"]


def plan_arg() -> Plan | None:
    """The plan the request names by the query parameter `plan` (an id of the stack's plans, with its latest unit
    list; 404 for another), None when it names none: the view then takes its default (`Runtime.plan`)."""
    asked = query_arg("plan")
    if not asked:
        return None
    plan: Plan | None = deps().rt.plan_named(asked)
    if plan is None:
        raise ApiError(404, f"Không có kế hoạch '{asked}'.", fields={"plan": "Không có kế hoạch này."})
    return plan


# --- request bodies -------------------------------------------------------------------------------------


def nfc_deep(value: Any) -> Any:
    """Normalise every string (keys and values) to Unicode NFC."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {nfc_deep(k): nfc_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc_deep(v) for v in value]
    return value


def json_body() -> dict[str, Any]:
    """The request's JSON object: content type, size, depth and hostile keys checked, strings in NFC."""
    conf = settings()
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415)
    if request.content_length is not None and request.content_length > conf.max_body_bytes:
        raise ApiError(413, f"Nội dung yêu cầu vượt quá {conf.max_body_bytes} byte.")
    raw = request.get_data(cache=True)
    if len(raw) > conf.max_body_bytes:
        raise ApiError(413, f"Nội dung yêu cầu vượt quá {conf.max_body_bytes} byte.")
    if json_depth_exceeds(raw, conf.max_json_depth):
        raise ApiError(400, f"Dữ liệu JSON lồng nhau quá sâu (tối đa {conf.max_json_depth} cấp).", code="too_deep")
    try:
        body = json.loads(raw.decode("utf-8"))
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # lone surrogates ("\ud800") are not text
    except (UnicodeError, ValueError):
        raise ApiError(400, "Nội dung yêu cầu không phải JSON hợp lệ (UTF-8).", code="malformed_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Nội dung yêu cầu phải là một đối tượng JSON.", code="malformed_json")
    bad = forbidden_key(body)
    if bad:
        raise ApiError(
            400,
            "Tên trường không được bắt đầu bằng '$' hoặc chứa dấu chấm.",
            code="forbidden_key",
            fields={bad: "Tên trường không hợp lệ."},
        )
    refuse_control_characters(body)
    normalised: dict[str, Any] = nfc_deep(body)
    return normalised


NOT_TEXT_MESSAGE = (
    "Văn bản chứa ký tự điều khiển không được phép (như NUL); hãy gõ lại hoặc dán dưới dạng văn bản thường."
)


def refuse_control_characters(value: Any, field: str = "") -> None:
    """400 naming the field when a string of `value` holds a character that is no text (`jsontext.NOT_TEXT`):
    the store could not keep it, or the signed document could not print it, so it is refused at the edge."""
    found = not_text(value, field)
    if found is not None:
        name = found or "body"
        raise ApiError(400, NOT_TEXT_MESSAGE, code="control_character", fields={name: NOT_TEXT_MESSAGE})


def refuse_control_characters_in_request() -> None:
    """The same check on the request's path, query parameters and form fields (a JSON body is checked by
    `json_body`), before any view reads them: a page's form then answers 400 JSON, which no browser sends."""
    refuse_control_characters(request.path, "path")
    pairs = list(request.args.items(multi=True))
    if request.mimetype in FORM_MIMETYPES:
        pairs += request.form.items(multi=True)
    for name, value in pairs:
        refuse_control_characters({name: value})


# --- authentication -------------------------------------------------------------------------------------


def authenticate() -> Principal:
    """The caller, from the bearer header or the session cookie; 401 when absent or invalid.

    A cookie-authenticated unsafe request (POST, PUT, PATCH, DELETE) must also carry the session's CSRF token
    (header `X-CSRF-Token` or form field `csrf_token`), else 403 `csrf`; a bearer header needs none, since a
    foreign page cannot make the browser send one.
    """
    header = request.headers.get("Authorization", "")
    from_cookie = header[:7].lower() != "bearer "
    token = request.cookies.get(SESSION_COOKIE) if from_cookie else header[7:].strip()
    if not token:
        raise ApiError(401, headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = unrevoked(verify_token(settings().secret, token))
    except InvalidToken:
        raise ApiError(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    if from_cookie and request.method in UNSAFE_METHODS:
        check_csrf(principal)
    if "principal" not in g:  # one request counts once against its subject's API limit
        rate_limit(rate_limits().api, principal.sub)
    g.principal = principal
    return principal


# --- rate limits ----------------------------------------------------------------------------------------


def rate_limits() -> RateLimits:
    """The limits of the running app (from its settings)."""
    limits: RateLimits = current_app.extensions["dvcq.rate_limits"]
    return limits


def rate_limit(limit: Limit, key: str) -> None:
    """Count this request against `limit` for `key` in the service's own store, shared by every worker and
    replica; RateLimited (answered 429 with Retry-After) when the window is full. An app built without a
    runtime (a unit test's) counts nothing."""
    limiter: RateLimiter | None = getattr(getattr(deps(), "rt", None), "limiter", None)
    if limiter is not None:
        limiter.hit(limit, key)


def forwarded_client(remote: str, forwarded_for: Iterable[str], trusted: Iterable[str]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the rightmost address of
    X-Forwarded-For that is not a trusted proxy (the left part of the header is whatever the client sent)."""
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if not is_trusted(remote):
        return remote
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop[:64]
    return hops[0][:64] if hops else remote


def client_address() -> str:
    """The address of the client of this request: `request.remote_addr`, or X-Forwarded-For when the peer is one
    of DVCQ_TRUSTED_PROXIES (the reverse proxy, issue 15)."""
    remote = request.remote_addr or ""
    return forwarded_client(remote, request.headers.getlist("X-Forwarded-For"), settings().trusted_proxies)


def security_headers(conf: Settings) -> dict[str, str]:
    """Headers on every response of every service: no framing, no MIME sniffing, and a CSP that allows only the
    service's own style sheets and images (the pages have no script and no inline style) and forms that post to
    the service itself or to the service that hosts the login (the board's logout button)."""
    hosts = [svc.name for svc in services() if svc.hosts_login]
    login = urlsplit(conf.public_urls.get(hosts[0], "") if hosts else "")
    login_origin = f"{login.scheme}://{login.netloc}" if login.scheme and login.netloc else ""
    policy = (
        f"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' {login_origin}".rstrip()
        + "; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def csrf_token_for(token: str) -> str:
    """The CSRF token that goes with a session token (HMAC of its `jti` with the secret); "" for a bad token."""
    secret = settings().secret
    try:
        jti = verify_token(secret, token).jti
    except InvalidToken:
        return ""
    return csrf_digest(secret, jti) if jti else ""


def check_csrf(principal: Principal) -> None:
    """403 `csrf` unless the request carries the CSRF token of `principal`'s session (header or form field)."""
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.mimetype in FORM_MIMETYPES:
        given = request.form.get(CSRF_FIELD)
    expected = csrf_digest(settings().secret, principal.jti) if principal.jti else None
    if not given or not expected or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(403, CSRF_MESSAGE, code="csrf")


def requires(*roles: str) -> Callable[[F], F]:
    """Let the view run only for an authenticated caller holding one of `roles`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if principal.role not in roles:
                raise ApiError(403)
            return view(*args, **kwargs)

        wrapper._openapi_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def principal() -> Principal:
    """The authenticated caller of the current request."""
    who: Principal = g.principal
    return who


# --- pages ----------------------------------------------------------------------------------------------
# A page answers a person in a browser, so a refusal is a page (a redirect to the login page, a "no right" page),
# never the JSON error: each service says how through `app.extensions["dvcq.page_refusal"]`.

PageRefusal = Callable[[str, Principal | None], Response]
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def cookie_principal() -> Principal | None:
    """The person of a valid session cookie (not logged out), or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return unrevoked(verify_token(settings().secret, token))
    except InvalidToken:
        return None


def revocations() -> RevocationList | None:
    """The revocation list of the running app (None for an app built without a runtime: a unit test's)."""
    found: RevocationList | None = getattr(getattr(deps(), "rt", None), "revocations", None)
    return found


def unrevoked(principal: Principal) -> Principal:
    """The principal, unless its token was logged out (`shared.revocation`): then InvalidToken."""
    listed = revocations()
    if principal.jti and listed is not None and listed.is_revoked(principal.jti):
        raise InvalidToken("the session was logged out")
    return principal


def session_token() -> str:
    """The session cookie's token ("" without one), which pages pass on when they call another service."""
    return request.cookies.get(SESSION_COOKIE, "")


def page_csrf_token() -> str:
    """The CSRF token a page puts in its forms: the one of the person's session ("" without one)."""
    return csrf_token_for(session_token())


def login_required(roles: Iterable[str] | None = None) -> Callable[[F], F]:
    """Pages: run the view for a logged-in person holding one of `roles` (any role when None), then in
    `principal()`; a posted form must carry the session's CSRF token.

    Otherwise the service's refusal page answers: `app.extensions["dvcq.page_refusal"](reason, who)` with reason
    "login" (no valid session), "role" or "csrf".
    """
    allowed = None if roles is None else frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refuse: PageRefusal = current_app.extensions["dvcq.page_refusal"]
            who = cookie_principal()
            if who is None:
                return refuse("login", None)
            if allowed is not None and who.role not in allowed:
                return refuse("role", who)
            if request.method in UNSAFE_METHODS:
                try:
                    check_csrf(who)
                except ApiError:
                    return refuse("csrf", who)
            g.principal = who
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def is_day(text: str) -> bool:
    """True for a calendar day written YYYY-MM-DD (what an `input type=date` sends)."""
    if not DAY.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def document(*, response_schema: Any = None, query: Iterable[str] = (), status: int = 200) -> Callable[[F], F]:
    """Attach the OpenAPI response schema, query parameters and success status to a view (its request body is
    declared by `accepts`, which also enforces it; its query parameters are read with `query_arg`)."""

    def decorate(view: F) -> F:
        _openapi_meta(view).update({"response": response_schema, "query": tuple(query), "status": status})
        return view

    return decorate


def _openapi_meta(view: Callable[..., Any]) -> dict[str, Any]:
    """The view's OpenAPI metadata, shared by `document` and `accepts` in whichever order they decorate it."""
    meta: dict[str, Any] = view.__dict__.setdefault("_openapi", {})
    return meta


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as {"indicators.tcd_luot": "message"}."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                out[path] = " ".join(value)
            else:
                out.update(flatten_errors(value, path))
    elif isinstance(messages, list):
        out[prefix] = " ".join(str(m) for m in messages)
    return out


UNKNOWN_FIELD = ["Unknown field."]  # marshmallow's message for a field a RAISE schema does not declare


def accepts(
    schema: type[Schema],
    *,
    message: str = MESSAGES[422],
    read: Callable[[], dict[str, Any]] = json_body,
    unknown: str | None = None,
    before: Callable[..., object] | None = None,
    load: bool = True,
) -> Callable[[F], F]:
    """Declare the view's request body once: /openapi.json documents `schema`, and the body (`read()`, by default
    `json_body()`) is loaded with that same schema and handed to the view as the keyword argument `body`.

    A body the schema refuses is 422 `message` with one Vietnamese message per field (dotted paths for nested
    fields; `unknown` replaces marshmallow's "Unknown field." when given). `before(**url_args)`, when given, runs
    first: a check of the address or the service's state whose error answers before any about the body.

    `load=False` is only for a body whose real schema is built at request time (intake's report bodies, checked
    against the unit's template by `build_report_schema`): `schema` then documents the general shape, as a generic
    body, and the view reads (`json_body()`) and validates the body itself, with no `body` argument.
    """

    def decorate(view: F) -> F:
        if not load:
            _openapi_meta(view).update({"request": schema, "loads": False})
            return view

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if before is not None:
                before(*args, **kwargs)
            try:
                data = schema().load(read())
            except ValidationError as exc:
                messages = exc.messages
                if unknown is not None and isinstance(messages, dict):
                    messages = {k: [unknown] if v == UNKNOWN_FIELD else v for k, v in messages.items()}
                raise ApiError(422, message, fields=flatten_errors(messages)) from None
            return view(*args, body=data, **kwargs)

        _openapi_meta(wrapper).update({"request": schema, "loads": True})
        return wrapper  # type: ignore[return-value]

    return decorate


@overload
def query_arg(name: str) -> str | None: ...
@overload
def query_arg(name: str, default: str) -> str: ...
def query_arg(name: str, default: str | None = None) -> str | None:
    """The query parameter `name` of this request (else `default`), which the view must list in
    `document(query=...)`: so /openapi.json names every parameter a view reads (else LookupError, a bug)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if name not in getattr(view, "_openapi", {}).get("query", ()):
        raise LookupError(f"{request.endpoint} reads the query parameter {name!r} without documenting it")
    return request.args.get(name, default)


PAGE_QUERY = ("limit", "cursor")  # the query parameters of every list endpoint (add them to `document(query=)`)


def limit_arg(default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """The `limit` query parameter: a whole number from 1 to `maximum` (else 400 naming `limit`), else `default`."""
    text = query_arg("limit") or ""
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or not 1 <= int(text) <= maximum:
        message = f"limit phải là số nguyên từ 1 đến {maximum}."
        raise ApiError(400, message, fields={"limit": f"Từ 1 đến {maximum}."})
    return int(text)


def page_request(shape: Callable[[Any], bool] = is_text, *, default: int = DEFAULT_LIMIT) -> PageRequest:
    """The page a list endpoint is asked for: `limit` (default 50, at most 500) and `cursor`, the `next` of the
    previous answer (absent: the first page). A cursor that does not decode to a key of this list's `shape`
    (by default an `_id`, a string) is 400 naming `cursor`."""
    limit = limit_arg(default)
    cursor = query_arg("cursor") or ""
    if not cursor:
        return PageRequest(limit)
    try:
        after = decode_cursor(cursor)
    except BadCursor:
        after = None
    if after is None or not shape(after):
        message = "cursor không hợp lệ: dùng giá trị next của trang trước."
        raise ApiError(400, message, fields={"cursor": "Không hợp lệ."})
    return PageRequest(limit, after)


def paged(page: Page[Any], items: list[Any] | None = None, **extra: Any) -> Response:
    """The one answer of a list endpoint: `{"items": [...], "next": <cursor or null>, ...extra}` (`items` given
    when the page's items are shown otherwise than as stored)."""
    cursor = encode_cursor(page.next) if page.next is not None else None
    return jsonify({"items": page.items if items is None else items, "next": cursor, **extra})


# --- the app --------------------------------------------------------------------------------------------


SHARED_TEMPLATES = Path(__file__).resolve().parent / "templates"
SHARED_STATIC = Path(__file__).resolve().parent / "static"


def shared_assets(app: Flask, prefix: str) -> None:
    """Serve what every page links (shared/static: the base and the header's style sheet, which
    `dvcq_base.html` names as `dvcq_shared.static`) under `<prefix>/shared`: a service's own asset prefix, which
    the one address routes to it."""
    shared = Blueprint("dvcq_shared", __name__, static_folder=str(SHARED_STATIC), static_url_path=f"{prefix}/shared")
    app.register_blueprint(shared)


UNREAD_TIMEOUT = 0.5  # seconds to connect and again to read: the header's count never holds a page up for long
UnreadCount = Callable[[Principal], int]  # a service's own count for an API path of its (`dvcq.unread_counts`)


def unread_of(path: str, who: Principal, service: str, conf: Settings) -> int | None:
    """The person's unread count the API at `path` gives: asked of this service itself when it serves that path
    (`app.extensions["dvcq.unread_counts"][path]`), else of the service the one address routes the path to, at
    its own address, with the session's token. None when it cannot be known: the badge is left out, the page
    never fails for it."""
    owner = route_for(path)
    try:
        if owner == service:
            local: UnreadCount | None = current_app.extensions.get("dvcq.unread_counts", {}).get(path)
            return local(who) if local is not None else None
        if owner is None or owner not in conf.service_urls:
            return None
        client = ServiceClient(conf.service_urls[owner], name=owner, timeout=UNREAD_TIMEOUT)
        return unread_count(client, path, session_token())
    except Exception as exc:  # a store or a service that does not answer costs the badge, not the page
        log.warning("unread count unavailable", extra={"path": path, "error": repr(exc)})
        return None


def header_links_with_counts(who: Principal, service: str, conf: Settings) -> list[NavLink]:
    """The header's links for the person, each with its unread count when its page declares one, asked once per
    request (a page that renders several templates asks once)."""
    if "dvcq_nav_links" not in g:
        links = header_links(who.role, service, request.path, conf.public_urls)
        g.dvcq_nav_links = [
            replace(link, unread=unread_of(link.unread_api, who, service, conf)) if link.unread_api else link
            for link in links
        ]
    found: list[NavLink] = g.dvcq_nav_links
    return found


def navigation_context(service: str, conf: Settings) -> dict[str, Any]:
    """What the shared header (`dvcq_header.html`, shared.navigation) needs on a page of `service`: the person of
    the session cookie, the links their role may use (with their unread counts), where the brand and the logout
    go."""
    who = cookie_principal() if has_request_context() else None
    hosts = [svc.name for svc in services() if svc.hosts_login]
    login_host = conf.public_urls.get(hosts[0], "") if hosts else ""
    return {
        "nav": {
            "who": who,
            "role_label": ROLE_LABELS.get(who.role, who.role) if who else "",
            "links": header_links_with_counts(who, service, conf) if who else [],
            "home": landing(who.role, conf.public_urls) if who else f"{login_host}/",
            "logout": f"{login_host}/logout",
            "account": f"{login_host}/account",  # the person's account page (the login's host keeps accounts)
            "account_current": who is not None and bool(hosts) and service == hosts[0] and request.path == "/account",
            "csrf_token": page_csrf_token() if who else "",
        }
    }


def create_service_app(
    service: str,
    conf: Settings,
    dependencies: Any,
    *,
    ready_checks: dict[str, Callable[[], Any]],
    info_checks: dict[str, Callable[[], Any]] | None = None,
    clients: dict[str, Callable[[], int | None]] | None = None,
    details: dict[str, Callable[[], Any]] | None = None,
    index: bool = True,
) -> Flask:
    """A Flask app with the shared error handling, health, metrics and OpenAPI routes.

    `ready_checks` must pass for /readyz to answer 200; `info_checks` are reported there but do not fail it
    (e.g. a service whose request path never waits on the broker stays ready while the broker is down).
    `details` add operational detail to /readyz under `detail` (dead letters, restarts, the ladder) without
    failing it, and refresh their gauges before each /metrics scrape.
    `index` serves a JSON description at `/` until the service has web pages of its own there.
    """
    app = Flask(f"dvcq.{service}")
    app.config["MAX_CONTENT_LENGTH"] = conf.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["dvcq.settings"] = conf
    app.extensions["dvcq.deps"] = dependencies
    app.extensions["dvcq.service"] = service
    app.extensions["dvcq.rate_limits"] = RateLimits.from_settings(conf)
    headers = security_headers(conf)
    # every service's pages extend their own base template, which includes the one header (shared/templates)
    app.jinja_env.loader = ChoiceLoader([app.create_global_jinja_loader(), FileSystemLoader(SHARED_TEMPLATES)])
    app.context_processor(lambda: navigation_context(service, conf))

    @app.errorhandler(RateLimited)
    def _rate_limited(err: RateLimited) -> Response:
        log.warning("rate limited", extra={"limit": err.limit.name, "retry_after": err.retry_after})
        return error_response(ApiError(429, err.message, headers={"Retry-After": str(err.retry_after)}))

    @app.after_request
    def _secure(resp: Response) -> Response:
        for key, value in headers.items():
            resp.headers.setdefault(key, value)
        return resp

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        if status == 413:
            return error_response(ApiError(413, f"Nội dung yêu cầu vượt quá {conf.max_body_bytes} byte."))
        if status == 400:
            return error_response(ApiError(400, "Yêu cầu không hợp lệ."))
        return error_response(ApiError(status))

    for exc_type in STORE_ERRORS:

        @app.errorhandler(exc_type)
        def _store_down(err: Exception) -> Response:
            log.warning("store unavailable", extra={"error": repr(err)})
            return error_response(ApiError(503, headers={"Retry-After": "5"}))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(ApiError(500, "Lỗi hệ thống. Vui lòng thử lại sau.", code="internal"))

    @app.before_request
    def _begin() -> None:
        g.started = time.perf_counter()
        rid = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        g.request_id = rid[:100]
        set_correlation(g.request_id)
        refuse_control_characters_in_request()

    @app.after_request
    def _finish(resp: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(service, request.method, route, str(resp.status_code)).inc()
        LATENCY.labels(service, request.method, route).observe(
            time.perf_counter() - g.get("started", time.perf_counter())
        )
        resp.headers["X-Request-ID"] = g.get("request_id", "")
        return resp

    if index:

        @app.get("/")
        def index_page() -> Response:
            """What this service is and where its API is described."""
            return jsonify(
                {
                    "service": service,
                    "description": registered_description(service),
                    "links": {
                        "health": "/healthz",
                        "ready": "/readyz",
                        "metrics": "/metrics",
                        "openapi": "/openapi.json",
                    },
                }
            )

    @app.get("/healthz")
    def healthz() -> Response:
        """Liveness: the process answers."""
        return jsonify({"status": "ok", "service": service})

    @app.get("/readyz")
    def readyz() -> Response | tuple[Response, int, dict[str, str]]:
        """Readiness: the broker and the store answer."""
        checks: dict[str, str] = {}
        ok = True
        for name, check in {**(info_checks or {}), **ready_checks}.items():
            try:
                check()
                checks[name] = "ok"
            except Exception as exc:  # any failure of a dependency means "not ready"
                checks[name] = f"unavailable: {exc.__class__.__name__}"
                ok = ok and name not in ready_checks
        body = {
            "status": "ready" if ok else "unavailable",
            "service": service,
            "checks": checks,
            "pid": os.getpid(),
            "clients_created_in_pid": {name: fn() for name, fn in (clients or {}).items()},
            "detail": _details(),
        }
        if ok:
            return jsonify(body)
        return jsonify(body), 503, {"Retry-After": "5"}

    def _details() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, detail in (details or {}).items():
            try:
                out[name] = detail()
            except Exception as exc:  # detail is informative: a failure shows, it never fails the probe
                out[name] = f"unavailable: {exc.__class__.__name__}"
        return out

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus metrics (aggregated over gunicorn workers in multiprocess mode)."""
        _details()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = REGISTRY
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    def openapi() -> Response:
        """The OpenAPI document of this service."""
        return jsonify(build_openapi(app, service))

    return app


def _runtime_checks(dependencies: Any) -> dict[str, Any]:
    checks: dict[str, Any] = dependencies.rt.web_checks()
    return checks


def service_app(
    service: str,
    conf: Settings | None,
    build: Callable[[Settings], Any],
    blueprint: Blueprint,
    errors: tuple[type[DomainError], Mapping[type[Exception], int]],
    *,
    events: Callable[[Any], Any] | None = None,
    checks: Callable[[Any], dict[str, Any]] = _runtime_checks,
) -> Flask:
    """A service's `create_app()`: settings (from the environment unless given), logging, `build(settings)`'s
    dependencies, the shared app (`checks(dependencies)`: its health checks), the service's `blueprint`, its domain
    errors (`errors`: the base class and the status table) and, for a producer, `GET /api/v1/events` from
    `events(dependencies)`."""
    conf = conf or Settings.from_env()
    configure(service, conf.log_level)
    dependencies = build(conf)
    app = create_service_app(service, conf, dependencies, **checks(dependencies))
    app.register_blueprint(blueprint)
    if events is not None:
        add_events_route(app, lambda: events(dependencies))
    register_domain_errors(app, *errors)
    return app


def build_openapi(app: Flask, service: str) -> dict[str, Any]:
    """Build the OpenAPI 3 document from the routes, their docstrings and attached schemas."""
    spec = APISpec(
        title=f"dvcq {service}",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.security_scheme("cookie", {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE})
    error = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object"},
                },
            }
        },
    }
    spec.components.schema("Error", error)
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        view = app.view_functions[rule.endpoint]
        path = rule.rule
        params = []
        for arg in rule.arguments:
            path = path.replace(f"<{arg}>", f"{{{arg}}}")
            for conv in ("string", "int", "path"):
                path = path.replace(f"<{conv}:{arg}>", f"{{{arg}}}")
            params.append({"name": arg, "in": "path", "required": True, "schema": {"type": "string"}})
        meta = getattr(view, "_openapi", {})
        for name in meta.get("query", ()):
            params.append({"name": name, "in": "query", "required": False, "schema": {"type": "string"}})
        doc = (view.__doc__ or "").strip().splitlines()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "summary": doc[0] if doc else rule.endpoint,
                "operationId": f"{rule.endpoint}_{method.lower()}",
                "parameters": params,
                "responses": {
                    str(meta.get("status", 200)): {"description": "OK"},
                    "default": {
                        "description": "Lỗi",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            }
            if len(doc) > 1:
                op["description"] = "\n".join(doc[1:]).strip()
            roles = getattr(view, "_openapi_roles", None)
            if roles:
                op["security"] = [{"bearer": []}, {"cookie": []}]
                op["description"] = (op.get("description", "") + f"\n\nRoles: {', '.join(roles)}").strip()
            if meta.get("request") is not None and method in ("POST", "PUT", "PATCH"):
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": meta["request"]}}}
            if meta.get("response") is not None:
                op["responses"][str(meta.get("status", 200))] = {
                    "description": "OK",
                    "content": {"application/json": {"schema": meta["response"]}},
                }
            paths.setdefault(path, {})[method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


FEED_LIMIT, FEED_MAX = 500, 1000  # a feed is read whole by replays and rebuilds: larger pages than a list's


def add_events_route(app: Flask, producer: Callable[[], Any]) -> None:
    """Serve `GET /api/v1/events?after=&limit=` from `producer()`, a store with `events(after=, limit=)`.

    A feed, not a list: `after` is an item's own `cursor` (the feed key consumers keep), and `next` stays the last
    cursor at the end (a consumer polls from it), where a list's `next` is null; `limit` is read as every list's.
    """

    @app.get("/api/v1/events")
    @requires("home_affairs", "admin", "service")
    @document(query=("after", "limit"))
    def list_events() -> Response:
        """Events this service has published, oldest first, after the cursor `after`."""
        limit = limit_arg(FEED_LIMIT, maximum=FEED_MAX)
        after = query_arg("after") or None
        events = producer().events(after=after, limit=limit)
        return jsonify({"items": events, "next": events[-1]["cursor"] if events else after})


def register_domain_errors(app: Flask, base: type[DomainError], statuses: Mapping[type[Exception], int]) -> None:
    """Answer a service's domain errors (subclasses of `base`, with `message` and `field` or `fields`) by one
    status table."""

    @app.errorhandler(base)
    def _domain_error(err: DomainError) -> Response:
        status = next((code for kind, code in statuses.items() if isinstance(err, kind)), 422)
        fields = getattr(err, "fields", None) or ({err.field: err.message} if err.field else {})
        return error_response(ApiError(status, err.message, fields=fields))
