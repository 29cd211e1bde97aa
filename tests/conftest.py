"""Test fixtures for dvcq.

Fakes versus real components: `tests/unit/` tests pure domain code, handlers and helpers with small
recording fakes and no network. Everything under `tests/integration/`, `tests/e2e/` and `tests/faults/`
talks to the real RabbitMQ and the real MongoDB-compatible store (FerretDB locally, MongoDB elsewhere) over
TCP, started by the README's test command (`deploy/test.sh`); the services run as real processes started
by `shared.procs.Stack`, the same supervisor `dvcq stack up` uses. Each stack gets its own RabbitMQ vhost,
database prefix and ports, so stacks never see each other's messages or documents. Time moves only through
the simulated clock, and tests wait on the scheduler's `processed_up_to` or poll with a deadline.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import TestStack


@pytest.fixture(scope="session")
def stack() -> Iterator[TestStack]:
    """The session's shared stack (the plan's calendar, the clock at the plan's issue date at first)."""
    s = TestStack("s")
    try:
        s.start()
    except Exception:
        s.close()
        raise
    yield s
    s.close()
