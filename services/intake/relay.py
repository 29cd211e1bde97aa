"""Intake's outbox relay process: publishes the events stored with reports."""

from __future__ import annotations

from services.intake.store import REPORTS
from shared.logs import configure
from shared.outbox import run_relay
from shared.settings import Settings


def main() -> None:
    """Run the relay until killed."""
    settings = Settings.from_env()
    configure("intake-relay", settings.log_level)
    run_relay(settings, "intake", [REPORTS])


if __name__ == "__main__":
    main()
