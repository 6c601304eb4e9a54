"""Latency of one new mail on an idle system: from the moment it reaches the IMAP server
(Dovecot on loopback) until its acknowledgement arrives at the SMTP sink (aiosmtpd), with an
already running `mailproc run` waiting in IMAP IDLE. The issue's target: within 1 second.

    .venv/bin/python bench/latency.py [--mails 10] [--gap 3] [--kb lexical|semantic]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import (  # noqa: E402
    DovecotServer, ImapAccount, SmtpSink, free_port, make_dovecot_dir,
)
from tests.test_procfile import env_for  # noqa: E402


def mail(n: int) -> bytes:
    return (f"From: Kim <kim{n}@kunde.example>\r\nTo: support@example.com\r\n"
            f"Subject: Printer {n} prints blank pages\r\nMessage-ID: <lat-{n}@kunde.example>\r\n"
            f"Date: Mon, 23 Nov 2026 09:00:00 +0100\r\n\r\nPrinter {n} prints blank pages "
            "since this morning. Can you help?\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds of quiet between mails")
    parser.add_argument("--kb", choices=["lexical", "semantic"], default="semantic")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mailproc-latency-"))
    dovecot_dir = make_dovecot_dir()
    dovecot = DovecotServer(dovecot_dir, free_port())
    dovecot.start()
    sink = SmtpSink()
    sink.start()
    user, password = "latency", secrets.token_urlsafe(12)
    dovecot.add_user(user, password)
    account = ImapAccount(server=dovecot, user=user, password=password)
    env = env_for(tmp, None)
    env.pop("MAILPROC_NOW")
    env.update({"MAILPROC_IMAP_HOST": account.host, "MAILPROC_IMAP_PORT": str(account.port),
                "MAILPROC_IMAP_USER": user, "MAILPROC_IMAP_PASSWORD": password,
                "MAILPROC_IMAP_SSL": "plain", "MAILPROC_SMTP_HOST": sink.host,
                "MAILPROC_SMTP_PORT": str(sink.port), "MAILPROC_SMTP_TLS": "none"})
    if args.kb == "semantic":
        config = Path(env["MAILPROC_CONFIG"])
        config.write_text(config.read_text().replace("semantic = false", "semantic = true", 1))
    log = open(tmp / "run.log", "wb")
    run = subprocess.Popen([sys.executable, "-m", "mailproc.cli.main", "run",
                            "--idle-timeout", "60"], env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    delays = []
    try:
        account.append(mail(0))                     # warm up: start-up and the first round
        sink.wait_for(1, timeout=120)
        for n in range(1, args.mails + 1):
            time.sleep(args.gap)                    # idle: the loop is in IDLE again
            before = len(sink.messages)
            t0 = time.monotonic()
            account.append(mail(n))
            sink.wait_for(before + 1, timeout=60)
            delays.append(time.monotonic() - t0)
            print(f"mail {n}: acknowledged {delays[-1] * 1000:.0f} ms after it reached Dovecot")
    finally:
        run.terminate()
        run.wait(timeout=30)
        log.close()
        sink.stop()
        dovecot.stop()
        shutil.rmtree(dovecot_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    delays.sort()
    print(f"\n{len(delays)} mails, KB {args.kb}: median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {delays[-1] * 1000:.0f} ms (target: under 1,000 ms)")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
