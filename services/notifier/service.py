"""Notifier as the stack sees it: its port, its processes, its queue and its `dvcq` commands."""

from shared.registry import NavPage, ServicePlugin

SERVICE = ServicePlugin(
    name="notifier",
    port=8003,
    description="Gửi thông báo, nhắc hạn và đôn đốc qua thư điện tử, webhook và hộp thư.",
    app="services.notifier.app:create_app()",
    workers=(
        ("relay", "services.notifier.relay"),
        ("consumer", "services.notifier.consumer"),
        ("sender", "services.notifier.sender"),
        ("digest", "services.notifier.digest"),
    ),
    consumer="services.notifier.consumer",
    routes=("/api/v1/inbox", "/api/v1/notifications", "/inbox"),
    pages=(
        NavPage(
            "inbox",
            "Hộp thư",
            "/inbox",
            ("agency", "home_affairs", "leadership", "observer", "admin"),
            landing=False,  # people visit their inbox; they land where they work
            unread_api="/api/v1/inbox/unread",
        ),
    ),
)
