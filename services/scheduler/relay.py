"""Scheduler's outbox relay process: publishes obligation and unit events."""

from __future__ import annotations

from services.scheduler.store import OUTBOX
from shared.logs import configure
from shared.outbox import run_relay
from shared.settings import Settings


def main() -> None:
    """Run the relay until killed."""
    settings = Settings.from_env()
    configure("scheduler-relay", settings.log_level)
    run_relay(settings, "scheduler", [OUTBOX])


if __name__ == "__main__":
    main()
