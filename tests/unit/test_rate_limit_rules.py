"""The pure parts of the rate limits and the response headers: the client address behind trusted proxies,
slots per window, the settings that configure them, and the security headers of every response.

The counting itself runs against the real store in tests/integration/test_rate_limits.py."""

from __future__ import annotations

import pytest
from flask import jsonify

from shared.ratelimit import MAX_SLOTS, Limit, RateLimited, RateLimits, Throttle, expiry_bucket, wait_text
from shared.settings import Settings, SettingsError
from shared.web import create_service_app, forwarded_client, requires

SECRET = "s" * 40


def test_without_a_trusted_proxy_the_client_is_the_peer_whatever_x_forwarded_for_says() -> None:
    assert forwarded_client("203.0.113.9", ["1.2.3.4"], ()) == "203.0.113.9"
    assert forwarded_client("203.0.113.9", ["1.2.3.4"], ("10.0.0.0/8",)) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_client_is_the_rightmost_untrusted_hop() -> None:
    trusted = ("10.0.0.0/8", "127.0.0.1")
    # the client forged "1.1.1.1" in front; the proxy appended the address it saw
    assert forwarded_client("127.0.0.1", ["1.1.1.1, 198.51.100.7"], trusted) == "198.51.100.7"
    assert forwarded_client("10.1.2.3", ["1.1.1.1", "198.51.100.7, 10.9.9.9"], trusted) == "198.51.100.7"
    assert forwarded_client("127.0.0.1", [], trusted) == "127.0.0.1"
    assert forwarded_client("127.0.0.1", ["10.0.0.5"], trusted) == "10.0.0.5"  # only proxies: the first one


def test_a_limit_is_exact_up_to_fifty_slots_and_never_allows_more_than_its_number() -> None:
    login = Limit("login-account", 10, 300, "{wait}")
    assert (login.per_slot, login.slots) == (1, 10)
    api = Limit("api", 1200, 60, "{wait}")
    assert api.slots <= MAX_SLOTS and api.per_slot * api.slots == 1200
    odd = Limit("api", 71, 60, "{wait}")
    assert odd.per_slot * odd.slots <= 71 and odd.per_slot * (odd.slots + 1) > 71


def test_the_refusal_says_in_vietnamese_how_long_to_wait() -> None:
    limits = RateLimits.from_settings(Settings.from_env({"DVCQ_SECRET": SECRET}))
    assert RateLimited(limits.login_account, 45).message == "Quá nhiều lần đăng nhập. Vui lòng thử lại sau 45 giây."
    assert "5 phút" in RateLimited(limits.api, 300).message
    assert wait_text(119) == "119 giây" and wait_text(121) == "3 phút"


def test_a_throttle_is_due_at_most_once_per_period() -> None:
    throttle = Throttle(60)
    assert throttle.due(1000.0) and not throttle.due(1059.0) and throttle.due(1060.0)


def test_a_counter_is_pruned_by_the_minute_its_window_ends_in_and_never_before_it_ends() -> None:
    assert expiry_bucket(1_800_000_000.0) == 30_000_000  # ends on a minute: that minute's bucket
    assert expiry_bucket(1_800_000_000.5) == 30_000_001  # else the next one, pruned once it has begun
    for ends in (1_800_000_000.0, 1_800_000_010.0, 1_800_000_059.9):
        assert expiry_bucket(ends) * 60 >= ends


def test_the_limits_and_trusted_proxies_come_from_the_environment_and_bad_values_fail_fast() -> None:
    defaults = Settings.from_env({"DVCQ_SECRET": SECRET})
    assert (defaults.login_account_limit, defaults.login_address_limit, defaults.login_window_seconds) == (10, 100, 300)
    assert (defaults.api_subject_limit, defaults.api_window_seconds, defaults.trusted_proxies) == (3000, 60, ())
    conf = Settings.from_env(
        {
            "DVCQ_SECRET": SECRET,
            "DVCQ_LOGIN_LIMIT_PER_ACCOUNT": "3",
            "DVCQ_LOGIN_WINDOW_SECONDS": "4",
            "DVCQ_API_LIMIT_PER_SUBJECT": "0",
            "DVCQ_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
        }
    )
    assert (conf.login_account_limit, conf.login_window_seconds, conf.api_subject_limit) == (3, 4, 0)
    assert conf.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    for bad in (
        {"DVCQ_LOGIN_WINDOW_SECONDS": "0"},
        {"DVCQ_API_LIMIT_PER_SUBJECT": "-1"},
        {"DVCQ_LOGIN_LIMIT_PER_ADDRESS": "nhiều"},
        {"DVCQ_TRUSTED_PROXIES": "proxy.local"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env({"DVCQ_SECRET": SECRET, **bad})


def test_every_response_forbids_framing_and_sniffing_and_allows_only_own_styles() -> None:
    conf = Settings.from_env({"DVCQ_SECRET": SECRET, "INTAKE_URL": "https://dvcq.example/"})
    app = create_service_app("aggregator", conf, None, ready_checks={})

    @app.get("/api/v1/things")
    @requires("admin")
    def things() -> object:
        return jsonify({"ok": True})

    client = app.test_client()
    for resp in (client.get("/healthz"), client.get("/api/v1/things"), client.get("/nowhere")):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        policy = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
        assert "style-src 'self'" in policy and "unsafe-inline" not in policy
        assert "form-action 'self' https://dvcq.example;" in policy  # the board's logout posts to intake
