"""Failpoints: `DVCQ_FAILPOINT=<name>` makes the process exit at that named point, for deterministic crash tests."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def failpoint(name: str, detail: str | None = None) -> None:
    """Exit at once (no cleanup, like a kill) when DVCQ_FAILPOINT names this point, or `<name>:<detail>` to
    exit only there for one kind of work (`relay.after_publish:report.submitted`: after an event of that type).
    """
    wanted = os.environ.get("DVCQ_FAILPOINT")
    if wanted == name or (detail is not None and wanted == f"{name}:{detail}"):
        log.warning("failpoint reached, exiting", extra={"failpoint": name})
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(86)
