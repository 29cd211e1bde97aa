"""Benchmark: the notifier's deliveries per second to the local SMTP server with two senders (SPEC
"Non-functional targets").

Data set: `--notifications` (600) pending e-mail notifications, due now, written by the notifier's own store code
(`MongoLedgerStore.record_many`) into a database of its own on MONGO_URL (FerretDB on PostgreSQL locally), each
with a Vietnamese subject and a text and HTML body of about 2 kB like a real reminder, to one of 50 addresses.

Series, in this process and its children, against the SMTP server of SMTP_URL (the run's own, `bench/run.sh all`):
- baseline: the same messages sent by two threads with `SmtpTransport.send` alone (a fresh connection each, as
  the sender does): the SMTP server's and the transport's floor, with no store at all;
- the design: two real sender processes (`python -m services.notifier.sender`) on the ledger, started together;
  deliveries per second between the first and the last `delivered_at` the ledger records, so the processes'
  start-up is not counted. Every notification must end delivered, once (checked: one attempt each).
Output: one JSON document on stdout. Run: `bash bench/run.sh sender [--notifications N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.notifier.domain import DELIVERED, EMAIL, PENDING, Notification
from services.notifier.mailer import SmtpTransport
from services.notifier.store import ATTEMPTS, NOTIFICATIONS, MongoLedgerStore
from shared.settings import ROOT, Settings
from shared.store import connect

SENDERS = 2
BODY = (
    "Kính gửi đồng chí phụ trách báo cáo,\n\nĐơn vị chưa gửi báo cáo kết quả thực hiện công tác dân vận chính "
    "quyền kỳ 6 tháng đầu năm. Hạn gửi là ngày 10/06/2019. Đề nghị đơn vị hoàn thành và gửi báo cáo về Sở Nội vụ "
    "đúng hạn.\n\n"
) * 6


def notifications(count: int, now: datetime) -> list[Notification]:
    """`count` pending e-mails due `now`, 50 recipients, bodies like a reminder's."""
    out = []
    for i in range(count):
        out.append(
            Notification(
                id=f"bench:{i:06d}:reminder_7:email",
                event_id=f"bench-event-{i}",
                event_type="obligation.reminder_7",
                agency=f"BENCH{i:06d}",
                period="2019-H1",
                level="reminder_7",
                recipient=f"can-bo-{i % 50}@example.vn",
                recipient_role="officer",
                recipient_name=f"Cán bộ {i % 50}",
                channel=EMAIL,
                status=PENDING,
                decided_at=now,
                subject=f"Nhắc hạn báo cáo dân vận chính quyền: đơn vị thử {i}",
                text=BODY,
                html=f"<p>{BODY}</p>",
                message_id=f"<bench-{i}@dvcq.test>",
                next_attempt_at=now,
            )  # fmt: skip
        )
    return out


def baseline(transport: SmtpTransport, items: list[Notification]) -> float:
    """Messages per second sent by SENDERS threads with the transport alone."""
    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(transport.send, items))
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    """Build the ledger, run the series, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=600)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every delivery")
    args = parser.parse_args()
    prefix = f"bench_sender_{uuid.uuid4().hex[:8]}_"
    settings = replace(Settings.from_env(), db_prefix=prefix)
    client = connect(settings, app_name="bench-sender")
    db = client[settings.db_name("notifier")]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        now = datetime.now(UTC)
        items = notifications(args.notifications, now)
        transport = SmtpTransport(settings.smtp_url, settings.mail_from)
        floor = baseline(transport, [replace(n, message_id=f"<floor-{n.id}@dvcq.test>") for n in items])
        ledger = MongoLedgerStore(db)
        ledger.ensure_indexes()
        ledger.record_many(items)
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(DVCQ_DB_PREFIX=prefix, LOG_LEVEL="WARNING")
        started = time.monotonic()
        for _ in range(SENDERS):
            procs.append(
                subprocess.Popen([sys.executable, "-m", "services.notifier.sender"], cwd=ROOT, env=env)  # noqa: S603
            )
        delivered: list[dict[str, Any]] = []
        while time.monotonic() - started < args.timeout:
            delivered = list(db[NOTIFICATIONS].find({"status": DELIVERED}, {"delivered_at": 1}))
            if len(delivered) == len(items) or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.5)
        if len(delivered) != len(items):
            raise RuntimeError(f"{len(delivered)} of {len(items)} delivered in {args.timeout:.0f} s")
        attempts = db[ATTEMPTS].count_documents({})
        if attempts != len(items):
            raise RuntimeError(f"{attempts} attempts for {len(items)} notifications: a message was sent twice")
        instants = sorted(d["delivered_at"] for d in delivered)
        span = (instants[-1] - instants[0]).total_seconds()
        rate = (len(instants) - 1) / span if span > 0 else None
        print(
            json.dumps(
                {
                    "benchmark": "sender",
                    "store": f"FerretDB {client.admin.command('buildInfo').get('ferretdbVersion')}",
                    "senders": SENDERS,
                    "notifications": len(items),
                    "deliveries_per_second": round(rate, 1) if rate else None,
                    "baseline_transport_sends_per_second": round(floor, 1),
                    "wall_seconds_with_startup": round(time.monotonic() - started, 1),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        client.drop_database(settings.db_name("notifier"))
        client.close()


if __name__ == "__main__":
    main()
