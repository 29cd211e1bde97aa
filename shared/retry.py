"""Capped exponential back-off, the one way dvcq processes wait out a dependency that is down."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


def backoff(delay: float, *, floor: float = 0.5, cap: float = 5.0) -> float:
    """The next delay after `delay`: doubled, at least `floor`, at most `cap` seconds (real time)."""
    return min(max(delay * 2, floor), cap)


def retry_until_done(action: Callable[[], T], *, what: str, errors: tuple[type[Exception], ...]) -> T:
    """Run `action` until it succeeds, backing off while it raises one of `errors` (a dependency is down)."""
    delay = 0.0
    while True:
        try:
            return action()
        except errors as exc:
            delay = backoff(delay)
            log.warning("%s: dependency unavailable, retrying", what, extra={"error": repr(exc), "delay": delay})
            time.sleep(delay)


def run_forever(step: Callable[[], bool], *, tick: float, what: str, errors: tuple[type[Exception], ...]) -> None:
    """A worker's loop: run `step` every `tick` seconds, at once again when it reports more work (True); back
    off while it raises one of `errors` (a dependency is down); log any other exception and back off too, so a
    bug in one item never stops the worker for all the others."""
    delay = tick
    while True:
        try:
            busy = step()
            delay = tick
            if busy:
                continue
        except errors as exc:
            log.warning("%s: dependency unavailable", what, extra={"error": repr(exc), "delay": delay})
            delay = backoff(delay)
        except Exception:
            log.exception("%s failed", what)
            delay = backoff(delay)
        time.sleep(delay)
