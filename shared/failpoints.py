"""Failpoints: `DVCQ_FAILPOINT=<name>` makes the process exit at that named point, for deterministic crash tests."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def failpoint(name: str) -> None:
    """Exit at once (no cleanup, like a kill) when DVCQ_FAILPOINT names this point."""
    if os.environ.get("DVCQ_FAILPOINT") == name:
        log.warning("failpoint reached, exiting", extra={"failpoint": name})
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(86)
