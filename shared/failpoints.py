"""Failpoints: `DVCQ_FAILPOINT=<name>` makes the process exit at that named point, for deterministic crash tests.

`DVCQ_FAILPOINT=<name>:<key>` arms the point for one key only (a consumer's `<service>.consume` point takes the
event id as key), so a test can make one message kill its consumer every time while its neighbours pass.
Names never contain `:`; keys may (event ids do), so the value is split at the first `:`.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def failpoint(name: str, key: str | None = None) -> None:
    """Exit at once (no cleanup, like a kill) when DVCQ_FAILPOINT names this point (and this key, if it has one)."""
    armed, _, armed_key = os.environ.get("DVCQ_FAILPOINT", "").partition(":")
    if armed != name or (armed_key and armed_key != key):
        return
    log.warning("failpoint reached, exiting", extra={"failpoint": name, "key": key})
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(86)
