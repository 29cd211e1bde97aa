"""gunicorn settings shared by the four HTTP services: no preload (clients are built in each worker)."""

import importlib
import os

from prometheus_client import multiprocess

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
preload_app = False
timeout = 30
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = "warning"
# gunicorn believes X-Forwarded-* (the scheme Flask's request.is_secure reports) from the proxies the services trust
# (DVCQ_TRUSTED_PROXIES); it takes exact addresses only, so a network of that list is left out here (name the
# proxy by its address).
forwarded_allow_ips = (
    ",".join(p.strip() for p in os.environ.get("DVCQ_TRUSTED_PROXIES", "").split(",") if p.strip() and "/" not in p)
    or "127.0.0.1"
)


def child_exit(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Drop a dead worker's metric files so /metrics keeps aggregating live workers only."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    """Import the service's modules once in the master, so that a worker forked after a crash (or a kill) serves
    within a fraction of a second instead of re-importing Flask and the service for a second or more. Nothing
    connects at import time (tests/integration/test_process_hygiene.py), so the master still holds no client:
    each worker builds its own in `create_app()`, called after the fork (no preload)."""
    importlib.import_module(server.app.app_uri.split(":", 1)[0])
