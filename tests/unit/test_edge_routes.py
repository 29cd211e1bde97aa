"""The one public address's routes (shared.edge): every page and API of every service goes to that service, no
prefix is claimed twice, operators' paths are never routed, and the proxy's configuration says so."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from shared.edge import INTERNAL, Edge, caddyfile, local_upstreams, matches, route_for, routes
from shared.registry import service_names
from shared.settings import Settings, default_ports

SETTINGS = Settings.from_env({"DVCQ_SECRET": "s" * 40, "MONGO_URL": "mongodb://127.0.0.1:9/"})
OPERATORS = (*INTERNAL, "/healthz", "/static")


def _public_rules(service: str) -> list[str]:
    app = importlib.import_module(f"services.{service}.app").create_app(SETTINGS)
    rules = [str(rule.rule) for rule in app.url_map.iter_rules()]
    return [r for r in rules if not any(matches(p, r) for p in OPERATORS) and r != "/"]


@pytest.mark.parametrize("service", service_names())
def test_every_page_and_api_of_a_service_goes_to_that_service(service: str) -> None:
    rules = _public_rules(service)
    assert rules, service
    wrong = {rule: route_for(rule) for rule in rules if route_for(rule) != service}
    assert wrong == {}


def test_prefixes_are_claimed_once_longest_first_and_the_rest_goes_to_intake() -> None:
    listed = routes()
    assert [len(p) for p, _ in listed] == sorted((len(p) for p, _ in listed), reverse=True)
    assert listed[-1] == ("/", "intake")
    assert route_for("/") == "intake" and route_for("/khong-co") == "intake"
    assert route_for("/api/v1/plan/versions/2") == "scheduler" and route_for("/plan/diff") == "aggregator"
    assert route_for("/board/assets/board.css") == "aggregator" and route_for("/assets/intake.css") == "intake"
    assert not matches("/plan", "/planning") and matches("/plan", "/plan") and matches("/plan", "/plan/x")


def test_the_proxy_configuration_routes_each_prefix_refuses_operators_paths_and_redirects_plain_http() -> None:
    ports = default_ports()
    text = caddyfile(Edge("127.0.0.1", 9443, 9080, Path("/tmp/edge-ca")), local_upstreams(ports))
    assert "https://127.0.0.1:9443 {" in text and "tls internal" in text and "admin off" in text
    assert "redir https://127.0.0.1:9443{uri} 308" in text and "http://127.0.0.1:9080 {" in text
    assert 'header Strict-Transport-Security "max-age=31536000"' in text
    for path in INTERNAL:
        assert f" {path} {path}/*" in text.split("handle @internal")[0]
    blocks = text.split("\n\t@route")[1:]
    routed = {b.split(" path ")[1].split()[0]: int(b.split("reverse_proxy 127.0.0.1:")[1].split()[0]) for b in blocks}
    assert routed == {prefix: ports[service] for prefix, service in routes() if prefix != "/"}
    fallback = text.split("\thandle {\n\t\treverse_proxy 127.0.0.1:")[1].split()[0]
    assert int(fallback) == ports["intake"]
