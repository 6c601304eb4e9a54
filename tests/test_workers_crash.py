"""Crash test: 3 RQ workers and 2 pollers on real Redis, PostgreSQL, Dovecot and aiosmtpd, with a
random worker or poller SIGKILLed every second; nothing lost, nothing doubled, replies in order."""

from __future__ import annotations

import email
import email.policy
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import func, select

from mailproc.db import Database
from mailproc.models import Message, OutboundMail, OutboxStatus, Quarantine, RawMessage, RawStatus

ROOT = Path(__file__).resolve().parents[1]
N_MESSAGES = int(os.environ.get("MAILPROC_CRASH_MESSAGES", "2000"))
KILL_EVERY = float(os.environ.get("MAILPROC_CRASH_KILL_EVERY", "1"))

START = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Generated:
    raw: bytes
    message_id: str
    parent: str | None        # Message-ID of the mail that opened this one's case; None = new case
    sender: str


def generate_mail(n: int, *, seed: int = 9, reply_share: float = 0.4,
                  domain: str = "customers.example") -> list[Generated]:
    """`n` messages in arrival order: new cases from distinct senders and replies to them.

    A reply follows its case's first message closely (1-20 messages later), so many workers
    would thread it before its case existed if ordering were not enforced.
    """
    rng = random.Random(seed)
    out: list[Generated] = []
    open_cases: list[Generated] = []
    syllables = ["ka", "lo", "mi", "ter", "van", "qui", "dro", "bel", "sun", "zor", "pex", "ul",
                 "gra", "fin", "mo", "rad", "vel", "tis", "nok", "hap"]

    def word() -> str:
        return "".join(rng.choice(syllables) for _ in range(3))

    for i in range(n):
        at = START + timedelta(seconds=7 * i)
        if open_cases and rng.random() < reply_share:
            first = rng.choice(open_cases[-20:])
            msg = _message(i, first.sender, f"Re: {_subject_of(first)}", at, domain,
                           f"Still happening: {word()} {word()}.\n\n> earlier text\n",
                           reply_to=first.message_id)
            out.append(Generated(bytes(msg), msg["Message-ID"].strip("<>"),
                                 first.message_id, first.sender))
        else:
            # Distinct made-up words: unrelated cases, so incident grouping leaves them alone.
            sender = f"customer{i}@{domain}"
            subject = " ".join(word() for _ in range(4))
            msg = _message(i, sender, subject, at, domain,
                           " ".join(word() for _ in range(12)) + ".\n")
            g = Generated(bytes(msg), msg["Message-ID"].strip("<>"), None, sender)
            out.append(g)
            open_cases.append(g)
    return out


_SUBJECTS: dict[str, str] = {}


def _subject_of(g: Generated) -> str:
    return _SUBJECTS[g.message_id]


def _message(i: int, sender: str, subject: str, at: datetime, domain: str, body: str,
             reply_to: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Customer {i} <{sender}>"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = f"<gen.{i}.{sender.split('@')[0]}@{domain}>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    msg.set_content(body)
    _SUBJECTS[msg["Message-ID"].strip("<>")] = subject
    return msg


# -- the processes ----------------------------------------------------------------------------

def write_config(tmp_path: Path) -> Path:
    """The shipped example config with the KB switched off (its model load dominates startup
    and is tested elsewhere) and var/ in the test's directory."""
    text = (ROOT / "config" / "mailproc.toml").read_text()
    text = text.replace('var_dir = "var"', f'var_dir = "{tmp_path / "var"}"', 1)
    assert "\n[kb]\n" in text
    text = text.replace("\n[kb]\n", "\n[kb]\nenabled = false\n", 1)
    cfg = tmp_path / "config" / "mailproc.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    return cfg


def process_env(cfg: Path, db_url: str, redis_url: str, account, sink) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROC_")}
    env.update({
        "MAILPROC_CONFIG": str(cfg), "MAILPROC_DATABASE_URL": db_url,
        "MAILPROC_REDIS_URL": redis_url, "MAILPROC_SECRET_KEY": "crash-test-" + "k" * 24,
        "MAILPROC_IMAP_HOST": account.host, "MAILPROC_IMAP_PORT": str(account.port),
        "MAILPROC_IMAP_USER": account.user, "MAILPROC_IMAP_PASSWORD": account.password,
        "MAILPROC_IMAP_SSL": "plain",
        "MAILPROC_SMTP_HOST": sink.host, "MAILPROC_SMTP_PORT": str(sink.port),
        "MAILPROC_SMTP_TLS": "none",
        # Short leases so a killed holder's work comes back within the test's time.
        "MAILPROC_POLLER_LEASE_TTL": "3", "MAILPROC_POLLER_IDLE": "2",
        "MAILPROC_SCHEDULER_LEASE_TTL": "3", "MAILPROC_SCHEDULER_TICK": "0.5",
        "MAILPROC_DELIVER_EVERY": "1", "MAILPROC_REQUEUE_EVERY": "1",
        "MAILPROC_SWEEP_EVERY": "30", "MAILPROC_PROBE_EVERY": "30",
        "MAILPROC_OUTBOX_LEASE_SECONDS": "5", "MAILPROC_WORKER_MAINTENANCE": "10",
        "MAILPROC_LOG_LEVEL": "info", "PYTHONPATH": str(ROOT),
    })
    return env


class Fleet:
    """Named subprocesses that can be SIGKILLed and restarted, logging to files."""

    def __init__(self, env: dict, logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.starts: Counter = Counter()
        self.started_at: dict[str, float] = {}
        self.kills: Counter = Counter()

    def start(self, name: str, module: str) -> None:
        self.starts[name] += 1
        self.started_at[name] = time.monotonic()
        log = open(self.logdir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs[name].module = module
        log.close()

    def kill_and_restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.kills[name] += 1
        self.start(name, proc.module)

    def stop_all(self, timeout: float = 60.0) -> dict[str, int | None]:
        # A process SIGTERMed while still importing has no handler yet; give the last one
        # restarted time to come up, so the exit codes below test the warm shutdown.
        time.sleep(max(0.0, 3.0 - (time.monotonic() - max(self.started_at.values()))))
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _counts(db: Database) -> dict:
    with db.transaction() as session:
        raw = dict(session.execute(select(RawMessage.status, func.count())
                                   .group_by(RawMessage.status)).all())
        out = dict(session.execute(select(OutboundMail.status, func.count())
                                   .group_by(OutboundMail.status)).all())
    return {"raw": {k.value: v for k, v in raw.items()},
            "outbox": {k.value: v for k, v in out.items()}}


def test_workers_and_pollers_survive_sigkill(tmp_path, dovecot, imap_account, smtp_sink,
                                             redis_url, pg_schema_url):
    db_url, _schema = pg_schema_url
    db = Database(db_url)
    db.upgrade()
    mails = generate_mail(N_MESSAGES)
    new_cases = [m for m in mails if m.parent is None]
    env = process_env(write_config(tmp_path), db_url, redis_url, imap_account, smtp_sink)
    fleet = Fleet(env, tmp_path)
    victims = ["poller-1", "poller-2", "worker-1", "worker-2", "worker-3"]
    for name in victims:
        fleet.start(name, "workers.poller" if name.startswith("poller") else "workers.worker")
    fleet.start("scheduler", "workers.scheduler")

    fed = threading.Event()

    def feed() -> None:
        # Mail keeps arriving while processes die: ~100 messages a second, in order.
        client = imap_account.client()
        try:
            for m in mails:
                client.append("INBOX", m.raw)
        finally:
            client.logout()
            fed.set()

    feeder = threading.Thread(target=feed, daemon=True)
    rng = random.Random(99)
    started = time.monotonic()
    # Kill for as long as there is work (at most 150 s, at least 20 kills), then let the
    # survivors finish within 90 s: bounded even on a busy 2-core machine.
    deadline = started + float(os.environ.get("MAILPROC_CRASH_KILL_SECONDS", "150"))
    feeder.start()
    try:
        while time.monotonic() < deadline:
            time.sleep(KILL_EVERY)
            c = _counts(db)
            busy = (not fed.is_set() or c["raw"].get("pending", 0)
                    or sum(c["raw"].values()) < N_MESSAGES)
            if not busy and sum(fleet.kills.values()) >= 20:
                break
            fleet.kill_and_restart(rng.choice(victims))
        killing_took = time.monotonic() - started
        # Calm: let the survivors finish (leases expire, requeue repairs, outbox drains).
        deadline = time.monotonic() + float(os.environ.get("MAILPROC_CRASH_CALM_SECONDS", "90"))
        while time.monotonic() < deadline:
            c = _counts(db)
            if (sum(c["raw"].values()) >= N_MESSAGES and not c["raw"].get("pending")
                    and c["outbox"].get("sent", 0) >= len(new_cases)
                    and not c["outbox"].get("pending") and not c["outbox"].get("sending")):
                break
            time.sleep(0.5)
        time.sleep(2.0)  # a late duplicate delivery would show up at the sink by now
    finally:
        codes = fleet.stop_all()
    total_took = time.monotonic() - started
    print(f"\ncrash test: {N_MESSAGES} messages, {len(new_cases)} new cases, "
          f"kills {dict(fleet.kills)}, killing {killing_took:.0f}s, total {total_took:.0f}s, "
          f"final {_counts(db)}, exit codes {codes}")
    assert feeder.is_alive() is False

    # SIGTERM is a warm shutdown for every process.
    assert all(code == 0 for code in codes.values()), (codes, {n: fleet.log_tail(n) for n in codes})

    with db.transaction() as session:
        raws = session.execute(select(RawMessage.header_message_id, RawMessage.status)).all()
        messages = dict(session.execute(select(Message.message_id, Message.case_id)).all())
        message_rows = session.scalar(select(func.count()).select_from(Message))
        quarantined = session.scalar(select(func.count()).select_from(Quarantine))
        outbox = [(mid.strip("<>"), *rest) for mid, *rest in session.execute(
            select(OutboundMail.message_id, OutboundMail.status, OutboundMail.case_id,
                   OutboundMail.kind, OutboundMail.attempts)).all()]

    # Every message stored once and processed once.
    per_id = Counter(h for h, _ in raws)
    assert len(raws) == N_MESSAGES and set(per_id.values()) == {1}
    assert {s for _, s in raws} == {RawStatus.PROCESSED}
    assert message_rows == N_MESSAGES and quarantined == 0
    assert set(messages) == {m.message_id for m in mails}

    # ... in the right case: a reply shares its case with the message that opened it.
    case_of = {m.message_id: messages[m.message_id] for m in mails}
    assert len({case_of[m.message_id] for m in new_cases}) == len(new_cases)
    wrong = [m.message_id for m in mails if m.parent and case_of[m.message_id] != case_of[m.parent]]
    assert wrong == [], f"{len(wrong)} replies threaded into the wrong case, e.g. {wrong[:3]}"

    # Every new case: exactly one acknowledgement row; every outbox row sent.
    acks = [row for row in outbox if row[3] == "ack"]
    assert len(acks) == len(new_cases)
    assert {c for _, _, c, _, _ in acks} == {case_of[m.message_id] for m in new_cases}
    assert {s for _, s, _, _, _ in outbox} == {OutboxStatus.SENT}

    # At the sink: one acknowledgement per new case, to its sender, threaded under its mail.
    captured = [email.message_from_bytes(c.raw, policy=email.policy.default)
                for c in smtp_sink.messages]
    copies = Counter(str(m["Message-ID"]).strip("<>") for m in captured)
    first = {}
    for m in captured:
        first.setdefault(str(m["Message-ID"]).strip("<>"), m)
    assert set(copies) == {mid for mid, *_ in outbox}
    ack_ids = {mid for mid, *_ in acks}
    by_parent = {str(m["In-Reply-To"]).strip("<>"): m for mid, m in first.items() if mid in ack_ids}
    assert len(by_parent) == len(new_cases)
    for g in new_cases:
        ack = by_parent[g.message_id]
        assert ack["To"].addresses[0].addr_spec == g.sender
    # No row sent twice. The one documented exception is a deliverer SIGKILLed between the
    # server's 250 and its commit: the row is reclaimed after its lease (which counts as an
    # attempt) and the second copy carries the same Message-ID, so mail clients drop it.
    # Only such reclaimed rows may show more than one copy, one per time a deliverer was
    # killed with it in hand after the 250 (each reclaim counts as an attempt).
    attempts_of = {mid: attempts for mid, _, _, _, attempts in outbox}
    reclaimed = {mid for mid, n in attempts_of.items() if n >= 2}
    doubled = {mid: n for mid, n in copies.items() if n > 1}
    assert all(mid in reclaimed and n <= attempts_of[mid] for mid, n in doubled.items()), \
        (doubled, {mid: attempts_of[mid] for mid in doubled})
    print(f"crash test: {len(reclaimed)} outbox row(s) reclaimed from a killed deliverer, "
          f"{len(doubled)} of them had reached the sink before the kill (same Message-ID)")
