"""Notifier's sender process: delivers the ledger's due notifications (SMTP and the webhook gateway; an inbox
item is delivered when it is decided), retrying with backoff.

The retries are rows of the ledger (`status` pending/failed, `next_attempt_at` on the wall clock), not broker
requeues: this process has no broker connection at all, so a slow SMTP server never blocks a heartbeat, and
its `notification.*` events leave through the notifier's outbox relay. Run as many senders as you like: each
attempt of a notification is claimed by one of them before it is sent (`handlers.deliver`), a sender that
dies is replaced after its claim's lease (`DVCQ_NOTIFY_CLAIM_LEASE_SECONDS`), and every copy of a notification
carries the same Message-ID.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket

from services.notifier import handlers
from services.notifier.bootstrap import build_dependencies
from services.notifier.domain import EMAIL, WEBHOOK
from services.notifier.mailer import SmtpTransport
from services.notifier.webhook import WebhookTransport
from shared.logs import configure
from shared.retry import run_forever
from shared.settings import Settings
from shared.store import STORE_ERRORS

log = logging.getLogger(__name__)
IDLE_SECONDS = 0.5


def main() -> None:
    """Send due notifications until killed; back off while the store is down."""
    settings = Settings.from_env()
    configure("notifier-sender", settings.log_level)
    d = build_dependencies(settings)
    transports: dict[str, handlers.Transport] = {EMAIL: SmtpTransport(settings.smtp_url, settings.mail_from)}
    if settings.webhook_url:
        transports[WEBHOOK] = WebhookTransport(settings.webhook_url, settings.webhook_secret)
    transport = handlers.ByChannel(transports)
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # this process, on this host
    indexed = False

    def step() -> bool:
        nonlocal indexed
        if not indexed:
            d.ensure_indexes()
            indexed = True
        tried = handlers.deliver_due(ledger=d.ledger, transport=transport, wall=d.wall, policy=d.policy, holder=holder)
        if tried:
            log.info("delivery attempts", extra={"count": tried})
        return tried > 0

    run_forever(step, tick=IDLE_SECONDS, what="delivery pass", errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
