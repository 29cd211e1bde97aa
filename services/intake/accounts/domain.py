"""Intake's accounts (F13): users, argon2 password hashes and the failed-login lockout (plain Python)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.intake.domain import IntakeError
from shared.auth import ROLES

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; a bound keeps a hostile body from costing more
MAX_EMAIL = 254
MAX_NAME = 200
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60
# a lock in force now was set by failures no older than this, so older attempts are never read
HISTORY_SECONDS = FAILURE_WINDOW_SECONDS + LOCK_SECONDS

# OWASP's argon2id profile (19 MiB, 2 passes, 1 lane): argon2-cffi's default takes 64 MiB per login,
# too much for the per-process memory target; verification reads the parameters from each hash.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AccountError(IntakeError):
    """Base of the account errors."""


class InvalidAccount(AccountError):
    """An account cannot be opened with these details (`field` says which)."""


class AccountExists(AccountError):
    """An account with this e-mail already exists."""


class LoginFailed(AccountError):
    """Wrong e-mail or password; deliberately does not say which."""

    def __init__(self) -> None:
        super().__init__("Địa chỉ thư điện tử hoặc mật khẩu không đúng.")


class AccountLocked(AccountError):
    """Too many failed logins: the account is locked for `retry_after` more seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Tài khoản tạm khóa do đăng nhập sai {MAX_FAILURES} lần. Vui lòng thử lại sau {minutes} phút."
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    """A person who logs in: the e-mail is the key; a unit's officer (role `agency`) is bound to one unit."""

    email: str
    password_hash: str
    role: str
    agency: str | None
    name: str
    created_at: datetime


@dataclass(frozen=True)
class LoginAttempt:
    """One login attempt, kept to derive the lockout; `at` is real-clock seconds since the epoch."""

    email: str
    at: float
    ok: bool


def nfc(text: str) -> str:
    """Unicode NFC, as every text is stored."""
    return unicodedata.normalize("NFC", text)


def normalize_email(text: str) -> str:
    """The account key: NFC, trimmed, lower-cased."""
    return nfc(nfc(text).strip().lower())


def check_email(email: str) -> None:
    """Raise InvalidAccount unless `email` (normalised) looks like an address."""
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise InvalidAccount(f"Địa chỉ thư điện tử không hợp lệ: '{email}'.", field="email")


def check_password(password: str) -> None:
    """Raise InvalidAccount unless the password has 8 to 1,024 characters."""
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount(f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidAccount(f"Mật khẩu không được dài quá {MAX_PASSWORD} ký tự.", field="password")


def check_role(role: str, agency: str | None) -> None:
    """A known role; a unit for the `agency` role and none for any other."""
    if role not in ROLES:
        raise InvalidAccount(f"Vai trò '{role}' không có; chọn một trong: {', '.join(ROLES)}.", field="role")
    if role == "agency" and not agency:
        raise InvalidAccount("Tài khoản của đơn vị (agency) phải ghi mã đơn vị.", field="agency")
    if role != "agency" and agency:
        raise InvalidAccount("Chỉ tài khoản vai trò agency mới gắn với một đơn vị.", field="agency")


def hash_password(password: str) -> str:
    """The argon2id hash of the (NFC) password."""
    return HASHER.hash(nfc(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when the (NFC) password matches the hash."""
    try:
        return HASHER.verify(password_hash, nfc(password))
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """A hash no password matches in practice: verified for unknown e-mails so both answers take as long."""
    return HASHER.hash("dvcq: no such account")


def locked_until(attempts: Iterable[LoginAttempt], now: float) -> float | None:
    """When the lock in force at `now` ends, or None.

    5 failures within 15 minutes, with no success between, lock the account for 15 minutes from the fifth;
    a success or the end of a lock starts the count afresh. Attempts recorded during a lock (by a racing
    worker) change nothing.
    """
    failures: list[float] = []
    until: float | None = None
    for attempt in sorted(attempts, key=lambda a: a.at):
        if until is not None:
            if attempt.at < until:
                continue
            until = None
        if attempt.ok:
            failures = []
            continue
        failures = [t for t in failures if attempt.at - t < FAILURE_WINDOW_SECONDS] + [attempt.at]
        if len(failures) >= MAX_FAILURES:
            until, failures = attempt.at + LOCK_SECONDS, []
    return until if until is not None and until > now else None
