"""Intake's identity routes (F13): login and logout (API and pages), the session cookies, the home page."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, make_response, redirect, render_template, request
from marshmallow import fields, validate

from services.intake import handlers
from services.intake.accounts.domain import (
    MAX_EMAIL,
    MAX_PASSWORD,
    MIN_PASSWORD,
    AccountLocked,
    InvalidAccount,
    LoginFailed,
    check_password,
    nfc,
    normalize_email,
)
from services.intake.bootstrap import Dependencies
from services.intake.schemas import VietSchema
from shared import web
from shared.auth import Principal, csrf_digest
from shared.formatting import vn_datetime
from shared.navigation import ROLE_LABELS, landing, safe_next
from shared.ratelimit import RateLimited

# The login form's own CSRF token, before any session exists: an HMAC of a random nonce kept in this cookie.
LOGIN_NONCE_COOKIE = "dvcq_login"
LOGIN_NONCE_SECONDS = 2 * 3600

# the pages' style sheet is a static file, since the CSP (shared.web.security_headers) allows no inline style
bp = Blueprint(
    "accounts",
    __name__,
    root_path=str(Path(__file__).resolve().parent.parent),
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


class LoginSchema(VietSchema):
    """E-mail and password."""

    email = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_EMAIL, error="Địa chỉ thư điện tử: từ 1 đến {max} ký tự."),
        error_messages={"required": "Địa chỉ thư điện tử (email): bắt buộc.", "invalid": "Phải là chuỗi ký tự."},
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_PASSWORD, error="Mật khẩu: từ 1 đến {max} ký tự."),
        error_messages={"required": "Mật khẩu (password): bắt buộc.", "invalid": "Phải là chuỗi ký tự."},
    )


class SessionSchema(VietSchema):
    """A login's answer: the bearer token (also set as the session cookie) and who logged in."""

    token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    role = fields.String()
    agency = fields.String(allow_none=True)
    name = fields.String()
    csrf_token = fields.String()


def _deps() -> Dependencies:
    return web.deps()


def _https() -> bool:
    # Trusting X-Forwarded-Proto only ever adds the Secure flag, which cannot weaken a cookie.
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.is_secure or forwarded == "https"


def _start_session(resp: Response, token: str) -> None:
    """Set the session cookie (the signed token, HttpOnly) and the CSRF cookie (readable by the page's scripts)."""
    ttl, secure = web.settings().token_ttl_seconds, _https()
    resp.set_cookie(web.SESSION_COOKIE, token, max_age=ttl, path="/", secure=secure, httponly=True, samesite="Lax")
    resp.set_cookie(
        web.CSRF_COOKIE, web.csrf_token_for(token), max_age=ttl, path="/", secure=secure, httponly=False, samesite="Lax"
    )
    resp.headers["Cache-Control"] = "no-store"


def _end_session(resp: Response) -> None:
    secure = _https()
    resp.delete_cookie(web.SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
    resp.delete_cookie(web.CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="Lax")


def _count_password_attempt(email: str) -> None:
    """Count a password check against the client address's and the account's login limits (RateLimited when
    either window is full: nothing is checked or recorded)."""
    limits = web.rate_limits()
    web.rate_limit(limits.login_address, web.client_address())
    web.rate_limit(limits.login_account, normalize_email(email)[:MAX_EMAIL])


def _login(email: str, password: str) -> handlers.Session:
    """Count the attempt against the login limits, then check the password."""
    _count_password_attempt(email)
    conf = web.settings()
    return handlers.login(email, password, users=_deps().users, secret=conf.secret, ttl_seconds=conf.token_ttl_seconds)


@bp.post("/api/v1/login")
@web.document(response_schema=SessionSchema)
@web.accepts(LoginSchema, message="Thông tin đăng nhập không hợp lệ.")
def api_login(body: dict[str, Any]) -> Response:
    """Log in with e-mail and password: a signed token, also set as the session cookie with a CSRF token.

    Wrong e-mail or password: 401 with one message for both. 5 failed logins lock the account for 15 minutes:
    429 with Retry-After, even with the right password. Attempts are also limited per account and per client
    address in a window (DVCQ_LOGIN_*): 429 with Retry-After until the window ends.
    """
    data = body
    try:
        session = _login(data["email"], data["password"])
    except LoginFailed as exc:
        raise web.ApiError(401, exc.message, code="login_failed") from None
    except AccountLocked as exc:
        raise web.ApiError(429, exc.message, code="locked", headers={"Retry-After": str(exc.retry_after)}) from None
    user = session.user
    resp = jsonify(
        {
            "token": session.token,
            "token_type": "Bearer",
            "expires_in": web.settings().token_ttl_seconds,
            "role": user.role,
            "agency": user.agency,
            "name": user.name,
            "csrf_token": web.csrf_token_for(session.token),
        }
    )
    _start_session(resp, session.token)
    return resp


@bp.post("/api/v1/logout")
def api_logout() -> Response:
    """Log out: revoke the session's token (the bearer's, else the cookie's) at every service and clear the
    session and CSRF cookies (a valid cookie session must send its CSRF token)."""
    who = web.cookie_principal()
    if request.headers.get("Authorization"):
        _revoke(web.authenticate())
    elif who is not None:
        web.check_csrf(who)
    if who is not None:
        _revoke(who)
    resp = jsonify({"logged_out": True})
    _end_session(resp)
    return resp


def _revoke(who: Principal) -> None:
    """Refuse this token from now on, at every service (shared.revocation), until it would have expired."""
    listed = web.revocations()
    if listed is not None and who.jti and who.expires_at:
        listed.revoke(who.jti, who.expires_at)


def _login_page(
    error: str | None = None, email: str = "", status: int = 200, *, next_page: str | None = None, **headers: str
) -> Response:
    """The login page with a fresh form nonce (and the page to return to, kept across a failed attempt)."""
    nonce = secrets.token_urlsafe(24)
    kept = next_page if next_page is not None else safe_next(request.form.get("next")) or ""
    html = render_template(
        "login.html",
        error=error,
        email=email,
        next_page=kept,
        csrf_token=csrf_digest(web.settings().secret, f"login:{nonce}"),
    )
    resp = make_response(html, status)
    resp.set_cookie(
        LOGIN_NONCE_COOKIE,
        nonce,
        max_age=LOGIN_NONCE_SECONDS,
        path="/login",
        secure=_https(),
        httponly=True,
        samesite="Lax",
    )
    resp.headers["Cache-Control"] = "no-store"
    resp.headers.update(headers)
    return resp


def _after_login(role: str, asked: str | None) -> str:
    """Where a login sends the person: the page they asked for (`next`, a local path of the one address), else
    their role's landing page (shared.navigation)."""
    return safe_next(asked) or landing(role, web.settings().public_urls)


@bp.get("/login")
def login_page() -> Response:
    """The login page (Vietnamese; `next`: the page to return to); a logged-in person goes on at once."""
    who = web.cookie_principal()
    if who is not None:
        return redirect(_after_login(who.role, request.args.get("next")), 303)
    return _login_page(next_page=safe_next(request.args.get("next")) or "")


@bp.post("/login")
def login_form() -> Response:
    """The login form: on success the session cookies are set and the browser goes to `/`."""
    email = nfc(request.form.get("email", "")).strip()[:MAX_EMAIL]
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE, "")
    expected = csrf_digest(web.settings().secret, f"login:{nonce}")
    given = request.form.get(web.CSRF_FIELD, "")
    if not nonce or not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return _login_page("Trang đăng nhập đã hết hạn. Vui lòng đăng nhập lại.", email, 403)
    password = request.form.get("password", "")
    if not email or not password:
        return _login_page("Vui lòng nhập địa chỉ thư điện tử và mật khẩu.", email, 422)
    try:
        session = _login(email, password)
    except LoginFailed as exc:
        return _login_page(exc.message, email, 401)
    except (AccountLocked, RateLimited) as exc:
        return _login_page(exc.message, email, 429, **{"Retry-After": str(exc.retry_after)})
    resp = redirect(_after_login(session.user.role, request.form.get("next")), 303)
    _start_session(resp, session.token)
    resp.delete_cookie(LOGIN_NONCE_COOKIE, path="/login", secure=_https(), httponly=True, samesite="Lax")
    return resp


@bp.post("/logout")
def logout_form() -> Response:
    """The logout button: clear the cookies and go to the login page."""
    who = web.cookie_principal()
    if who is not None:
        try:
            web.check_csrf(who)
        except web.ApiError:
            return redirect("/", 303)  # a stale page: show a fresh one (with the right token) instead
        _revoke(who)
    resp = redirect("/login", 303)
    _end_session(resp)
    return resp


# --- the account page -------------------------------------------------------------------------------------------

HUMAN_ROLES = ("agency", "home_affairs", "leadership", "observer", "admin")  # who logs in with a password
PASSWORD_CHANGED = "Đã đổi mật khẩu. Lần đăng nhập sau dùng mật khẩu mới."


def _account_page(
    who: Principal,
    *,
    notice: str | None = None,
    problem: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The person's account: who they are, their role and unit, when the session ends, the password form."""
    d = _deps()
    user = d.users.get(who.sub)
    unit = d.rt.plan_of(who.agency).unit(who.agency) if who.agency else None
    expires = vn_datetime(datetime.fromtimestamp(who.expires_at, UTC)) if who.expires_at else ""
    resp = make_response(
        render_template(
            "account.html",
            name=user.name if user else who.sub,
            email=who.sub,
            role_label=ROLE_LABELS.get(who.role, who.role),
            unit=unit.name if unit else None,
            expires=expires,
            min_password=MIN_PASSWORD,
            csrf_token=web.page_csrf_token(),
            notice=notice,
            problem=problem,
            errors=errors or {},
        ),
        status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/account")
@web.login_required(roles=HUMAN_ROLES)
def account_page() -> Response:
    """The person's account page (`?done=password` after a change)."""
    done = PASSWORD_CHANGED if request.args.get("done") == "password" else None
    return _account_page(web.principal(), notice=done)


@bp.post("/account/password")
@web.login_required(roles=HUMAN_ROLES)
def password_form() -> Response:
    """Change one's password: the current one is checked as a login is (a wrong one counts towards the account's
    lockout and the login limits), the new one twice; 303 back to the account page when done."""
    who = web.principal()
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    errors = {}
    if not current:
        errors["current_password"] = "Vui lòng nhập mật khẩu hiện tại."
    try:
        check_password(new)
    except InvalidAccount as exc:
        errors["new_password"] = exc.message
    if nfc(new) != nfc(request.form.get("confirm_password", "")):
        errors["confirm_password"] = "Hai lần nhập mật khẩu mới không khớp."
    if not errors:
        try:
            _count_password_attempt(who.sub)
            handlers.change_password(who.sub, current, new, users=_deps().users)
        except InvalidAccount as exc:
            errors[exc.field or "new_password"] = exc.message
        except LoginFailed:
            errors["current_password"] = "Mật khẩu hiện tại không đúng."
        except (AccountLocked, RateLimited) as exc:
            resp = _account_page(who, problem=exc.message, status=429)
            resp.headers["Retry-After"] = str(exc.retry_after)
            return resp
    if errors:
        return _account_page(who, problem="Chưa đổi được mật khẩu: vui lòng sửa các mục được đánh dấu.", errors=errors,
                             status=422)  # fmt: skip
    return redirect("/account?done=password", 303)


def home() -> Response:
    """The home page for a browser (Vietnamese, after login); the service's description as JSON otherwise."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
        resp = make_response(current_app.extensions["dvcq.json_index"]())
        resp.vary.add("Accept")
        return resp
    who = web.cookie_principal()
    if who is None:
        resp = redirect("/login", 303)
        resp.vary.add("Accept")
        return resp
    user = _deps().users.get(who.sub)
    unit = _deps().rt.plan_of(who.agency).unit(who.agency) if who.agency else None
    html = render_template(
        "home.html",
        name=user.name if user else who.sub,
        role_label=ROLE_LABELS.get(who.role, who.role),
        unit=unit.name if unit else None,
        csrf_token=web.csrf_token_for(request.cookies.get(web.SESSION_COOKIE, "")),
        **current_app.extensions.get("dvcq.home_context", lambda _who: {})(who),
    )
    resp = make_response(html)
    resp.headers["Cache-Control"] = "no-store"
    resp.vary.add("Accept")
    return resp


def register_accounts(app: Flask) -> None:
    """Add the identity routes; `/` becomes the home page for browsers and keeps its JSON for other clients."""
    app.register_blueprint(bp)
    web.shared_assets(app, "/assets")
    app.extensions["dvcq.json_index"] = app.view_functions["index_page"]
    app.view_functions["index_page"] = home
