"""Service-to-service HTTP for pages: a base client (timeouts, the person's token, one error type), the
scheduler's client, typed, which intake's and the aggregator's pages both use, and the header's unread count.

Each service builds its clients once in `bootstrap.build_dependencies` from its settings; views call methods and
never hold a URL. Every call is made with the person's own token, so the called service still decides what that
person may do.
"""

from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import requests

from shared.logs import current_correlation
from shared.paging import MAX_LIMIT
from shared.timerules import parse_instant

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PAGES = 20  # of MAX_LIMIT items: what a page of the web UI may gather from another service


class ServiceError(Exception):
    """Another service refused a call (4xx: its Vietnamese `message`, possibly "", and field messages) or could not
    answer (`unavailable`: no connection, a timeout, a 5xx or an answer that is not what its API promises)."""

    def __init__(self, status: int, message: str = "", fields: dict[str, str] | None = None) -> None:
        super().__init__(message or f"HTTP {status}")
        self.status = status
        self.message = message
        self.fields = fields or {}

    @property
    def unavailable(self) -> bool:
        """True when the other service did not answer usefully (the page says "try again later")."""
        return self.status >= 500


def quoted(text: str) -> str:
    """A path segment, percent-encoded (a unit code or period key is never trusted as a path)."""
    return urllib.parse.quote(text, safe="")


class ServiceClient:
    """JSON over HTTP to one service's API with the person's bearer token and the request's correlation id."""

    def __init__(self, base_url: str, *, name: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = timeout

    def call(
        self, method: str, path: str, token: str, *, extra_headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """The raw answer of any status; `ServiceError` (unavailable) when there is none."""
        headers = {
            "Authorization": f"Bearer {token}",
            "X-Request-ID": current_correlation() or "",
            **(extra_headers or {}),
        }
        try:
            return requests.request(
                method,
                f"{self.base_url}{path}",
                headers=headers,
                timeout=self.timeout,
                **kwargs,
            )
        except requests.RequestException as exc:
            log.warning("service unavailable", extra={"service": self.name, "error": repr(exc)})
            raise ServiceError(503) from None

    def json(self, method: str, path: str, token: str, **kwargs: Any) -> Any:
        """The decoded JSON of a 2xx answer; `ServiceError` with the service's message otherwise."""
        resp = self.call(method, path, token, **kwargs)
        if resp.status_code >= 300:
            raise refusal(resp, self.name)
        try:
            return resp.json()
        except ValueError:
            raise ServiceError(503) from None

    def items(self, path: str, token: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a list answer (objects only), following its `next` cursor page by page (the largest
        pages), at most MAX_PAGES of them: a longer list is one the caller should have narrowed."""
        out: list[dict[str, Any]] = []
        asked: dict[str, str | int] = {**(params or {}), "limit": MAX_LIMIT}
        for _ in range(MAX_PAGES):
            body = self.json("GET", path, token, params=asked)
            items = body.get("items") if isinstance(body, dict) else None
            cursor = body.get("next") if isinstance(body, dict) else None
            if not isinstance(items, list) or not isinstance(cursor, (str, type(None))):
                raise ServiceError(503)
            out += [item for item in items if isinstance(item, dict)]
            if cursor is None:
                return out
            asked["cursor"] = cursor
        log.warning("list longer than a client reads", extra={"service": self.name, "path": path})
        raise ServiceError(503)


def refusal(resp: requests.Response, service: str) -> ServiceError:
    """A non-2xx answer as a `ServiceError`: a 4xx keeps the service's message and field messages."""
    if not 400 <= resp.status_code < 500:
        log.warning("service failed a call", extra={"service": service, "status": resp.status_code, "url": resp.url})
        return ServiceError(503)
    try:
        error = resp.json().get("error")
    except (ValueError, AttributeError):
        error = None
    error = error if isinstance(error, dict) else {}
    given = error.get("fields")
    fields = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
    return ServiceError(resp.status_code, str(error.get("message") or ""), fields)


def unread_count(client: ServiceClient, path: str, token: str) -> int:
    """The person's unread count from an API answering `{"unread": n}` (the header's badge, `NavPage.unread_api`);
    `ServiceError` when it refuses, does not answer or answers anything else."""
    body = client.json("GET", path, token)
    found = body.get("unread") if isinstance(body, dict) else None
    if not isinstance(found, int) or isinstance(found, bool) or found < 0:
        raise ServiceError(503)
    return found


@dataclass(frozen=True)
class Obligation:
    """A unit's obligation as the scheduler lists it: its status and current deadline."""

    agency: str
    period: str
    status: str
    due_before: datetime
    received_at: datetime | None


@dataclass(frozen=True)
class ExtensionRequest:
    """A unit's request for a later deadline and, once decided, the decision."""

    id: str
    agency: str
    period: str
    status: str  # pending, granted or refused
    reason: str
    proposed_date: date
    requested_at: datetime
    requested_by: str | None = None
    decided_reason: str | None = None
    granted_date: date | None = None


def _obligation(item: dict[str, Any]) -> Obligation:
    return Obligation(
        agency=str(item["agency"]),
        period=str(item["period"]),
        status=str(item["status"]),
        due_before=parse_instant(item["due_before"]),
        received_at=parse_instant(item["received_at"]) if item.get("received_at") else None,
    )


def _request(item: dict[str, Any]) -> ExtensionRequest:
    return ExtensionRequest(
        id=str(item["id"]),
        agency=str(item["agency"]),
        period=str(item["period"]),
        status=str(item["status"]),
        reason=str(item.get("reason") or ""),
        proposed_date=date.fromisoformat(item["proposed_date"]),
        requested_at=parse_instant(item["requested_at"]),
        requested_by=item.get("requested_by"),
        decided_reason=item.get("decided_reason"),
        granted_date=date.fromisoformat(item["granted_date"]) if item.get("granted_date") else None,
    )


def _typed(parse: Any, items: list[dict[str, Any]]) -> list[Any]:
    """Parse every item; an item that is not what the API promises makes the answer unusable."""
    try:
        return [parse(item) for item in items]
    except (KeyError, TypeError, ValueError):
        raise ServiceError(503) from None


def _plan_params(plan: str | None, **params: Any) -> dict[str, Any] | None:
    """Query parameters without the empty ones, with `plan` when a plan is named (else the service's default: the
    plan in force today)."""
    kept = {name: value for name, value in {**params, "plan": plan}.items() if value not in (None, "")}
    return kept or None


class SchedulerClient(ServiceClient):
    """The scheduler's API as the pages use it: obligations, extension requests and their decisions, waivers."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        super().__init__(base_url, name="scheduler", timeout=timeout)

    def obligations(self, token: str, *, period: str | None = None) -> list[Obligation]:
        """The obligations the person may see (a unit officer: their unit's), optionally of one period."""
        params = {"period": period} if period else None
        return _typed(_obligation, self.items("/api/v1/obligations", token, params=params))

    def extension_requests(self, token: str, *, status: str | None = None) -> list[ExtensionRequest]:
        """The extension requests the person may see, optionally only those in one status."""
        params = {"status": status} if status else None
        return _typed(_request, self.items("/api/v1/extension-requests", token, params=params))

    def request_extension(self, token: str, agency: str, period: str, *, reason: str, proposed_date: str) -> str:
        """Ask for a later deadline; the new request's id."""
        path = f"/api/v1/obligations/{quoted(agency)}/{quoted(period)}/extension-requests"
        body = self.json("POST", path, token, json={"reason": reason, "proposed_date": proposed_date})
        return str(body.get("id", "")) if isinstance(body, dict) else ""

    def decide_extension(
        self, token: str, request_id: str, *, decision: str, reason: str, due_date: str | None = None
    ) -> None:
        """Grant (to `due_date`, or the proposed day) or refuse an extension request."""
        body: dict[str, Any] = {"decision": decision, "reason": reason}
        if due_date:
            body["due_date"] = due_date
        self.json("POST", f"/api/v1/extension-requests/{quoted(request_id)}/decision", token, json=body)

    def waive(self, token: str, agency: str, period: str, *, reason: str) -> None:
        """Waive a unit's obligation for a period."""
        path = f"/api/v1/obligations/{quoted(agency)}/{quoted(period)}/waive"
        self.json("POST", path, token, json={"reason": reason})

    # --- the plan and its versions (issue 14): Sở Nội vụ's plan pages ------------------------------------------

    def plan(self, token: str, *, on: str | None = None, plan: str | None = None) -> dict[str, Any]:
        """The plan `plan` (default: the plan in force today) as in force on `on` (YYYY-MM-DD; default today):
        units, calendar, ladder, recipients, days off."""
        body = self.json("GET", "/api/v1/plan", token, params=_plan_params(plan, on=on))
        if not isinstance(body, dict) or not isinstance(body.get("units"), list):
            raise ServiceError(503)
        return body

    def unit_list_file(self, token: str, *, plan: str | None = None) -> bytes:
        """The latest unit list of `plan` as the XLSX template."""
        resp = self.call("GET", "/api/v1/plan/units.xlsx", token, params=_plan_params(plan))
        if resp.status_code != 200:
            raise refusal(resp, self.name)
        return resp.content

    def import_unit_list(
        self, token: str, data: bytes, *, effective_from: str, filename: str, plan: str | None = None
    ) -> dict[str, Any]:
        """Upload a unit list of `plan`: the kept draft and its preview, or `ServiceError` 422 whose `fields` name
        every bad row and column (`row4.H`: "Dòng 4, cột H (...): ...")."""
        params = _plan_params(plan, filename=filename, effective_from=effective_from)
        headers = {"Content-Type": XLSX_TYPE}
        body = self.json("POST", "/api/v1/plan/imports", token, data=data, params=params, extra_headers=headers)
        if not isinstance(body, dict) or not isinstance(body.get("preview"), dict):
            raise ServiceError(503)
        return body

    def preview_import(self, token: str, draft: str, *, effective_from: str, plan: str | None = None) -> dict[str, Any]:
        """What publishing a kept draft of `plan` from `effective_from` would change."""
        path = f"/api/v1/plan/imports/{quoted(draft)}/preview"
        body = self.json("GET", path, token, params=_plan_params(plan, effective_from=effective_from))
        if not isinstance(body, dict) or not isinstance(body.get("preview"), dict):
            raise ServiceError(503)
        return body

    def publish_version(
        self, token: str, draft: str, *, effective_from: str, plan: str | None = None
    ) -> dict[str, Any]:
        """Publish a kept draft as the next version of `plan` from `effective_from`; the version's summary."""
        asked = {"draft": draft, "effective_from": effective_from}
        body = self.json("POST", "/api/v1/plan/versions", token, json=asked, params=_plan_params(plan))
        if not isinstance(body, dict):
            raise ServiceError(503)
        return body

    def plan_versions(self, token: str, *, plan: str | None = None) -> list[dict[str, Any]]:
        """Every published version of `plan` (default: the plan in force today) (number, effective day, who,
        when), oldest first; `ServiceError` (unavailable) when the scheduler does not run `plan`."""
        body = self.json("GET", "/api/v1/plan/versions", token, params=_plan_params(plan))
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or (plan is not None and body.get("plan") != plan):
            raise ServiceError(503)
        return [item for item in items if isinstance(item, dict)]

    def plan_version(self, token: str, number: int, *, plan: str | None = None) -> dict[str, Any]:
        """One published version of `plan` (default: the plan in force today) with its unit list (`units`, as a
        plan file writes units)."""
        body = self.json("GET", f"/api/v1/plan/versions/{number}", token, params=_plan_params(plan))
        if not isinstance(body, dict) or not isinstance(body.get("units"), list):
            raise ServiceError(503)
        return body

    def plan_diff(self, token: str, first: int, second: int, *, plan: str | None = None) -> list[dict[str, Any]]:
        """The unit changes of `plan` from version `first` to `second` (0: the plan file)."""
        body = self.json("GET", "/api/v1/plan/diff", token, params=_plan_params(plan, **{"from": first, "to": second}))
        units = body.get("units") if isinstance(body, dict) else None
        if not isinstance(units, list):
            raise ServiceError(503)
        return [u for u in units if isinstance(u, dict)]
