"""Notifier's sender process: delivers the ledger's due notifications (SMTP and the webhook gateway; an inbox
item is delivered when it is decided), retrying with backoff.

The retries are rows of the ledger (`status` pending/failed, `next_attempt_at` on the wall clock), not broker
requeues: this process has no broker connection at all, so a slow SMTP server never blocks a heartbeat, and
its `notification.*` events leave through the notifier's outbox relay. It is the only writer of a
notification's state after the consumer inserted it: run one sender per stack (two would both try the same
due notification; each attempt is still recorded once and every copy carries the same Message-ID).
"""

from __future__ import annotations

import logging

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
    indexed = False

    def step() -> bool:
        nonlocal indexed
        if not indexed:
            d.ensure_indexes()
            indexed = True
        tried = handlers.deliver_due(ledger=d.ledger, transport=transport, wall=d.wall, policy=d.policy)
        if tried:
            log.info("delivery attempts", extra={"count": tried})
        return tried > 0

    run_forever(step, tick=IDLE_SECONDS, what="delivery pass", errors=STORE_ERRORS)


if __name__ == "__main__":
    main()
