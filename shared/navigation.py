"""Navigation by role (issue 15 point 2): one header on every page of every service, the same links for a role
whichever service draws the page, each role's landing page after login, and the `next` page a login returns to.

The pages are the services' own: each declares its navigation entries in its registry entry
(`ServicePlugin.pages`, shared.registry), so this module names no service. The header lists, in the order of the
services' ports, the entries the person's role may use, the inbox last; the first of them is the role's landing
page (a unit's officer: its obligations; Sở Nội vụ, observers and admins: the board; the leadership: its summary).
Links are absolute at the stack's public address (DVCQ_PUBLIC_URL), so a page served on a service's own port still
leads to the one address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.registry import NavPage, services

ROLE_LABELS = {
    "agency": "Cán bộ đầu mối của đơn vị",
    "home_affairs": "Chuyên viên Sở Nội vụ",
    "leadership": "Lãnh đạo UBND tỉnh, Sở Nội vụ",
    "observer": "Quan sát viên",
    "admin": "Quản trị hệ thống",
    "service": "Tài khoản dịch vụ",
}
MAX_NEXT = 500


@dataclass(frozen=True)
class NavLink:
    """One link of the header, for one person on one page."""

    key: str
    label: str
    href: str
    current: bool
    unread_api: str = ""  # where the person's unread count comes from (NavPage.unread_api)
    unread: int | None = None  # that count, once asked (None: not known, no badge)


def pages_for(role: str) -> list[tuple[str, NavPage]]:
    """The navigation entries a role may use, with the service that serves each, in the services' order, the
    pages it works in before those it only visits (`NavPage.landing`: the inbox comes last)."""
    found = [(svc.name, page) for svc in services() for page in svc.pages if role in page.roles]
    return sorted(found, key=lambda entry: not entry[1].landing)


def landing(role: str, public_urls: Mapping[str, str]) -> str:
    """Where a role lands after login: its first navigation entry at its service's public address (the one
    address behind the proxy); "/" for a role with none."""
    allowed = pages_for(role)
    if not allowed:
        return "/"
    service, page = allowed[0]
    return f"{public_urls.get(service, '')}{page.path}"


def header_links(role: str, service: str, path: str, public_urls: Mapping[str, str]) -> list[NavLink]:
    """The header's links for a role on the page at `path` of `service` (the current one marked)."""
    links = []
    for owner, page in pages_for(role):
        current = owner == service and (path == page.path or (page.path != "/" and path.startswith(page.path + "/")))
        href = f"{public_urls.get(owner, '')}{page.path}"
        links.append(NavLink(page.key, page.label, href, current, page.unread_api))
    return links


def safe_next(value: str | None) -> str | None:
    """A `next` page a login may return to: a local path of the one address (`/...`), never another site
    (`//host`, `https://...`, `/\\host`), control characters or an over-long value; None otherwise."""
    if not value or len(value) > MAX_NEXT or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 0x20 or c in "\\\x7f" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value
