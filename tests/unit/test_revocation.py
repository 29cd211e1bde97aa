"""Sessions that end (shared.revocation, issue 15 point 6): a logged-out token is refused by this process at
once and by every other within the cache's second; expired entries are pruned; tokens carry an audience."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from pymongo.errors import DuplicateKeyError

from shared.auth import AUDIENCE, ISSUER, InvalidToken, issue_token, verify_token
from shared.revocation import PRUNED, RevocationList

SECRET = "s" * 40


class Collection:
    """`_id` equality, deletes by `expires_day` equality, an upserted marker: what the revocation list asks."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.reads = 0

    def insert_one(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("taken")
        self.docs[doc["_id"]] = dict(doc)

    def find_one(self, query: dict[str, Any], projection: Any = None) -> dict[str, Any] | None:
        self.reads += 1
        return self.docs.get(query["_id"])

    def delete_many(self, query: dict[str, Any]) -> None:
        ((key, value),) = query.items()
        assert not isinstance(value, dict), "equality only"
        for doc_id in [i for i, d in self.docs.items() if d.get(key) == value]:
            del self.docs[doc_id]

    def replace_one(self, query: dict[str, Any], doc: dict[str, Any], upsert: bool = False) -> None:
        self.docs[query["_id"]] = dict(doc)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_revoked_token_is_refused_here_at_once_and_by_another_process_within_its_cache() -> None:
    shared, mono, wall = Collection(), Clock(), Clock()
    here = RevocationList(shared, monotonic=mono, wall=wall)
    there = RevocationList(shared, cache_seconds=1.0, monotonic=mono, wall=wall)
    assert there.is_revoked("t1") is False
    reads = shared.reads
    assert there.is_revoked("t1") is False and shared.reads == reads  # remembered for a second
    assert here.revoke("t1", expires_at=int(wall.now) + 3600) is True
    assert here.is_revoked("t1") is True and here.revoke("t1", expires_at=int(wall.now) + 3600) is False
    assert there.is_revoked("t1") is False  # still within the second it remembers
    mono.now += 1.0
    assert there.is_revoked("t1") is True
    mono.now += 600
    assert there.is_revoked("t1") is True and there.is_revoked("t2") is False


def test_a_logout_prunes_by_day_the_entries_whose_token_has_expired() -> None:
    store, mono, wall = Collection(), Clock(), Clock()
    wall.now = 1_700_000_000.0  # 14/11/2023 22:13 UTC
    listed = RevocationList(store, monotonic=mono, wall=wall)
    listed.revoke("old", expires_at=int(wall.now) + 60)  # expires the same UTC day
    listed.revoke("later", expires_at=int(wall.now) + 3 * 86400)
    assert {"old", "later"} <= set(store.docs)
    wall.now += 2 * 86400  # two days on: the first token's day has ended, the second's not
    listed.revoke("new", expires_at=int(wall.now) + 3600)
    assert sorted(k for k in store.docs if k != PRUNED) == ["later", "new"]
    assert store.docs[PRUNED]["day"] == "2023-11-15"


def test_a_token_carries_the_dvcq_audience_and_one_without_it_or_for_another_is_refused() -> None:
    token = issue_token(SECRET, sub="cv@snv", role="home_affairs")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE)
    assert claims["aud"] == "dvcq"
    assert verify_token(SECRET, token).expires_at == claims["exp"]
    now = int(time.time())
    base = {"sub": "cv@snv", "role": "home_affairs", "iat": now, "exp": now + 60, "iss": ISSUER, "jti": "x"}
    for claims in (base, {**base, "aud": "another-system"}):
        with pytest.raises(InvalidToken):
            verify_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))
