"""The image's HEALTHCHECK: GET /healthz of the gunicorn the container runs; a worker (`python -m ...`) has no
HTTP side and is healthy while it runs (it exits on what it cannot survive, and the restart policy acts)."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

GUNICORN_DEFAULT_PORT = 8000


def health_url(argv: Sequence[str]) -> str | None:
    """The /healthz URL of the gunicorn that `argv` starts (its --bind/-b port), or None for any other command."""
    if not any(Path(part).name == "gunicorn" for part in argv):
        return None
    port = GUNICORN_DEFAULT_PORT
    for index, part in enumerate(argv):
        if part.startswith("--bind="):
            port = int(part.removeprefix("--bind=").rsplit(":", 1)[-1])
        elif part in ("--bind", "-b") and index + 1 < len(argv):
            port = int(argv[index + 1].rsplit(":", 1)[-1])
    return f"http://127.0.0.1:{port}/healthz"


def main() -> int:
    """Exit 0 when the container's service answers /healthz with 200 (or runs no HTTP side), 1 otherwise."""
    # The command the container runs is PID 1 (or follows an init such as tini, which changes nothing here).
    argv = Path("/proc/1/cmdline").read_bytes().decode().split("\0")
    url = health_url([part for part in argv if part])
    if url is None:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
