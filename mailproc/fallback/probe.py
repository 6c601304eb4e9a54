"""The mail-health probe: log in to each mailbox and greet the SMTP server."""

from __future__ import annotations

import smtplib
import socket
from typing import TYPE_CHECKING

from mailproc.errors import MailprocError
from mailproc.fallback import health
from mailproc.source.factory import build_source

if TYPE_CHECKING:
    from mailproc.app import App


def probe_all(app: App) -> dict:
    """Mail-health probe: log in to each mailbox and greet the SMTP server, record the result."""
    results: dict = {}
    checks = []
    for box in app.settings.mailboxes:
        if box.type == "imap":
            checks.append((box.name, "imap", lambda box=box: _probe_imap(app, box)))
    out = app.settings.outgoing
    if out.transport == "smtp":
        def smtp_check():
            with smtplib.SMTP(out.host, out.port, timeout=out.timeout_seconds) as smtp:
                code, reply = smtp.ehlo()
            if code != 250:
                raise MailprocError(f"EHLO answered {code} {reply!r}")
        checks.append((f"{out.host}:{out.port}", "smtp", smtp_check))
    for target, transport, check in checks:
        try:
            check()
            ok, error = True, None
        except (MailprocError, OSError, smtplib.SMTPException) as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
        with app.db.transaction() as session:
            health.record_attempt(session, target, transport, ok=ok, error=error,
                                  now=app.clock.now())
        results[target] = "ok" if ok else error
    return results


def _probe_imap(app: App, box) -> None:
    source = build_source(app, box)
    try:
        if hasattr(source, "check"):
            source.check()  # logs in: proves credentials too
            return
        with socket.create_connection((box.host, box.port), timeout=10) as sock:
            if box.security == "tls":
                return  # the greeting comes after TLS; reaching the port is what we can say
            greeting = sock.recv(200)
        if not greeting.startswith(b"* OK"):
            raise OSError(f"unexpected IMAP greeting {greeting[:60]!r}")
    finally:
        source.close()
