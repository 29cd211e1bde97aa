"""The stack's one public address (issue 15 point 1): a reverse proxy (Debian's Caddy) in front of the services.

Every page and API is under one origin, `https://<host>:<https port>`, with a certificate from Caddy's own local
CA (`tls internal`, kept in `storage`: trust `root_certificate`, or accept it in the browser once), HSTS, and a
plain-HTTP listener that redirects to it (308). Paths go to services by the `routes` each declares
(`shared.registry.ServicePlugin.routes`), the longest matching prefix first, as an Ingress does; the service
that declares "/" gets the rest. Probes, metrics, API descriptions and event feeds (`INTERNAL`) are not
routed: they stay on each service's own port, bound to 127.0.0.1; the proxy answers `/healthz` itself.

The services keep their own processes and ports. They learn the public address from DVCQ_PUBLIC_URL
(`shared.settings`), trust the proxy's X-Forwarded-* headers from DVCQ_TRUSTED_PROXIES, and set `Secure`
cookies on requests that came over HTTPS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.registry import services
from shared.settings import ROOT, SettingsError

CADDYFILE = "Caddyfile"
STORAGE = ROOT / "var" / "edge"  # the local CA and certificates: one per checkout, shared by its stacks
# What every service serves for operators and other services (shared.web): never through the public address
INTERNAL = ("/metrics", "/readyz", "/openapi.json", "/api/v1/events")
HSTS = "max-age=31536000"  # one year; no includeSubDomains: the stack does not own the host's other names


@dataclass(frozen=True)
class Edge:
    """Where the proxy listens and keeps its local CA."""

    host: str
    https_port: int
    http_port: int
    storage: Path

    @property
    def url(self) -> str:
        """The one public address."""
        return f"https://{self.host}:{self.https_port}"

    @property
    def root_certificate(self) -> Path:
        """The local CA's root certificate (PEM): what a client trusts to verify the address."""
        return self.storage / "pki" / "authorities" / "local" / "root.crt"


def edge_from_env(env: Mapping[str, str] = os.environ) -> Edge:
    """The local stack's proxy: DVCQ_EDGE_HOST (127.0.0.1), DVCQ_EDGE_HTTPS_PORT (8443), DVCQ_EDGE_HTTP_PORT
    (8080); the CA in var/edge."""
    try:
        https_port = int(env.get("DVCQ_EDGE_HTTPS_PORT", "8443"))
        http_port = int(env.get("DVCQ_EDGE_HTTP_PORT", "8080"))
    except ValueError as exc:
        raise SettingsError("DVCQ_EDGE_HTTPS_PORT and DVCQ_EDGE_HTTP_PORT must be port numbers") from exc
    return Edge(env.get("DVCQ_EDGE_HOST", "127.0.0.1"), https_port, http_port, STORAGE)


def routes() -> list[tuple[str, str]]:
    """(path prefix, service) for every declared route, the longest prefix first ("/" last)."""
    declared = [(prefix, svc.name) for svc in services() for prefix in svc.routes]
    prefixes = [prefix for prefix, _ in declared]
    duplicated = sorted({p for p in prefixes if prefixes.count(p) > 1})
    if duplicated:
        raise ValueError(f"path prefixes routed to two services: {', '.join(duplicated)}")
    return sorted(declared, key=lambda route: (-len(route[0]), route[0]))


def matches(prefix: str, path: str) -> bool:
    """Whether a path falls under a route's prefix: the prefix itself or below it ("/" matches every path)."""
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def route_for(path: str) -> str | None:
    """The service a path goes to at the public address (None when no route matches)."""
    return next((service for prefix, service in routes() if matches(prefix, path)), None)


def local_upstreams(ports: Mapping[str, int]) -> dict[str, str]:
    """Where a local stack's proxy finds each service: its port on 127.0.0.1."""
    return {name: f"127.0.0.1:{port}" for name, port in ports.items()}


def caddyfile(edge: Edge, upstreams: Mapping[str, str], *, bind: str | None = None) -> str:
    """The proxy's configuration: the one address `edge.url`, listening on `bind` (default `edge.host`), each
    route sent to its service's `host:port` in `upstreams`."""
    bind = bind or edge.host
    lines = [
        "{",
        "\tadmin off",
        "\tauto_https disable_redirects",
        "\tskip_install_trust",
        f"\thttp_port {edge.http_port}",
        f"\thttps_port {edge.https_port}",
        f"\tstorage file_system {edge.storage}",
        "\tlog {",
        "\t\toutput stderr",
        "\t\tlevel WARN",
        "\t}",
        "}",
        "",
        f"https://{edge.host}:{edge.https_port} {{",
        f"\tbind {bind}",
        "\ttls internal",
        f'\theader Strict-Transport-Security "{HSTS}"',
        "\theader -Server",
        f"\t@internal path {' '.join(f'{p} {p}/*' for p in INTERNAL)}",
        "\thandle @internal {",
        '\t\trespond "Không tìm thấy." 404',
        "\t}",
        "\thandle /healthz {",  # the proxy's own liveness
        '\t\trespond "ok" 200',
        "\t}",
    ]
    fallback = None
    for number, (prefix, service) in enumerate(routes(), start=1):
        upstream = upstreams[service]
        if prefix == "/":
            fallback = upstream
            continue
        lines += [
            f"\t@route{number} path {prefix} {prefix.rstrip('/')}/*",
            f"\thandle @route{number} {{",
            f"\t\treverse_proxy {upstream}",
            "\t}",
        ]
    if fallback is not None:
        lines += ["\thandle {", f"\t\treverse_proxy {fallback}", "\t}"]
    else:
        lines += ["\thandle {", '\t\trespond "Không tìm thấy." 404', "\t}"]
    lines += [
        "}",
        "",
        f"http://{edge.host}:{edge.http_port} {{",
        f"\tbind {bind}",
        f"\tredir https://{edge.host}:{edge.https_port}{{uri}} 308",
        "}",
        "",
    ]
    return "\n".join(lines)


# --- docker-compose's proxy ------------------------------------------------------------------------------------

COMPOSE_CADDYFILE = ROOT / "deploy" / "compose" / "Caddyfile"
# Caddy reads the public host name from the environment at start; 127.0.0.1 by default, as the local stack's (a
# browser keeps HSTS for a name such as localhost, for every port, for a year: never for an IP address)
COMPOSE_HOST = "{$DVCQ_EDGE_HOST:127.0.0.1}"


def compose_caddyfile() -> str:
    """docker-compose's proxy configuration (deploy/compose/Caddyfile): the same routes, each to its service's
    container by name, the local CA in the container's /data volume, listening on every interface of the
    container (only the proxy's ports are published)."""
    upstreams = {svc.name: f"{svc.name}:{svc.port}" for svc in services()}
    edge = Edge(COMPOSE_HOST, 8443, 8080, Path("/data"))
    header = (
        "# Generated by `python -m shared.edge` from the services' routes (shared/edge.py): do not edit by hand;\n"
        "# tests/integration/test_deploy_files.py checks it is current. DVCQ_EDGE_HOST is the public host name.\n"
    )
    return header + caddyfile(edge, upstreams, bind="0.0.0.0")


if __name__ == "__main__":
    COMPOSE_CADDYFILE.parent.mkdir(parents=True, exist_ok=True)
    COMPOSE_CADDYFILE.write_text(compose_caddyfile(), encoding="utf-8")
    print(f"wrote {COMPOSE_CADDYFILE.relative_to(ROOT)}")
