"""The base of every service's domain errors: what `shared.web` answers them with (plain Python)."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of a service's domain refused: `message` is Vietnamese (a person reads it), `field` names the input at
    fault, if any. Each service derives its own base from it and maps its errors to HTTP codes in one table."""

    field: str | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
