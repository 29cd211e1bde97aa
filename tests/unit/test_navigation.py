"""Navigation by role (shared.navigation, issue 15 point 2): each role's header links and landing page at the one
address, and the `next` page a login may return to (local paths only)."""

from __future__ import annotations

import pytest

from shared.navigation import header_links, landing, safe_next

ONE = "https://dvcq.example"
URLS = dict.fromkeys(("intake", "scheduler", "notifier", "aggregator"), ONE)


def test_each_role_lands_where_it_works() -> None:
    assert landing("agency", URLS) == f"{ONE}/"
    assert landing("home_affairs", URLS) == f"{ONE}/board"
    assert landing("observer", URLS) == f"{ONE}/board"
    assert landing("leadership", URLS) == f"{ONE}/overview"  # its one-page summary
    assert landing("service", URLS) == "/"  # no page of its own


def test_the_header_shows_only_what_the_role_may_use_and_marks_the_current_page() -> None:
    officer = header_links("agency", "intake", "/reports", URLS)
    assert [(link.key, link.href, link.current) for link in officer] == [
        ("home", f"{ONE}/", False),
        ("reports", f"{ONE}/reports", True),
        ("inbox", f"{ONE}/inbox", False),
    ]
    specialist = header_links("home_affairs", "aggregator", "/board", URLS)
    assert [(link.key, link.current) for link in specialist] == [("board", True), ("plan", False), ("inbox", False)]
    assert [link.current for link in header_links("home_affairs", "aggregator", "/plan/diff", URLS)] == [
        False,
        True,
        False,
    ]
    assert not any(link.current for link in header_links("home_affairs", "intake", "/board", URLS))


def test_without_one_address_each_link_goes_to_its_own_service() -> None:
    own = {
        "intake": "http://127.0.0.1:8001",
        "notifier": "http://127.0.0.1:8003",
        "aggregator": "http://127.0.0.1:8004",
    }
    assert [link.href for link in header_links("observer", "aggregator", "/", own)] == [
        "http://127.0.0.1:8004/board",
        "http://127.0.0.1:8004/plan",
        "http://127.0.0.1:8003/inbox",
    ]


def test_every_role_with_pages_has_its_inbox_last_with_its_unread_count_and_never_lands_there() -> None:
    for role in ("agency", "home_affairs", "leadership", "observer", "admin"):
        links = header_links(role, "notifier", "/inbox", URLS)
        assert (links[-1].key, links[-1].current, links[-1].unread_api) == ("inbox", True, "/api/v1/inbox/unread")
        assert all(link.unread_api == "" for link in links[:-1])  # only the inbox has a count
        assert landing(role, URLS) != f"{ONE}/inbox"
    assert header_links("service", "notifier", "/inbox", URLS) == []


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/board?period=2019-H1", "/board?period=2019-H1"),
        ("/periods/2019-H1/units/H_CAUKE", "/periods/2019-H1/units/H_CAUKE"),
        ("", None),
        (None, None),
        ("board", None),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("/x\r\nSet-Cookie: a=b", None),
        ("/" + "a" * 600, None),
    ],
)
def test_a_login_returns_only_to_a_local_page(asked: str | None, kept: str | None) -> None:
    assert safe_next(asked) == kept
