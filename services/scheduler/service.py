"""Scheduler as the stack sees it: its port, its processes, its queue and its `dvcq` commands."""

from shared.registry import ServicePlugin

SERVICE = ServicePlugin(
    name="scheduler",
    port=8002,
    description="Lịch báo cáo, nghĩa vụ báo cáo, hạn nộp, nhắc nhở và đôn đốc.",
    app="services.scheduler.app:create_app()",
    workers=(
        ("relay", "services.scheduler.relay"),
        ("loop", "services.scheduler.loop"),
        ("consumer", "services.scheduler.consumer"),
    ),
    consumer="services.scheduler.consumer",
    commands="services.scheduler.cli",
    routes=(
        "/api/v1/calendar",
        "/api/v1/clock",
        "/api/v1/extension-requests",
        "/api/v1/obligations",
        "/api/v1/plan",
        "/api/v1/units",
    ),
)
