"""The webhook channel: an alert POSTed as JSON to an SMS or Zalo gateway, signed with HMAC-SHA256.

Each request carries three headers beside `Content-Type: application/json; charset=utf-8`:

- `X-Dvcq-Delivery`: the delivery id, the same on every attempt of one notification (and after a crash or a
  re-send by Sở Nội vụ), so the gateway can drop a repeat;
- `X-Dvcq-Timestamp`: the attempt's Unix time in seconds, so the gateway can refuse a replayed old request;
- `X-Dvcq-Signature`: `sha256=` + the hex HMAC-SHA256, keyed with `DVCQ_WEBHOOK_SECRET`, of
  `<timestamp>.<body bytes>`.

The body is fixed when the notification is decided (`handlers.webhook_body`), so every attempt posts the same
bytes. A 2xx answer is delivery; 408, 429, 5xx and network errors are retried; any other 4xx is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import requests

from services.notifier.domain import DeliveryFailed, Notification

TIMEOUT_SECONDS = 10.0
RETRYABLE_4XX = (408, 425, 429)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Dvcq-Signature` value of a request: `sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """What a gateway checks (in constant time): the signature matches this body and timestamp."""
    return hmac.compare_digest(signature(secret, timestamp, body), given)


class WebhookTransport:
    """POSTs each webhook notification to one gateway URL."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret
        self.session = requests.Session()

    def send(self, notification: Notification) -> None:
        """Deliver one request; return once the gateway answered 2xx."""
        body = notification.text.encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "dvcq-notifier",
            "X-Dvcq-Delivery": notification.message_id,
            "X-Dvcq-Timestamp": timestamp,
            "X-Dvcq-Signature": signature(self.secret, timestamp, body),
        }
        try:
            resp = self.session.post(self.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise DeliveryFailed(f"webhook unreachable: {exc!r}") from exc
        if 200 <= resp.status_code < 300:
            return
        permanent = 400 <= resp.status_code < 500 and resp.status_code not in RETRYABLE_4XX
        raise DeliveryFailed(f"webhook answered {resp.status_code}: {resp.text[:200]!r}", permanent=permanent)
