"""The registry of services: each service declares itself (ports, processes, queue, commands) and `shared/`
finds it through the `dvcq.services` entry points, so the library never names a service.

A service's declaration is `services/<name>/service.py` (`SERVICE = ServicePlugin(...)`), listed in
pyproject's `[project.entry-points."dvcq.services"]`; re-run `pip install -e .` after adding one
(deploy/lib.sh's ensure_venv does when pyproject.toml changes). The declaration only names modules: its
consumer (which holds the EVENT_HANDLERS table and the QUEUE derived from it) and its commands are imported
when asked for, so reading the registry stays cheap for every process that reads its settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

GROUP = "dvcq.services"


@dataclass(frozen=True)
class NavPage:
    """A page people reach from the header (`shared.navigation`): its key (the link's id is `nav-<key>`),
    Vietnamese label, path at the one public address and the roles that may use it.

    `landing` False: a page people visit but do not work in (the inbox), never a role's landing page and listed
    after the others. `unread_api`: the path of an API answering `{"unread": n}` for the person, the count the
    header shows beside the link (`shared.web.navigation_context`).
    """

    key: str
    label: str
    path: str
    roles: tuple[str, ...]
    landing: bool = True
    unread_api: str = ""


@dataclass(frozen=True)
class ServicePlugin:
    """What a service contributes to the stack.

    `port` is its HTTP side's default port (also the order services are listed in), `app` the gunicorn
    application spec, `workers` its other processes as (process name suffix, module run with `python -m`),
    `consumer` the module holding its QUEUE (None when it consumes nothing), `commands` a module whose
    `register(subparsers)` adds its `dvcq` commands, `banner` a line `dvcq stack up` prints (`{url}` is the
    stack's one public address), `hosts_login` whether its pages are where people log in and out (other
    services' pages send them there and may post their logout form to it), `routes` the path prefixes of its
    pages and APIs at the stack's one public address (`shared.edge`: a prefix matches itself and what lies
    under it; "/" is the service every other path goes to). Probes, metrics and event feeds are not routed:
    they stay on the service's own port. `pages` its entries of the header every page shows
    (`shared.navigation`).
    """

    name: str
    port: int
    description: str
    app: str
    workers: tuple[tuple[str, str], ...] = ()
    consumer: str | None = None
    commands: str | None = None
    banner: str = ""
    hosts_login: bool = False
    routes: tuple[str, ...] = ()
    pages: tuple[NavPage, ...] = ()


@cache
def services() -> tuple[ServicePlugin, ...]:
    """Every registered service, in the order of their default ports."""
    found = []
    for entry in entry_points(group=GROUP):
        plugin = entry.load()
        if not isinstance(plugin, ServicePlugin) or plugin.name != entry.name:
            raise TypeError(f"entry point {entry.name} of {GROUP} is not the ServicePlugin of that service")
        found.append(plugin)
    if not found:
        raise RuntimeError(f"no service registered under {GROUP}: run `pip install -e .` in the repository")
    return tuple(sorted(found, key=lambda p: p.port))


def service_names() -> tuple[str, ...]:
    """The registered services' names."""
    return tuple(p.name for p in services())


def service(name: str) -> ServicePlugin:
    """One registered service; KeyError if there is none of that name."""
    for plugin in services():
        if plugin.name == name:
            return plugin
    raise KeyError(f"no service {name!r} is registered")


def registered_description(name: str) -> str:
    """A service's one-line description ('' for a name no service registered, e.g. a test app's)."""
    try:
        return service(name).description
    except KeyError:
        return ""
