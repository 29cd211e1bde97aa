"""Settings: one typed, frozen object read from the environment once, failing fast on what is missing."""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.registry import services

ROOT = Path(__file__).resolve().parent.parent


def default_ports() -> dict[str, int]:
    """Each registered service's default HTTP port (its `<NAME>_URL` when that is not set)."""
    return {svc.name: svc.port for svc in services()}


class SettingsError(RuntimeError):
    """A required setting is missing or malformed."""


def parse_amqp_urls(value: str) -> tuple[str, ...]:
    """The broker addresses of AMQP_URL: one URL, or the nodes of a cluster separated by commas, all on the same
    vhost (a client that moves to another node must land in the same place)."""
    urls = tuple(part.strip() for part in value.split(",") if part.strip())
    if not urls:
        raise SettingsError("AMQP_URL is empty")
    for url in urls:
        if not url.startswith(("amqp://", "amqps://")):
            raise SettingsError(f"AMQP_URL: {url.split('@')[-1]!r} is not an amqp:// or amqps:// address")
    vhosts = {urllib.parse.urlsplit(url).path or "/" for url in urls}
    if len(vhosts) > 1:
        raise SettingsError(f"AMQP_URL: every address must name the same vhost, not {sorted(vhosts)}")
    return urls


@dataclass(frozen=True)
class Settings:
    """Everything a dvcq process reads from its environment.

    DVCQ_DB_PREFIX and the vhost in AMQP_URL let several stacks (the tests') share one store and broker.
    AMQP_URL may list the nodes of a RabbitMQ cluster, comma-separated (`amqp_urls`, see `parse_amqp_urls`).
    """

    mongo_url: str
    amqp_urls: tuple[str, ...]
    smtp_url: str = field(repr=False)  # may carry the SMTP password
    secret: str = field(repr=False)
    plan_paths: tuple[Path, ...]  # DVCQ_PLAN: the plan directories the stack runs, comma-separated
    clock_mode: str
    db_prefix: str
    service_urls: dict[str, str]
    max_body_bytes: int
    max_json_depth: int
    max_pdf_bytes: int
    token_ttl_seconds: int
    log_level: str
    mail_from: str = "dvcq@travinh.example"
    notify_retry_base_seconds: float = 30.0
    notify_retry_cap_seconds: float = 1800.0
    notify_max_attempts: int = 6
    notify_claim_lease_seconds: float = 120.0
    # Each service's address as people reach it (links in mails, the pages' login and logout), by name:
    # DVCQ_PUBLIC_<NAME>_URL, else <NAME>_URL.
    public_urls: dict[str, str] = field(default_factory=dict)
    webhook_url: str = ""
    webhook_secret: str = ""
    login_account_limit: int = 10
    login_address_limit: int = 100
    login_window_seconds: int = 300
    api_subject_limit: int = 3000
    api_window_seconds: int = 60
    trusted_proxies: tuple[str, ...] = ()
    watermark_margin_seconds: float = 35.0
    watermark_interval_seconds: float = 5.0
    ladder_hold_after_seconds: float = 600.0
    ladder_hold_grace_seconds: float = 60.0
    agenda_keep_days: int = 30
    notify_attempts_keep_days: int = 90
    notify_attempts_kept: int = 1

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        """Read the settings from `env` (the process environment by default)."""
        env = os.environ if env is None else env
        secret = env.get("DVCQ_SECRET", "")
        secret_file = Path(env.get("DVCQ_SECRET_FILE", str(ROOT / "var" / "secret")))
        if not secret and secret_file.is_file():
            secret = secret_file.read_text(encoding="utf-8").strip()
        if len(secret) < 32:
            raise SettingsError(
                "DVCQ_SECRET (or the file DVCQ_SECRET_FILE, default var/secret) must hold a token signing key "
                "of at least 32 characters"
            )
        clock_mode = env.get("DVCQ_CLOCK", "system")
        if clock_mode not in ("system", "simulation"):
            raise SettingsError("DVCQ_CLOCK must be 'system' or 'simulation'")
        plans = tuple(
            path if path.is_absolute() else ROOT / path
            for path in map(Path, (p.strip() for p in env.get("DVCQ_PLAN", "plans/tra-vinh-2019").split(",")))
            if str(path) not in ("", ".")
        )
        if not plans:
            raise SettingsError("DVCQ_PLAN must name at least one plan directory")
        urls = {
            name: env.get(f"{name.upper()}_URL", f"http://127.0.0.1:{port}").rstrip("/")
            for name, port in default_ports().items()
        }
        try:
            max_body = int(env.get("DVCQ_MAX_BODY_BYTES", str(256 * 1024)))
            max_depth = int(env.get("DVCQ_MAX_JSON_DEPTH", "8"))
            max_pdf = int(env.get("DVCQ_MAX_PDF_BYTES", str(10 * 1024 * 1024)))
            ttl = int(env.get("DVCQ_TOKEN_TTL_SECONDS", str(8 * 3600)))
            retry_base = float(env.get("DVCQ_NOTIFY_RETRY_BASE_SECONDS", "30"))
            retry_cap = float(env.get("DVCQ_NOTIFY_RETRY_CAP_SECONDS", "1800"))
            max_attempts = int(env.get("DVCQ_NOTIFY_MAX_ATTEMPTS", "6"))
            # F17: a report is stored within gunicorn's 30 s timeout of its stamp (a slower worker is killed); in
            # simulation the client that steps the clock waits for its reports' answers (shared/watermark.py)
            margin = float(env.get("DVCQ_WATERMARK_MARGIN_SECONDS", "0.5" if clock_mode == "simulation" else "35"))
            wm_interval = float(env.get("DVCQ_WATERMARK_INTERVAL_SECONDS", "5"))
            hold_after = float(env.get("DVCQ_LADDER_HOLD_AFTER_SECONDS", "600"))
            hold_grace = float(env.get("DVCQ_LADDER_HOLD_GRACE_SECONDS", "60"))
            claim_lease = float(env.get("DVCQ_NOTIFY_CLAIM_LEASE_SECONDS", "120"))
        except ValueError as exc:
            raise SettingsError(f"numeric setting malformed: {exc}") from exc
        if margin < 0 or wm_interval <= 0 or hold_after <= 0 or hold_grace < 0:
            raise SettingsError("DVCQ_WATERMARK_* and DVCQ_LADDER_HOLD_* must be >= 0 (interval and limit > 0)")
        if claim_lease <= 0:
            raise SettingsError("DVCQ_NOTIFY_CLAIM_LEASE_SECONDS must be > 0")
        if retry_base < 0 or retry_cap < 0 or max_attempts < 1:
            raise SettingsError("DVCQ_NOTIFY_RETRY_* must be >= 0 and DVCQ_NOTIFY_MAX_ATTEMPTS >= 1")
        mail_from = env.get("DVCQ_MAIL_FROM", "dvcq@travinh.example").strip()
        if "@" not in mail_from or not mail_from.isascii():
            raise SettingsError("DVCQ_MAIL_FROM must be a plain ASCII e-mail address")
        webhook_url = env.get("DVCQ_WEBHOOK_URL", "").strip()
        webhook_secret = env.get("DVCQ_WEBHOOK_SECRET", "")
        if webhook_url and not webhook_url.startswith(("http://", "https://")):
            raise SettingsError("DVCQ_WEBHOOK_URL must be an http:// or https:// address")
        if webhook_url and len(webhook_secret) < 16:
            raise SettingsError("DVCQ_WEBHOOK_SECRET (at least 16 characters) is required with DVCQ_WEBHOOK_URL")
        return cls(
            mongo_url=env.get("MONGO_URL", "mongodb://127.0.0.1:27017/"),
            amqp_urls=parse_amqp_urls(env.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")),
            smtp_url=env.get("SMTP_URL", "smtp://127.0.0.1:8025"),
            secret=secret,
            plan_paths=plans,
            clock_mode=clock_mode,
            db_prefix=env.get("DVCQ_DB_PREFIX", "dvcq_"),
            service_urls=urls,
            max_body_bytes=max_body,
            max_json_depth=max_depth,
            max_pdf_bytes=max_pdf,
            token_ttl_seconds=ttl,
            log_level=env.get("LOG_LEVEL", "INFO"),
            mail_from=mail_from,
            notify_retry_base_seconds=retry_base,
            notify_retry_cap_seconds=retry_cap,
            notify_max_attempts=max_attempts,
            notify_claim_lease_seconds=claim_lease,
            public_urls=_public_urls(env, urls),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            **_rate_limit_settings(env),
            watermark_margin_seconds=margin,
            watermark_interval_seconds=wm_interval,
            ladder_hold_after_seconds=hold_after,
            ladder_hold_grace_seconds=hold_grace,
            **_retention_settings(env),
        )

    def db_name(self, owner: str) -> str:
        """The database of `owner` (a service name, or 'clock' for the shared simulated clock)."""
        return f"{self.db_prefix}{owner}"


def _public_urls(env: os._Environ[str] | dict[str, str], urls: dict[str, str]) -> dict[str, str]:
    """Where people reach each service: the stack's one public address (DVCQ_PUBLIC_URL, the reverse proxy of
    `shared.edge`, which every page and API sits behind) for all, else DVCQ_PUBLIC_<NAME>_URL, else `<NAME>_URL`.
    Links, redirects, mails and documents use these."""
    one = env.get("DVCQ_PUBLIC_URL", "").strip().rstrip("/")
    if one and not one.startswith(("https://", "http://")):
        raise SettingsError(f"DVCQ_PUBLIC_URL must be an http(s) address, not {one!r}")
    return {name: one or env.get(f"DVCQ_PUBLIC_{name.upper()}_URL", url).rstrip("/") for name, url in urls.items()}


def _retention_settings(env: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """How long what is done with is kept (README "Growth and retention"; `shared.retention`)."""
    names = {
        "agenda_keep_days": ("DVCQ_AGENDA_KEEP_DAYS", 30, 1),
        "notify_attempts_keep_days": ("DVCQ_NOTIFY_ATTEMPTS_KEEP_DAYS", 90, 1),
        "notify_attempts_kept": ("DVCQ_NOTIFY_ATTEMPTS_KEPT", 1, 1),
    }
    out: dict[str, int] = {}
    for name, (var, default, least) in names.items():
        try:
            out[name] = int(env.get(var, str(default)))
        except ValueError as exc:
            raise SettingsError(f"{var} must be an integer: {exc}") from exc
        if out[name] < least:
            raise SettingsError(f"{var} must be >= {least}")
    return out


def _rate_limit_settings(env: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """The rate limits (README "Configuration"; `shared.ratelimit`) and the proxies trusted for X-Forwarded-For."""
    names = {
        "login_account_limit": ("DVCQ_LOGIN_LIMIT_PER_ACCOUNT", 10),
        "login_address_limit": ("DVCQ_LOGIN_LIMIT_PER_ADDRESS", 100),
        "login_window_seconds": ("DVCQ_LOGIN_WINDOW_SECONDS", 300),
        "api_subject_limit": ("DVCQ_API_LIMIT_PER_SUBJECT", 3000),
        "api_window_seconds": ("DVCQ_API_WINDOW_SECONDS", 60),
    }
    out: dict[str, Any] = {}
    for name, (var, default) in names.items():
        try:
            out[name] = int(env.get(var, str(default)))
        except ValueError as exc:
            raise SettingsError(f"{var} must be an integer: {exc}") from exc
        if out[name] < (1 if name.endswith("_seconds") else 0):
            raise SettingsError(f"{var} must be {'>= 1' if name.endswith('_seconds') else '>= 0 (0 = off)'}")
    proxies = tuple(p.strip() for p in env.get("DVCQ_TRUSTED_PROXIES", "").split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise SettingsError(f"DVCQ_TRUSTED_PROXIES: not an address or network: {proxy!r}") from exc
    out["trusted_proxies"] = proxies
    return out
