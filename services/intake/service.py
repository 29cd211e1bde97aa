"""Intake as the stack sees it: its port, its processes, its queue and its `dvcq` commands."""

from shared.registry import NavPage, ServicePlugin

SERVICE = ServicePlugin(
    name="intake",
    port=8001,
    description="Tiếp nhận báo cáo công tác dân vận chính quyền của các đơn vị.",
    app="services.intake.app:create_app()",
    workers=(
        ("relay", "services.intake.relay"),
        ("consumer", "services.intake.consumer"),
    ),
    consumer="services.intake.consumer",
    commands="services.intake.cli",
    hosts_login=True,
    pages=(
        NavPage("home", "Nghĩa vụ báo cáo", "/", ("agency",)),
        NavPage("reports", "Báo cáo đã gửi", "/reports", ("agency",)),
    ),
    routes=(
        "/",
        "/login",
        "/logout",
        "/account",
        "/reports",
        "/assets",
        "/api/v1/login",
        "/api/v1/logout",
        "/api/v1/reports",
        "/api/v1/drafts",
        "/api/v1/templates",
    ),
)
