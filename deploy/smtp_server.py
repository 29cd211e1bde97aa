"""Local SMTP server (aiosmtpd) that keeps every message it receives in a Maildir, envelope included."""

import argparse
import asyncio
import mailbox
import signal
import socket
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session


class KeepingHandler:
    """Stores each message as one Maildir file, headed by X-Envelope-From and X-Envelope-To."""

    def __init__(self, maildir: Path) -> None:
        maildir.parent.mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(maildir, create=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        # RFC 6532 allows UTF-8 in header values, so SMTPUTF8 addresses are written as they came.
        head = f"X-Envelope-From: {envelope.mail_from or ''}\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\n"
        key = self.maildir.add(head.encode("utf-8") + content.replace(b"\r\n", b"\n"))
        print(f"smtp: kept {key} from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, maildir: Path) -> None:
    """Accept mail on host:port until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    handler = KeepingHandler(maildir)
    hostname = socket.gethostname()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname=hostname, enable_SMTPUTF8=True), host=host, port=port
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"smtp: listening on {host}:{port}, keeping mail in {maildir}", flush=True)
    async with server:
        await stop.wait()
    print("smtp: stopped", flush=True)


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, required=True, help="Maildir to keep messages in (created)")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.maildir))


if __name__ == "__main__":
    main()
