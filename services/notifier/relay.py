"""Notifier's outbox relay process: publishes the `notification.delivered`/`failed` event of each attempt."""

from __future__ import annotations

from services.notifier.store import ATTEMPTS
from shared.logs import configure
from shared.outbox import run_relay
from shared.settings import Settings


def main() -> None:
    """Run the relay until killed."""
    settings = Settings.from_env()
    configure("notifier-relay", settings.log_level)
    run_relay(settings, "notifier", [ATTEMPTS])


if __name__ == "__main__":
    main()
