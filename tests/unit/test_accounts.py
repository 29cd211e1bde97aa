"""Accounts and login (F13) through intake's handlers with a fake user store; the CSRF check of shared.web."""

from __future__ import annotations

import unicodedata

import pytest
from flask import Flask, jsonify

from services.intake import handlers
from services.intake.accounts.domain import (
    LOCK_SECONDS,
    AccountExists,
    AccountLocked,
    InvalidAccount,
    LoginAttempt,
    LoginFailed,
    locked_until,
)
from services.intake.domain import UnknownAgency
from shared.auth import csrf_digest, issue_token, verify_token
from shared.cli import main
from shared.plan import load_plan
from shared.settings import ROOT, Settings
from shared.web import SESSION_COOKIE, create_service_app, csrf_token_for, requires
from tests.unit.fakes import FakeUserStore

PLAN = load_plan(ROOT / "plans" / "tra-vinh-2019")
SECRET = "s" * 40
PASSWORD = "mật khẩu đúng 2019"
T0 = 1_700_000_000.0


class RealClock:
    """A stand-in for time.time that a test moves by hand."""

    def __init__(self, start: float = T0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def users() -> FakeUserStore:
    store = FakeUserStore()
    cmd = handlers.CreateUser("CanBo@CauKe.TraVinh.gov.vn", PASSWORD, "agency", "H_CAUKE", "Nguyễn Văn A")
    handlers.create_user(cmd, users=store, plan=PLAN)
    return store


def _login(users: FakeUserStore, password: str, clock: RealClock, email: str = "canbo@caukE.travinh.gov.vn"):
    return handlers.login(email, password, users=users, secret=SECRET, ttl_seconds=600, now=clock)


# --- accounts and passwords ---


def test_a_password_change_checks_the_current_one_and_the_new_one_then_only_the_new_one_logs_in(
    users: FakeUserStore,
) -> None:
    clock, email = RealClock(), "canbo@cauke.travinh.gov.vn"
    with pytest.raises(LoginFailed):
        handlers.change_password(email, "sai mật khẩu", "mật khẩu mới 2020", users=users, now=clock)
    assert users.attempt_log[-1].ok is False  # counted towards the lockout, as a login's failure
    with pytest.raises(InvalidAccount) as short:
        handlers.change_password(email, PASSWORD, "ngắn", users=users, now=clock)
    assert short.value.field == "new_password"
    assert _login(users, PASSWORD, clock).user.email == email  # nothing changed yet
    handlers.change_password(email, PASSWORD, "mật khẩu mới 2020", users=users, now=clock)
    assert _login(users, "mật khẩu mới 2020", clock).user.email == email
    with pytest.raises(LoginFailed):
        _login(users, PASSWORD, clock)


def test_a_locked_account_cannot_change_its_password_even_with_the_right_one(users: FakeUserStore) -> None:
    clock = RealClock()
    for _ in range(5):
        with pytest.raises(LoginFailed):
            _login(users, "sai mật khẩu", clock)
    with pytest.raises(AccountLocked):
        handlers.change_password("canbo@cauke.travinh.gov.vn", PASSWORD, "mật khẩu mới 2020", users=users, now=clock)


def test_an_account_keeps_an_argon2id_hash_never_the_password(users: FakeUserStore) -> None:
    user = users.users["canbo@cauke.travinh.gov.vn"]
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert (user.role, user.agency, user.name) == ("agency", "H_CAUKE", "Nguyễn Văn A")


def test_the_right_password_signs_a_token_for_the_person_and_the_unit(users: FakeUserStore) -> None:
    session = _login(users, PASSWORD, RealClock())
    principal = verify_token(SECRET, session.token)
    assert (principal.sub, principal.role, principal.agency) == ("canbo@cauke.travinh.gov.vn", "agency", "H_CAUKE")
    assert users.attempt_log[-1].ok is True


def test_a_password_typed_decomposed_matches_the_composed_one(users: FakeUserStore) -> None:
    decomposed = unicodedata.normalize("NFD", PASSWORD)
    assert decomposed != PASSWORD
    assert _login(users, decomposed, RealClock()).user.email == "canbo@cauke.travinh.gov.vn"


def test_the_email_is_stored_lower_case_in_nfc() -> None:
    store = FakeUserStore()
    email = unicodedata.normalize("NFD", "Trưởng.Phòng@SNV.TraVinh.gov.vn")
    user = handlers.create_user(handlers.CreateUser(email, PASSWORD, "home_affairs"), users=store, plan=PLAN)
    assert user.email == unicodedata.normalize("NFC", "trưởng.phòng@snv.travinh.gov.vn")
    assert user.name == user.email  # no display name given
    assert list(store.users) == [user.email]


def test_wrong_password_and_unknown_email_get_the_same_answer(users: FakeUserStore) -> None:
    with pytest.raises(LoginFailed) as wrong:
        _login(users, "sai mật khẩu", RealClock())
    with pytest.raises(LoginFailed) as unknown:
        _login(users, PASSWORD, RealClock(), email="khong.co@travinh.gov.vn")
    assert wrong.value.message == unknown.value.message
    assert "không đúng" in wrong.value.message


@pytest.mark.parametrize(
    ("cmd", "error", "field"),
    [
        (handlers.CreateUser("a@b.vn", PASSWORD, "agency", "KHONG_CO"), UnknownAgency, "agency"),
        (handlers.CreateUser("a@b.vn", PASSWORD, "agency", "UBND_TINH"), UnknownAgency, "agency"),  # not reporting
        (handlers.CreateUser("a@b.vn", "1234567", "agency", "H_CAUKE"), InvalidAccount, "password"),
        (handlers.CreateUser("a@b.vn", PASSWORD, "agency"), InvalidAccount, "agency"),
        (handlers.CreateUser("a@b.vn", PASSWORD, "observer", "H_CAUKE"), InvalidAccount, "agency"),
        (handlers.CreateUser("a@b.vn", PASSWORD, "superuser"), InvalidAccount, "role"),
        (handlers.CreateUser("not-an-address", PASSWORD, "observer"), InvalidAccount, "email"),
    ],
)
def test_an_account_with_bad_details_is_refused_and_not_stored(
    cmd: handlers.CreateUser, error: type[Exception], field: str
) -> None:
    store = FakeUserStore()
    with pytest.raises(error) as exc:
        handlers.create_user(cmd, users=store, plan=PLAN)
    assert exc.value.field == field  # type: ignore[attr-defined]
    assert store.users == {}


def test_an_email_is_taken_once(users: FakeUserStore) -> None:
    again = handlers.CreateUser("canbo@cauke.travinh.gov.vn", PASSWORD, "observer")
    with pytest.raises(AccountExists):
        handlers.create_user(again, users=users, plan=PLAN)


# --- lockout ---


def test_five_failures_lock_the_sixth_attempt_for_fifteen_minutes_even_with_the_right_password(
    users: FakeUserStore,
) -> None:
    clock = RealClock()
    for _ in range(5):
        with pytest.raises(LoginFailed):
            _login(users, "sai mật khẩu", clock)
        clock.advance(10)
    with pytest.raises(AccountLocked) as locked:
        _login(users, "sai mật khẩu", clock)
    assert locked.value.retry_after == LOCK_SECONDS - 10  # locked from the fifth failure, 10 s ago
    assert "15 phút" in locked.value.message
    clock.advance(LOCK_SECONDS - 60)
    with pytest.raises(AccountLocked) as still:
        _login(users, PASSWORD, clock)
    assert still.value.retry_after == 50
    assert len(users.attempt_log) == 5  # attempts while locked are not even checked


def test_the_lock_ends_after_fifteen_minutes_and_the_right_password_works(users: FakeUserStore) -> None:
    clock = RealClock()
    for _ in range(5):
        with pytest.raises(LoginFailed):
            _login(users, "sai mật khẩu", clock)
    clock.advance(LOCK_SECONDS)
    assert _login(users, PASSWORD, clock).user.agency == "H_CAUKE"


def test_after_a_lock_ends_the_count_starts_afresh(users: FakeUserStore) -> None:
    clock = RealClock()
    for _ in range(5):
        with pytest.raises(LoginFailed):
            _login(users, "sai", clock)
    clock.advance(LOCK_SECONDS + 1)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            _login(users, "sai", clock)
    assert _login(users, PASSWORD, clock).token


def test_a_success_resets_the_count(users: FakeUserStore) -> None:
    clock = RealClock()
    for _ in range(4):
        with pytest.raises(LoginFailed):
            _login(users, "sai", clock)
    _login(users, PASSWORD, clock)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            _login(users, "sai", clock)
    assert _login(users, PASSWORD, clock).token


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(users: FakeUserStore) -> None:
    clock = RealClock()
    for _ in range(8):
        with pytest.raises(LoginFailed):
            _login(users, "sai", clock)
        clock.advance(4 * 60)  # never 5 failures within 15 minutes
    assert _login(users, PASSWORD, clock).token


def test_an_unknown_email_locks_like_a_known_one() -> None:
    store, clock = FakeUserStore(), RealClock()
    for _ in range(5):
        with pytest.raises(LoginFailed):
            handlers.login("ai.do@x.vn", "doan mo", users=store, secret=SECRET, ttl_seconds=60, now=clock)
    with pytest.raises(AccountLocked):
        handlers.login("ai.do@x.vn", "doan mo", users=store, secret=SECRET, ttl_seconds=60, now=clock)


def test_attempts_recorded_by_a_racing_worker_during_a_lock_do_not_extend_it() -> None:
    fails = [LoginAttempt("a@b.vn", T0 + i, ok=False) for i in range(5)]
    racing = [LoginAttempt("a@b.vn", T0 + 100 + i, ok=False) for i in range(5)]
    assert locked_until(fails + racing, T0 + 200) == T0 + 4 + LOCK_SECONDS
    assert locked_until(fails + racing, T0 + 4 + LOCK_SECONDS) is None


# --- CSRF ---


def test_the_csrf_token_is_an_hmac_of_the_token_id_with_the_secret() -> None:
    assert csrf_digest(SECRET, "jti-1") == csrf_digest(SECRET, "jti-1")
    assert csrf_digest(SECRET, "jti-1") != csrf_digest(SECRET, "jti-2")
    assert csrf_digest(SECRET, "jti-1") != csrf_digest("t" * 40, "jti-1")


@pytest.fixture
def app() -> Flask:
    conf = Settings.from_env({"DVCQ_SECRET": SECRET})
    app = create_service_app("intake", conf, None, ready_checks={})

    @app.route("/api/v1/things", methods=["GET", "POST"])
    @requires("agency")
    def things() -> object:
        return jsonify({"ok": True})

    return app


def test_a_cookie_post_needs_the_csrf_token_and_a_bearer_post_does_not(app: Flask) -> None:
    token = issue_token(SECRET, sub="a@b.vn", role="agency", agency="H_CAUKE")
    with app.test_request_context():
        csrf = csrf_token_for(token)
    assert csrf == csrf_digest(SECRET, verify_token(SECRET, token).jti or "")
    other = issue_token(SECRET, sub="a@b.vn", role="agency", agency="H_CAUKE")
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, token)
    assert client.get("/api/v1/things").status_code == 200
    refused = client.post("/api/v1/things")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf"
    with app.test_request_context():
        wrong = csrf_token_for(other)  # another session's token
    assert client.post("/api/v1/things", headers={"X-CSRF-Token": wrong}).status_code == 403
    assert client.post("/api/v1/things", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post("/api/v1/things", data={"csrf_token": csrf}).status_code == 200
    bearer = app.test_client()
    assert bearer.post("/api/v1/things", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# --- the CLI ---


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--agency", "KHONG_CO", "--password", PASSWORD], "KHONG_CO"),
        (["--agency", "H_CAUKE", "--password", "ngan"], "8 ký tự"),
    ],
)
def test_user_create_refuses_an_unknown_unit_and_a_short_password_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    monkeypatch.setenv("DVCQ_SECRET", SECRET)
    monkeypatch.setenv("MONGO_URL", "mongodb://127.0.0.1:9/")  # never reached: refused before any write
    assert main(["user", "create", "--email", "a@b.vn", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
