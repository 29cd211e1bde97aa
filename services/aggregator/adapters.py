"""The aggregator's client of intake's API (a unit's report and its revisions), built in `bootstrap`."""

from __future__ import annotations

from typing import Any

from shared.clients import TIMEOUT_SECONDS, ServiceClient, ServiceError, quoted, refusal


class IntakeClient(ServiceClient):
    """Intake's report API as the board reads it, with the person's own token."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__(base_url, name="intake", timeout=timeout)

    def report(self, token: str, agency: str, period: str, *, revision: int | None = None) -> dict[str, Any] | None:
        """A unit's latest report of a period (or one revision); None when the unit has sent none."""
        path = f"/api/v1/reports/{quoted(agency)}/{quoted(period)}"
        resp = self.call("GET", path, token, params={"revision": revision} if revision else None)
        if resp.status_code == 404 and revision is None:
            return None
        if resp.status_code != 200:
            raise refusal(resp, self.name)
        try:
            body = resp.json()
        except ValueError:
            raise ServiceError(503) from None
        if not isinstance(body, dict):
            raise ServiceError(503)
        return body

    def revisions(self, token: str, agency: str, period: str) -> list[dict[str, Any]]:
        """The list of a report's revisions (number, time, who)."""
        return self.items(f"/api/v1/reports/{quoted(agency)}/{quoted(period)}/revisions", token)
