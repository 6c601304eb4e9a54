"""Threading without headers (issue 21): the same customer's `Re:` weeks later, an extended
subject and a colleague at the customer's domain join the case; strangers, free-mail users,
our own colleagues and the customer's second, different problem stay apart."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

from sqlalchemy import delete, func, select, text

from mailproc.cases.records import open_case
from mailproc.models import Case, Contact, Message, MessagePrint
from mailproc.runners.periodic import backfill_prints
from mailproc.thread.nearby import RecentCase, choose, choose_quoted, extends, told_apart
from mailproc.thread.prints import MIN_MATCH, fingerprints
from mailproc.thread.rules import ThreadInput, thread_message
from mailproc.thread.subjects import is_reply_subject
from tests.agent_helpers import MONDAY, agent_app, feed, mail, outbox
from tests.test_cli import embedded, invoke  # noqa: F401 - the fixture is used by name

T = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
OURS = frozenset({"example.com"})


def placed(app, raw: bytes) -> tuple[str, int]:
    """Feed one mail: the thread rule that placed it and its case's id."""
    feed(app, raw)
    with app.db.transaction() as s:
        m = s.scalar(select(Message).order_by(Message.id.desc()).limit(1))
        return m.thread_rule, m.case_id


def case(case_id: int, subject: str, *people: str, domain: str = "kunde.example",
         days_ago: int = 1) -> RecentCase:
    return RecentCase(case_id, subject, T - timedelta(days=days_ago), domain, frozenset(people))


def pick(cases, sender: str, subject: str, reply: bool = True, quoted=None):
    found = choose(cases, sender=sender, subject=subject, reply=reply, own_domains=OURS,
                   quoted=quoted)
    return None if found is None else (found[0], found[1].case_id)


def test_an_extended_subject_is_the_same_words_and_a_few_more():
    assert extends("password reset (still broken)", "password reset")
    assert extends("password reset", "urgent: password reset")
    assert extends("still: password reset", "password reset")
    assert not extends("second printer jams", "printer jams")             # another printer
    assert not extends("release vote 3.0.0 (take 2)", "release vote 3.0.0")   # a new round
    assert not extends("grand-child message 2", "grand-child message")
    assert not extends("vpn drops every hour part two", "vpn drops every hour")
    assert not extends("password resetting tool", "password reset")      # not whole words
    assert not extends("vpn down", "vpn")                                # too short to tell
    assert not extends("password reset " + "x" * 60, "password reset")   # a new subject
    assert not extends("password reset", "password reset")               # the same


def test_who_may_join_which_case():
    cases = [case(1, "vpn drops every hour", "maria@kunde.example"),
             case(2, "printer on floor 3", "maria@kunde.example", days_ago=3),
             case(3, "vpn drops every hour", "someone@gmail.com", domain="gmail.com")]
    assert pick(cases, "maria@kunde.example", "vpn drops every hour") == ("case_subject", 1)
    assert pick(cases, "jonas@kunde.example", "vpn drops every hour") == ("colleague", 1)
    # a colleague's fresh mail on the same subject is their own request (an outage, often)
    assert pick(cases, "jonas@kunde.example", "vpn drops every hour", reply=False) is None
    assert pick(cases, "maria@kunde.example", "vpn drops every hour", reply=False) == (
        "case_subject", 1)
    assert pick(cases, "maria@kunde.example", "vpn drops every hour (still)") == (
        "evolving_subject", 1)
    assert pick(cases, "jonas@kunde.example", "printer on floor 3 again") == (
        "evolving_subject", 2)
    # strangers, free mail, a different problem, words that say nothing: apart
    assert pick(cases, "eve@other.example", "vpn drops every hour") is None
    assert pick(cases, "other@gmail.com", "vpn drops every hour") is None
    assert pick(cases, "maria@kunde.example", "invoice 4711 is wrong") is None
    assert pick(cases, "maria@kunde.example", "help") is None
    ours = [case(4, "vpn drops every hour", "anna@example.com", domain="example.com")]
    assert pick(ours, "ben@example.com", "vpn drops every hour") is None
    # two colleagues' cases with the subject: a reader could not tell which, so a new case
    both = cases + [case(7, "vpn drops every hour", "lena@kunde.example")]
    assert pick(both, "jonas@kunde.example", "vpn drops every hour") is None
    assert pick(both, "maria@kunde.example", "vpn drops every hour") == ("case_subject", 1)
    # the most recently active of two matching cases
    two = [case(5, "vpn drops every hour", "maria@kunde.example", days_ago=9),
           case(6, "vpn drops every hour", "maria@kunde.example", days_ago=2)]
    assert pick(two, "maria@kunde.example", "vpn drops every hour") == ("case_subject", 6)


def test_headerless_mail_joins_the_case_a_reader_would_choose(db, tmp_path):
    app = agent_app(db, tmp_path, now=MONDAY)
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject="VPN drops every hour",
                   msgid="<h1@kunde.example>", body="The VPN drops every hour.", date=MONDAY))
    (note,) = outbox(app, "agent_notify")
    note = message_from_bytes(note.raw, policy=policy.default)
    app.clock.advance(timedelta(days=12))            # the agent answers on day 12
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=note["Reply-To"],
                   subject="Re: " + note["Subject"], in_reply_to=note["Message-ID"],
                   body="Please try the new client.", date=app.clock.now()))
    app.clock.advance(timedelta(days=8))             # day 20: no headers, six days' window
    later = app.clock.now()

    def headerless(frm, subject, body):
        rule, case_id = placed(app, mail(frm=frm, subject=subject, body=body, date=later))
        with app.db.transaction() as s:
            return rule, s.scalar(select(Case.ref).where(Case.id == case_id))

    first = headerless("Maria Keller <maria@kunde.example>", "AW: [EXT] RE: VPN drops every hour",
                       "Still dropping with the new client.")
    assert first[0] == "case_subject"
    ref = first[1]
    assert headerless("Jonas Weber <jonas@kunde.example>", "Re: VPN drops every hour",
                      "Same here on floor 2.") == ("colleague", ref)
    assert headerless("Maria Keller <maria@kunde.example>",
                      "VPN drops every hour (still broken)", "Any news?") == (
        "evolving_subject", ref)
    stranger = headerless("Eve <eve@other.example>", "VPN drops every hour", "Ours too.")
    assert stranger[0] == "new" and stranger[1] != ref
    fresh = headerless("Lena Roth <lena@kunde.example>", "VPN drops every hour",
                       "My VPN drops too.")
    assert fresh[0] == "new" and fresh[1] != ref          # a colleague's own request
    free = headerless("Sam <sam@gmail.com>", "VPN drops every hour", "Mine as well.")
    assert free[0] == "new" and free[1] not in (ref, stranger[1])
    other = headerless("Maria Keller <maria@kunde.example>", "Invoice 4711 is wrong",
                       "The amount is wrong.")
    assert other[0] == "new" and other[1] != ref


def test_reply_markers_are_told_from_subjects_that_merely_start_alike():
    assert is_reply_subject("Re: VPN") and is_reply_subject("[EXT] AW: VPN")
    assert is_reply_subject("[#1042] RE: VPN") and is_reply_subject("SV: VPN")
    assert not is_reply_subject("Regarding VPN") and not is_reply_subject("[EXT] VPN drops")
    assert not is_reply_subject("")


LONG_TEXT = ("Since the update on Monday the VPN client disconnects every hour with error 809, "
             "and I have to reconnect by hand each time, which breaks my video calls.")


def test_a_quote_is_recognised_rewrapped_with_markers_and_an_attribution():
    stored = fingerprints(LONG_TEXT)
    wrapped = textwrap.fill(LONG_TEXT, 38).replace("\n", "\n> ")
    quoted = fingerprints(f"On Mon, 23 Nov 2026 at 09:00, Maria Keller wrote:\n> {wrapped}")
    outlook = fingerprints(f"From: Maria Keller\nSent: Monday\nSubject: VPN\n\n{LONG_TEXT.upper()}")
    assert len(stored) >= MIN_MATCH
    assert set(stored) == set(quoted) == set(outlook)
    assert not set(stored) & set(fingerprints("A different text about printers on floor 3 "
                                              "that jam whenever someone prints on A3 paper."))


def test_who_a_quote_may_bring_into_a_case():
    found = [(case(1, "vpn drops", "maria@kunde.example"), 5),
             (case(2, "vpn drops", "lena@kunde.example"), 3)]
    pick_ = choose_quoted
    assert pick_(found, sender="maria@kunde.example", own_domains=OURS)[0].case_id == 1
    assert pick_(found, sender="jonas@kunde.example", own_domains=OURS)[0].case_id == 1
    assert pick_(found, sender="lena@kunde.example", own_domains=OURS)[0].case_id == 2
    assert pick_(found, sender="eve@other.example", own_domains=OURS) is None
    assert pick_(found, sender="sam@gmail.com", own_domains=OURS) is None


def test_a_colleague_quoting_the_history_joins_the_case_it_quotes(db, tmp_path):
    app = agent_app(db, tmp_path, now=MONDAY)
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject="VPN drops every hour",
                   msgid="<q1@kunde.example>", body=LONG_TEXT, date=MONDAY))
    feed(app, mail(frm="Lena Roth <lena@kunde.example>", subject="VPN drops every hour",
                   msgid="<q2@kunde.example>", body="My VPN drops every hour as well, since "
                   "Tuesday, on the office network only, never at home.", date=MONDAY))
    quote = "\n".join("> " + line for line in textwrap.wrap(LONG_TEXT, 60))
    cases = {}
    for frm, subject in (("Jonas Weber <jonas@kunde.example>", "Re: VPN drops every hour"),
                         ("Jonas Weber <jonas@kunde.example>", "Fwd: for the network team"),
                         ("Eve <eve@other.example>", "Re: VPN drops every hour"),
                         ("Sam <sam@gmail.com>", "Re: VPN drops every hour")):
        cases[(frm, subject)] = placed(app, mail(
            frm=frm, subject=subject, date=MONDAY,
            body=f"Same for me on floor 2.\n\nOn Monday, Maria Keller wrote:\n{quote}"))
    with app.db.transaction() as s:
        maria = s.scalar(select(Message.case_id).where(Message.message_id == "q1@kunde.example"))
    jonas = "Jonas Weber <jonas@kunde.example>"
    assert cases[(jonas, "Re: VPN drops every hour")] == ("quoted_history", maria)
    assert cases[(jonas, "Fwd: for the network team")] == ("quoted_history", maria)
    assert cases[("Eve <eve@other.example>", "Re: VPN drops every hour")][0] == "new"
    assert cases[("Sam <sam@gmail.com>", "Re: VPN drops every hour")][0] == "new"


DISCLAIMER = ("This e-mail may contain confidential and privileged information. If you are "
              "not the intended recipient please notify the sender immediately and destroy "
              "this e-mail. Kunde GmbH, Registergericht Hamburg HRB 12345.")


def test_a_shared_disclaimer_quoted_is_no_evidence(db, tmp_path):
    """Boilerplate every mail of a company carries matches many cases: it is not counted."""
    app = agent_app(db, tmp_path, now=MONDAY)
    for n, problem in enumerate(["Printer jams on A3 paper", "Badge does not open the garage",
                                 "Monitor flickers after docking"]):
        feed(app, mail(frm=f"Person {n} <p{n}@kunde.example>", subject=problem, date=MONDAY,
                       msgid=f"<b{n}@kunde.example>", body=f"{problem}.\n\n{DISCLAIMER}"))
    quote = "\n".join("> " + line for line in textwrap.wrap(DISCLAIMER, 60))
    rule, _ = placed(app, mail(frm="Jonas <jonas@kunde.example>",
                               subject="Question about my account", date=MONDAY,
                               body=f"Can you reset it?\n\nOn Monday, p0 wrote:\n{quote}"))
    assert rule == "new"


def test_mail_stored_before_fingerprints_is_fingerprinted_by_the_backfill(db, tmp_path):
    app = agent_app(db, tmp_path, now=MONDAY)
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject="VPN drops every hour",
                   msgid="<old@kunde.example>", body=LONG_TEXT, date=MONDAY))
    with app.db.transaction() as s:
        before = s.scalar(select(func.count()).select_from(MessagePrint))
        s.execute(delete(MessagePrint))                 # as stored by 0.2
    assert before >= MIN_MATCH
    assert backfill_prints(app, batch=1) == 1
    assert backfill_prints(app) == 0                    # again: nothing left to do
    with app.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(MessagePrint)) == before


def test_backfill_on_the_command_line(embedded):  # noqa: F811
    assert invoke(embedded, "run", "--once", "--now", "2026-11-23T14:30:00+01:00").exit_code == 0
    result = invoke(embedded, "db", "backfill-prints", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):]) == {"messages": 0}
    assert "quoting it" in invoke(embedded, "db", "backfill-prints", "--help").output


def test_a_quote_tells_apart_the_cases_a_colleagues_reply_fits_equally():
    both = [case(1, "vpn drops every hour", "maria@kunde.example"),
            case(7, "vpn drops every hour", "lena@kunde.example", days_ago=2),
            case(3, "vpn drops every hour", "someone@gmail.com", domain="gmail.com")]
    usual = frozenset({11, 12, 13})             # the company's usual words: in both cases
    maria = usual | {21}                        # and one passage only Maria's mail holds
    held = {1: maria, 7: usual, 3: maria | {31}}
    assert pick(both, "jonas@kunde.example", "vpn drops every hour", quoted=held) == (
        "quote_tells", 1)
    assert told_apart(both[:2], held)[0].case_id == 1
    grown = [case(1, "vpn drops every hour (still broken)", "maria@kunde.example"),
             case(7, "vpn drops every hour (again)", "lena@kunde.example")]
    assert pick(grown, "jonas@kunde.example", "vpn drops every hour") is None
    assert pick(grown, "jonas@kunde.example", "vpn drops every hour", quoted=held) == (
        "quote_tells", 1)


def test_a_quote_that_does_not_tell_leaves_the_colleague_apart():
    both = [case(1, "vpn drops every hour", "maria@kunde.example"),
            case(7, "vpn drops every hour", "lena@kunde.example", days_ago=2)]
    jonas = "jonas@kunde.example"

    def held(maria, lena):
        return pick(both, jonas, "vpn drops every hour", quoted={1: frozenset(maria),
                                                                   7: frozenset(lena)})

    assert held({11, 12, 13}, {11, 12, 13}) is None      # a disclaimer both cases hold
    assert held({11, 12, 13, 21}, {11, 12, 13, 22}) is None   # a passage of each: both quoted
    assert held({11, 21}, {11}) is None                  # too little of Maria's mail
    assert held({11, 12, 21}, set()) == ("quote_tells", 1)    # enough, and only hers
    assert pick(both, jonas, "vpn drops every hour") is None  # no quote: no reader can tell
    assert pick(both, jonas, "vpn drops every hour", quoted={}) is None
    everything = {1: frozenset({11, 12, 13, 21})}
    # who else may not use a quote to choose: strangers, free mail, our own, fresh mail
    assert pick(both, "eve@other.example", "vpn drops every hour", quoted=everything) is None
    free = [case(4, "vpn drops every hour", "a@gmail.com", domain="gmail.com"),
            case(5, "vpn drops every hour", "b@gmail.com", domain="gmail.com")]
    assert pick(free, "c@gmail.com", "vpn drops every hour",
                quoted={4: frozenset({11, 12, 13, 21})}) is None
    assert pick(both, jonas, "vpn drops every hour", reply=False, quoted=everything) is None
    assert pick(both, jonas, "invoice 4711 is wrong", quoted=everything) is None


def usual_words(problem: str, detail: str) -> str:
    """A first mail in a company's usual words, with a detail of its own."""
    return (f"Hello, {problem} since the update on Monday. I restarted the device and logged "
            f"out and in again, but it did not help. {detail} Could you please have a look? "
            f"Kind regards from the Kunde service desk")


def test_a_colleague_quoting_mail_in_the_usual_words_joins_the_case_it_quotes(db, tmp_path):
    """Too little of the quote is Maria's own to find it among all the mail (quoted history
    asks that), but enough to tell her case from Lena's with the same subject."""
    app = agent_app(db, tmp_path, now=MONDAY)
    problem = "VPN drops every hour"
    for n, frm in enumerate(["a@acme.example", "b@stadt.example", "c@praxis.example"]):
        feed(app, mail(frm=frm, subject=f"Other problem {n}", date=MONDAY,
                       body=usual_words(problem.lower(), "The asset is on floor 1.")))
    maria = usual_words(problem.lower(), "My asset is number 4711.")
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject=problem, body=maria,
                   msgid="<u1@kunde.example>", date=MONDAY))
    feed(app, mail(frm="Lena Roth <lena@kunde.example>", subject=problem, date=MONDAY,
                   msgid="<u2@kunde.example>",
                   body=usual_words(problem.lower(), "The asset is on floor 1.")))
    quote = "\n".join("> " + line for line in textwrap.wrap(maria, 60))
    found = {}
    for frm, subject in (("Jonas <jonas@kunde.example>", "Re: VPN drops every hour"),
                         ("Eve <eve@other.example>", "Re: VPN drops every hour"),
                         ("Sam <sam@gmail.com>", "Re: VPN drops every hour")):
        found[frm] = placed(app, mail(
            frm=frm, subject=subject, date=MONDAY,
            body=f"Same here.\n\nOn Monday, Maria Keller wrote:\n{quote}"))
    with app.db.transaction() as s:
        home = s.scalar(select(Message.case_id).where(Message.message_id == "u1@kunde.example"))
    assert found["Jonas <jonas@kunde.example>"] == ("quote_tells", home)
    assert found["Eve <eve@other.example>"][0] == "new"
    assert found["Sam <sam@gmail.com>"][0] == "new"
    # Quoting Lena's mail, Ben joins hers; quoting only the words both mails share, a
    # colleague could be answering either, and stays apart.
    lena = usual_words(problem.lower(), "The asset is on floor 1.")
    shared = lena[:lena.index(" The asset")]
    for frm, text in (("Ben <ben@kunde.example>", lena), ("Ute <ute@kunde.example>", shared)):
        quote = "\n".join("> " + line for line in textwrap.wrap(text, 60))
        found[frm] = placed(app, mail(frm=frm, subject="AW: VPN drops every hour", date=MONDAY,
                                      body=f"And here.\n\nOn Monday, Lena Roth wrote:\n{quote}"))
    with app.db.transaction() as s:
        hers = s.scalar(select(Message.case_id).where(Message.message_id == "u2@kunde.example"))
    assert found["Ben <ben@kunde.example>"] == ("quote_tells", hers)
    assert found["Ute <ute@kunde.example>"][0] == "new"
    assert len(fingerprints(shared)) >= MIN_MATCH       # there was a quote to go by


class NearbyFake:
    """Recent cases and what quotes hold, in memory; counts the questions about quotes."""

    def __init__(self, cases, held):
        self.cases, self.held, self.asked = cases, held, 0

    def case_for_signed_ref(self, ref):
        return None

    case_for_ref = case_for_signed_ref

    def case_for_message_ids(self, ids):
        return None

    def is_participant(self, case_id, address):
        return False

    def recent_case_for_subject(self, sender, normalized_subject, since_at):
        return None

    def recent_cases_near(self, sender, domain, since_at):
        return [c for c in self.cases if sender in c.people or c.customer_domain == domain]

    def prints_held(self, prints, case_ids):
        self.asked += 1
        return {i: self.held[i] & frozenset(prints) for i in case_ids if i in self.held}


def test_the_quote_is_asked_about_only_when_nothing_else_placed_the_mail():
    both = [case(1, "vpn drops every hour", "maria@kunde.example"),
            case(7, "vpn drops every hour", "lena@kunde.example", days_ago=2)]
    lookup = NearbyFake(both, {1: frozenset({11, 12, 13, 21}), 7: frozenset({11, 12, 13})})

    def place(sender, prints=(11, 12, 13, 21)):
        msg = ThreadInput(message_id="<n@x>", in_reply_to=(), references=(), from_addr=sender,
                          subject="Re: VPN drops every hour", signed_ref=None, date_at=T,
                          quoted_prints=prints)
        match = thread_message(msg, lookup, now=T, subject_window=timedelta(days=14),
                               own_domains=OURS)
        return match.rule, match.case_id

    assert place("maria@kunde.example") == ("case_subject", 1) and lookup.asked == 0
    assert place("jonas@kunde.example", ()) == ("new", None) and lookup.asked == 0
    assert place("jonas@kunde.example") == ("quote_tells", 1) and lookup.asked == 1
    assert place("jonas@kunde.example", (11, 12, 13)) == ("new", None)
    assert place("eve@other.example") == ("new", None)


def test_a_domains_recent_cases_are_one_index_range(db):
    """The colleague question asks for the cases of a customer domain active since a time:
    cases carry their customer's domain (set when the case opens; migration 0006 filled it
    in for older cases), and ix_cases_domain_updated answers it without visiting each person
    of a large customer."""
    dialect = db.engine.dialect.name
    with db.transaction() as s:
        for n in range(40):
            for domain in ("Kunde.example", "other.example"):
                contact = Contact(email=f"p{n}@{domain}", name="", phones=[], created_at=MONDAY)
                s.add(contact)
                s.flush()
                open_case(s, subject=f"Topic {n}", normalized_subject=f"topic {n}",
                          customer=contact, mailbox_id=None, priority="normal", team="",
                          ref_base=1000, now=MONDAY + timedelta(hours=n))
    question = select(Case.id).where(Case.customer_domain == "kunde.example",
                                     Case.updated_at >= MONDAY + timedelta(hours=30))
    with db.transaction() as s:
        assert len(s.scalars(question).all()) == 10
        compiled = str(question.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        if dialect == "postgresql":
            s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = s.execute(text("EXPLAIN " + compiled)).scalars().all()
        else:
            plan = [row[-1] for row in s.execute(text("EXPLAIN QUERY PLAN " + compiled))]
        assert any("ix_cases_domain_updated" in line for line in plan), plan


def test_upgrade_fills_in_the_domain_of_older_cases(db):
    """Migration 0006 gives every case made before it its customer's domain."""
    from alembic import command

    from mailproc.db import alembic_config

    command.downgrade(alembic_config(db.engine), "0005")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO contacts (email, name, phones, created_at) VALUES "
                          "('Ann@Kunde.Example', '', '[]', :t)"), {"t": MONDAY})
        contact = conn.execute(text("SELECT id FROM contacts")).scalar()
        conn.execute(text(
            "INSERT INTO cases (ref, status, priority, subject, normalized_subject, team, "
            "assignee, created_at, updated_at, kb_suggestions, resolved_by_kb, customer_id) "
            "VALUES ('1001', 'open', 'normal', 'Printer', 'printer', '', '', :t, :t, '[]', "
            ":f, :c), ('1002', 'open', 'normal', 'x', 'x', '', '', :t, :t, '[]', :f, NULL)"),
            {"t": MONDAY.replace(tzinfo=None), "f": False, "c": contact})
    db.upgrade()
    with db.transaction() as s:
        domains = s.execute(select(Case.ref, Case.customer_domain))
        assert {ref: domain for ref, domain in domains} == {
            "1001": "kunde.example", "1002": None}
