"""Aggregator as the stack sees it: its port, its processes, its queue and its `dvcq` commands."""

from shared.registry import NavPage, ServicePlugin

SERVICE = ServicePlugin(
    name="aggregator",
    port=8004,
    description="Theo dõi tình hình báo cáo và tổng hợp số liệu cho Sở Nội vụ.",
    app="services.aggregator.app:create_app()",
    workers=(("consumer", "services.aggregator.consumer"),),
    consumer="services.aggregator.consumer",
    commands="services.aggregator.cli",
    routes=(
        "/board",
        "/overview",
        "/periods",
        "/plan",
        "/api/v1/compliance",
        "/api/v1/dead-letters",
        "/api/v1/documents",
        "/api/v1/exports",
        "/api/v1/overdue",
        "/api/v1/periods",
        "/api/v1/summary",
    ),
    pages=(
        NavPage("overview", "Tổng quan", "/overview", ("leadership",)),
        NavPage("board", "Bảng theo dõi", "/board", ("home_affairs", "observer", "leadership", "admin")),
        NavPage("plan", "Kế hoạch và đơn vị", "/plan", ("home_affairs", "observer", "admin")),
    ),
    banner="Compliance:  curl -H \"Authorization: Bearer $TOKEN\" '{url}/api/v1/compliance?period=2019-H1'",
)
