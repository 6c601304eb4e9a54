"""Eight weeks of a support mailbox with known truth, played through Dovecot and the pipeline.

Customers write into a real Dovecot; the pipeline polls it with the clock set to each mail's
arrival; agents answer through the signed Reply-To of their notification (with `#kb`,
`#status pending` and `#status resolved` where planned); customers thank, reopen and come
back from pending. The `Ledger` keeps what was planted, so the tests can work out the
figures on their own.

Planted, besides ~200 unrelated requests:
- a rising topic (password reset: 2 cases before, 9 in the report's period) that the KB's
  suggestion answers ("thanks, that fixed it");
- a topic whose article exists but is not suggested (the team calendar: agents send
  `#kb shared-mailbox` by hand);
- a topic with no article (the canteen app's error E42, answered by hand each time);
- an outage burst (six customers in ten minutes: the mail server is down), one incident;
- cases at 23:50 and 00:10 local time around the periods' edges, across the end of summer time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mailproc.models import Case, Message, OutboundMail
from mailproc.runners.inbound import process_pending
from mailproc.runners.periodic import sweep
from mailproc.source.imap import ImapSettings, ImapSource
from tests.agent_helpers import SUPPORT, mail

ZONE = ZoneInfo("Europe/Berlin")
START = date(2026, 10, 5)            # a Monday: the previous period is 5 Oct - 1 Nov
CURRENT = (date(2026, 11, 2), date(2026, 11, 29))
PREVIOUS = (date(2026, 10, 5), date(2026, 11, 1))
AGENT_EMAILS = {"alice": "alice@example.com", "bob": "bob@example.com",
                "carol": "carol@example.com"}

# Unrelated requests: an object and a complaint drawn at random, so they do not recur.
OBJECTS = ["scanner", "monitor", "projector", "headset", "docking station", "webcam", "badge",
           "laptop battery", "keyboard", "mouse", "tablet", "desk phone", "label printer",
           "plotter", "whiteboard camera", "conference speaker", "smart card reader", "router",
           "usb hub", "graphics tablet", "barcode reader", "fax machine", "shredder", "kiosk",
           "time clock", "door sensor", "thermostat", "camera", "microphone", "charger"]
COMPLAINTS = ["makes a grinding noise", "turns itself off", "shows stripes", "is very slow",
              "was dropped and cracked", "smells burnt", "needs a replacement", "blinks red",
              "lost its configuration", "is missing from the inventory", "overheats",
              "needs a firmware update", "is rattling", "shows a blue screen",
              "needs to be moved to another room"]
PASSWORD = [("Forgot my password", "I forgot my password and cannot log in to the portal."),
            ("Password reset needed", "I forgot my password and need to reset it to log in again."),
            ("Reset password", "I need to reset my password, I forgot it over the holidays.")]
CALENDAR = [("Cannot see the team calendar", "Petra shared the team calendar with me but it "
             "does not appear in my list of calendars."),
            ("Shared team calendar missing", "The team calendar that was shared with our group "
             "is missing for me, colleagues see it."),
            ("Team calendar not visible", "Our group calendar shared by the office manager is "
             "not visible in my calendar view.")]
CANTEEN = [("Canteen app error E42", "The canteen app shows error E42 when I order lunch."),
           ("E42 in the canteen app", "Ordering lunch in the canteen app fails with error E42."),
           ("Canteen app: E42 when ordering", "Error E42 again in the canteen app at checkout.")]
OUTAGE = ("Mail server down", "The mail server is down: Outlook cannot send or receive since "
          "10:05, everyone on our floor is affected.")
CANTEEN_ANSWER = ("Error E42 means the canteen app lost its session. Log out of the app, "
                  "close it, and log in again; your order will go through.")


@dataclass
class Planted:
    key: str
    customer: str
    subject: str
    body: str
    at: datetime
    topic: str = ""
    reply_after: timedelta | None = None   # the assignee answers this long after arrival
    reply: str = "Thanks for writing, I have fixed this for you."
    commands: tuple[str, ...] = ()
    customer_back_after: timedelta | None = None   # customer writes again (after pending/resolve)
    thanks_after: timedelta | None = None          # "thanks, that fixed it" to the ack
    msgid: str = ""
    # filled in by the play-through
    ref: str = ""
    replied_at: datetime | None = None
    agent: str = ""


@dataclass
class Ledger:
    cases: list[Planted] = field(default_factory=list)

    def by_topic(self, topic: str) -> list[Planted]:
        return [c for c in self.cases if c.topic == topic]


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), ZONE).astimezone(timezone.utc)


def plan(seed: int = 7) -> Ledger:
    rnd = random.Random(seed)
    ledger = Ledger()
    days = [START + timedelta(days=i) for i in range(56)]
    n = 0

    def add(subject, body, at, **kw) -> Planted:
        nonlocal n
        n += 1
        who = kw.pop("customer", f"customer{n}@kunde{n % 40}.example")
        case = Planted(f"c{n}", who, subject, body, at, msgid=f"<plant-{n}@kunde.example>", **kw)
        ledger.cases.append(case)
        return case

    for i in range(200):   # unrelated requests over eight weeks, mostly in opening hours
        day = rnd.choice(days)
        hour = rnd.choice([8, 9, 10, 11, 13, 14, 15, 16, 19, 22]) if day.weekday() < 5 else \
            rnd.choice([10, 14, 20])
        thing, trouble = rnd.choice(OBJECTS), rnd.choice(COMPLAINTS)
        subject = f"{thing.capitalize()} {trouble}"
        body = f"The {thing} in room {rnd.randint(100, 999)} {trouble}. Ticket {i}."
        kind = rnd.random()
        kw: dict = {}
        if kind < 0.55:
            kw = {"reply_after": timedelta(minutes=rnd.choice([20, 45, 90, 150]))}
        elif kind < 0.70:
            kw = {"reply_after": timedelta(hours=rnd.choice([7, 20, 30]))}   # late: breaches
        elif kind < 0.80:
            kw = {"reply_after": timedelta(minutes=50), "commands": ("#status pending",),
                  "reply": "Could you send me the model number, please?",
                  "customer_back_after": timedelta(days=2)}
        elif kind < 0.88:
            kw = {"reply_after": timedelta(minutes=35), "commands": ("#status resolved",),
                  "customer_back_after": timedelta(days=1)}       # reopened by the customer
        elif kind < 0.94:
            kw = {"reply_after": timedelta(minutes=35), "commands": ("#status resolved",)}
        add(subject, body, local(day, hour, rnd.randint(0, 59)), **kw)
    # The rising topic: two before, nine in the report's period; the suggestion answers it.
    for k, day in enumerate([days[3], days[17], *[days[28 + 3 * j] for j in range(9)]]):
        subject, body = PASSWORD[k % 3]
        add(f"{subject} ({k})", body, local(day, 10, 5 + k), topic="password",
            thanks_after=timedelta(minutes=30))
    # The article exists but is not found: agents send it with #kb.
    for k, day in enumerate([days[30], days[33], days[37], days[41], days[46]]):
        subject, body = CALENDAR[k % 3]
        add(subject, body, local(day, 9, 30), topic="calendar",
            reply_after=timedelta(minutes=40), commands=("#kb shared-mailbox",),
            reply="Here is how to open a shared calendar or mailbox.")
    # No article: answered by hand, again and again.
    for k, day in enumerate([days[29], days[32], days[36], days[43], days[48]]):
        subject, body = CANTEEN[k % 3]
        add(subject, body, local(day, 12, 15), topic="canteen",
            reply_after=timedelta(minutes=30), reply=CANTEEN_ANSWER)
    # The outage: six customers within ten minutes on one morning.
    for k in range(6):
        add(f"{OUTAGE[0]}", OUTAGE[1], local(days[39], 10, 8 + 2 * k), topic="outage")
    # The periods' edges, local time (summer time ended on 25 October).
    add("Edge before the period", "Printer tray 4 is missing its paper guide.",
        local(PREVIOUS[1], 23, 50), topic="edge")
    add("Edge at the start", "The blinds in room 12 are stuck halfway down.",
        local(CURRENT[0], 0, 10), topic="edge")
    add("Edge at the end", "The fridge in the kitchen on floor 2 is leaking.",
        local(CURRENT[1], 23, 50), topic="edge")
    add("Edge after the period", "The lift to the garage beeps all the time.",
        local(CURRENT[1] + timedelta(days=1), 0, 10), topic="edge")
    add("Edge at summer time's end", "Clock in the lobby still shows summer time.",
        local(date(2026, 10, 25), 2, 30), topic="edge")
    ledger.cases.sort(key=lambda c: c.at)
    return ledger


class Player:
    """Plays the ledger: every mail appended to Dovecot and polled at its own time."""

    def __init__(self, app, account):
        self.app, self.account = app, account
        self.source = ImapSource(ImapSettings(
            name="demo", host=account.host, port=account.port, user=account.user,
            security="plain", password=account.password, use_idle=False, batch_size=50))
        self.uid_count = 0

    def deliver(self, raw: bytes, at: datetime) -> None:
        self.app.clock.at = at
        self.account.append(raw, msg_time=at)
        self.source.poll_once(self.app.raw_store())
        outcomes = process_pending(self.app)
        assert all(o.result == "processed" for o in outcomes), outcomes

    def _case(self, planted: Planted):
        with self.app.db.transaction() as s:
            return s.scalar(select(Message.case_id).where(
                Message.message_id == planted.msgid.strip("<>")))

    def agent_reply(self, planted: Planted, at: datetime) -> None:
        case_id = self._case(planted)
        with self.app.db.transaction() as s:
            note = s.scalars(select(OutboundMail).where(
                OutboundMail.case_id == case_id, OutboundMail.kind == "agent_notify")
                .order_by(OutboundMail.id)).first()
            raw = note.raw
            planted.ref = s.get(Case, case_id).ref
        notification = message_from_bytes(raw, policy=policy.default)
        agent = str(notification["To"]).split("<")[-1].strip(">").strip()
        planted.agent = next(k for k, v in AGENT_EMAILS.items() if v == agent)
        body = "\n".join([*planted.commands, "", planted.reply, "", "Regards"])
        self.deliver(mail(frm=agent, to=str(notification["Reply-To"]),
                          subject=f"Re: {notification['Subject']}", body=body,
                          msgid=f"<reply-{planted.key}@example.com>",
                          in_reply_to=notification["Message-ID"],
                          references=notification["Message-ID"], date=at), at)
        planted.replied_at = at

    def customer_again(self, planted: Planted, text: str, at: datetime, key: str) -> None:
        self.deliver(mail(frm=planted.customer, to=SUPPORT, subject=f"Re: {planted.subject}",
                          body=text, msgid=f"<{key}-{planted.key}@kunde.example>",
                          in_reply_to=planted.msgid, references=planted.msgid, date=at), at)

    def play(self, ledger: Ledger) -> None:
        actions = []
        for c in ledger.cases:
            actions.append((c.at, 0, c, "open"))
            if c.reply_after is not None:
                actions.append((c.at + c.reply_after, 1, c, "reply"))
                if c.customer_back_after is not None:
                    actions.append((c.at + c.reply_after + c.customer_back_after, 2, c, "back"))
            if c.thanks_after is not None:
                actions.append((c.at + c.thanks_after, 1, c, "thanks"))
        last_sweep = None
        for at, _, c, what in sorted(actions, key=lambda a: (a[0], a[1], a[2].key)):
            day = at.astimezone(ZONE).date()
            if last_sweep != day:      # the scheduler's sweep, once a day in this history
                self.app.clock.at = at
                sweep(self.app)
                last_sweep = day
            if what == "open":
                self.deliver(mail(frm=c.customer, subject=c.subject, body=c.body,
                                  msgid=c.msgid, date=c.at), c.at)
                with self.app.db.transaction() as s:
                    c.ref = s.get(Case, self._case(c)).ref
            elif what == "reply":
                self.agent_reply(c, at)
            elif what == "back":
                self.customer_again(c, "Here is what you asked for: model XR-2. It happens "
                                    "again.", at, "back")
            else:
                self.customer_again(c, "Thanks, that fixed it!", at, "thanks")
        self.source.close()
