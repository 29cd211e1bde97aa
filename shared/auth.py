"""Signed tokens (JWT, HS256 pinned) with a role, verified the same way by every service (F13)."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass, field

import jwt

ROLES = ("agency", "home_affairs", "observer", "leadership", "admin", "service")
ALGORITHM = "HS256"
ISSUER = "dvcq"
AUDIENCE = "dvcq"  # what a token is for: the dvcq services (a token of another system signed with a shared key
# is refused)


class InvalidToken(Exception):
    """The token is missing, forged, expired or malformed."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the person (`sub`), their role and, for the `agency` role, their unit."""

    sub: str
    role: str
    agency: str | None = None
    jti: str | None = field(default=None, compare=False)
    expires_at: int | None = field(default=None, compare=False)  # epoch seconds, from the token

    def is_agency(self) -> bool:
        """True for a unit's officer, bound to one unit."""
        return self.role == "agency"


def issue_token(secret: str, *, sub: str, role: str, agency: str | None = None, ttl_seconds: int = 8 * 3600) -> str:
    """Sign a token; expiry uses the real clock (security times never follow the simulated one)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if (role == "agency") != bool(agency):
        raise ValueError("an agency token names exactly one unit; other roles name none")
    now = int(time.time())
    claims = {
        "sub": sub,
        "role": role,
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    if agency:
        claims["agency"] = agency
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    """Check signature, algorithm, issuer, audience and expiry; return the principal. Whether the token was
    revoked by a logout is the services' question (`shared.revocation`, asked by `shared.web`)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    role = claims.get("role")
    if role not in ROLES or (role == "agency") != bool(claims.get("agency")):
        raise InvalidToken("token carries no valid role")
    jti = claims.get("jti")
    return Principal(
        sub=str(claims["sub"]),
        role=role,
        agency=claims.get("agency"),
        jti=jti if isinstance(jti, str) else None,
        expires_at=int(claims["exp"]),
    )


def csrf_digest(secret: str, token_id: str) -> str:
    """The CSRF token of a session (by its token's `jti`): an HMAC, so every service checks it without state."""
    return hmac.new(secret.encode("utf-8"), b"dvcq-csrf:" + token_id.encode("utf-8"), hashlib.sha256).hexdigest()
