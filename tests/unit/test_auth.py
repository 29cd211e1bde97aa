"""Signed tokens: issue and verify, and every forged, expired or mis-signed token refused."""

import base64
import json
import time

import jwt
import pytest

from shared.auth import ALGORITHM, ISSUER, InvalidToken, Principal, issue_token, verify_token

SECRET = "s" * 64
OTHER_SECRET = "t" * 64


def claims(**extra: object) -> dict:
    now = int(time.time())
    return {"sub": "snv-1", "role": "admin", "iat": now, "exp": now + 300, "iss": ISSUER, **extra}


def b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_issued_token_verifies_to_the_same_principal():
    token = issue_token(SECRET, sub="canbo@cauke", role="agency", agency="H_CAUKE")
    assert verify_token(SECRET, token) == Principal(sub="canbo@cauke", role="agency", agency="H_CAUKE")


def test_non_agency_roles_round_trip_without_a_unit():
    for role in ("home_affairs", "observer", "admin", "service"):
        principal = verify_token(SECRET, issue_token(SECRET, sub="x", role=role))
        assert (principal.role, principal.agency, principal.is_agency()) == (role, None, False)


def test_issued_token_is_hs256():
    token = issue_token(SECRET, sub="x", role="observer")
    assert jwt.get_unverified_header(token)["alg"] == ALGORITHM == "HS256"


def test_expired_token_is_refused():
    token = issue_token(SECRET, sub="x", role="admin", ttl_seconds=-10)
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_token_signed_with_another_secret_is_refused():
    token = issue_token(OTHER_SECRET, sub="x", role="admin")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_unsigned_alg_none_token_is_refused():
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_alg_none_token_from_pyjwt_is_refused():
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_hs512_token_signed_with_the_same_secret_is_refused():
    token = jwt.encode(claims(), SECRET, algorithm="HS512")
    assert jwt.decode(token, SECRET, algorithms=["HS512"], issuer=ISSUER)["role"] == "admin"
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_token_from_another_issuer_is_refused():
    token = jwt.encode(claims(iss="elsewhere"), SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_token_without_expiry_is_refused():
    raw = claims()
    del raw["exp"]
    with pytest.raises(InvalidToken):
        verify_token(SECRET, jwt.encode(raw, SECRET, algorithm="HS256"))


def test_garbage_token_is_refused():
    with pytest.raises(InvalidToken):
        verify_token(SECRET, "not.a.token")


def test_tampered_payload_is_refused():
    token = issue_token(SECRET, sub="x", role="observer")
    header, _, signature = token.split(".")
    forged = f"{header}.{b64(claims(role='admin'))}.{signature}"
    with pytest.raises(InvalidToken):
        verify_token(SECRET, forged)


def test_agency_role_requires_a_unit_when_issuing():
    with pytest.raises(ValueError):
        issue_token(SECRET, sub="x", role="agency")


def test_other_roles_may_not_name_a_unit_when_issuing():
    with pytest.raises(ValueError):
        issue_token(SECRET, sub="x", role="home_affairs", agency="H_CAUKE")


def test_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError):
        issue_token(SECRET, sub="x", role="superuser")


def test_signed_agency_token_without_a_unit_is_refused():
    token = jwt.encode(claims(role="agency"), SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_signed_token_with_an_unknown_role_is_refused():
    token = jwt.encode(claims(role="root"), SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)
