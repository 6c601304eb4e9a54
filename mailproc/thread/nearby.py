"""Threading without headers: which case a person reading the mail would put it in, from what
it quotes, who wrote it and what the subject says (pure; the rules in thread/rules.py ask).

Webmail forwards, ticket gateways, some mobile clients, and customers who start a fresh mail
about the same problem leave no In-Reply-To or References. First, *quoted history*: the
quoted part holds passages of a stored message's new text (`thread.prints`), and the
sender is that case's customer, copied on it, or at its customer's domain. Then, among the
recently active cases:

- *case subject*: the sender takes part in a case (its customer, or copied) active within
  the window, with the same subject once reply markers and tags are gone;
- *colleague*: someone else at the customer's own domain replies (`Re:`) with that subject;
  never for free-mail domains (the same domain says nothing there) nor for our own, and
  only when one case fits (two colleagues' cases with one subject: a reader cannot tell
  either). A colleague's fresh mail with the same subject is their own request: many people
  at one company report the same outage;
- *evolving subject*: the sender, or a colleague replying, writes a subject that extends the
  case's (or the case's extends theirs) by a few words: "Password reset (still broken)";
  not by a number or words of a new round ("(take 2)", "part 2", "second request");
- *the quote tells*: where a colleague's reply fits several cases at their domain, the one
  whose mail the quoted part holds: at least MIN_MATCH of its passages, every passage a
  rival holds as well, and one more. Too little of the quote to be found among all stored
  mail (a short mail, or one in a company's usual words) is still enough to tell two
  candidates apart; a quote that holds only what both have (a disclaimer) tells nothing.

Strangers at other domains stay apart, and so does the same customer's second, different
problem: precision first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mailproc.thread.prints import MIN_MATCH
from mailproc.thread.subjects import is_generic_subject

# Where one domain holds millions of unrelated people.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "outlook.de", "hotmail.com", "hotmail.de",
    "hotmail.co.uk", "hotmail.fr", "live.com", "live.de", "msn.com", "yahoo.com", "yahoo.de",
    "yahoo.co.uk", "yahoo.fr", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
    "aol.de", "gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "web.de", "t-online.de",
    "freenet.de", "posteo.de", "mailbox.org", "proton.me", "protonmail.com", "pm.me",
    "tutanota.com", "tuta.io", "zoho.com", "mail.com", "yandex.ru", "yandex.com", "mail.ru",
    "qq.com", "163.com", "126.com", "sina.com", "naver.com", "daum.net", "orange.fr",
    "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "tiscali.it",
    "seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "bluewin.ch", "hetnet.nl",
    "ziggo.nl", "telenet.be", "skynet.be", "btinternet.com", "sky.com", "comcast.net",
    "verizon.net", "att.net", "rocketmail.com",
})
MIN_EVOLVING = 10          # characters of the shorter subject, so that "vpn" evolves nowhere
MAX_ADDITION = 40          # characters an evolving subject may add
# Words a customer puts in front of the same subject; any other word in front makes a new
# subject ("Second printer jams" is not "Printer jams").
CONTINUATION = frozenset({
    "still", "again", "urgent", "reminder", "update", "follow", "up", "followup", "re",
    "important", "asap", "please", "not", "fixed", "resolved", "open", "status", "any",
    "news", "noch", "immer", "wieder", "erneut", "nochmal", "dringend", "wichtig",
    "erinnerung", "toujours", "encore", "urgente", "todavía", "ancora",
})
# Words (and any digit) in an addition that start something new: "(take 2)", "part 2",
# "v2", "second request for another laptop" are a new round, not the same conversation.
NEW_ROUND = frozenset({"take", "part", "round", "attempt", "version", "v", "rc", "new",
                       "second", "another", "next", "other", "neue", "neuer", "zweite"})
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class RecentCase:
    """A case active since the window began, as the nearby rules see it."""

    case_id: int
    subject: str                # normalised
    last_at: datetime
    customer_domain: str        # "" when the case has no customer
    people: frozenset[str]      # its customer's and participants' addresses


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def colleague_domain(sender: str, own: frozenset[str]) -> str | None:
    """The sender's domain when colleagues can be told by it: not free mail, not ours."""
    domain = domain_of(sender)
    if not domain or domain in FREE_MAIL_DOMAINS or domain in own:
        return None
    return domain


def extends(a: str, b: str) -> bool:
    """One subject is the other with a few words added after it ("Password reset (still
    broken)"), or in front of it only words that continue a conversation ("Still: ...")."""
    short, long_ = sorted((a, b), key=len)
    if short == long_ or len(short) < MIN_EVOLVING or is_generic_subject(short):
        return False
    if len(long_) - len(short) > MAX_ADDITION:
        return False
    at = long_.find(short)
    if at < 0:
        return False
    before, after = long_[at - 1:at] if at else "", long_[at + len(short):at + len(short) + 1]
    if (before and before.isalnum()) or (after and after.isalnum()):
        return False            # inside a word: "password resetting" is not "password reset"
    added = long_[:at] + " " + long_[at + len(short):]
    if any(ch.isdigit() for ch in added) or set(_WORD.findall(added)) & NEW_ROUND:
        return False
    return all(w in CONTINUATION for w in _WORD.findall(long_[:at]))


def told_apart(candidates: list[RecentCase],
               held: Mapping[int, frozenset[int]]) -> tuple[RecentCase, int, int] | None:
    """(case, passages, rivals) for the one candidate whose stored mail holds at least
    MIN_MATCH of the quote's prints, every print another candidate holds, and more: the
    quote is its mail. `held`: per case id, the quote's prints its messages hold."""
    for case in candidates:
        mine = held.get(case.case_id, frozenset())
        others = [held.get(c.case_id, frozenset()) for c in candidates if c is not case]
        if len(mine) >= MIN_MATCH and all(o < mine for o in others):
            return case, len(mine), len(others)
    return None


def choose(cases: list[RecentCase], *, sender: str, subject: str, reply: bool,
           own_domains: frozenset[str], quoted: Mapping[int, frozenset[int]] | None = None,
           ) -> tuple[str, RecentCase, str] | None:
    """(rule, case, reason) for the most recent case a reader would put the mail in.
    `subject` is normalised; `reply`: the subject as written carried a reply marker;
    `quoted`: per case id, the prints of the quoted part its mail holds (None: not asked),
    which tell apart the cases a colleague's reply fits equally."""
    if is_generic_subject(subject):
        return None
    sender = sender.lower()
    domain = colleague_domain(sender, own_domains) if reply else None
    ordered = sorted(cases, key=lambda c: c.last_at, reverse=True)
    for case in ordered:
        if sender in case.people and case.subject == subject:
            return ("case_subject", case, f"{sender} takes part in case {case.case_id}, "
                                          f"active since {case.last_at:%Y-%m-%d}, subject "
                                          f"{subject!r}")
    # A colleague names no case of their own: only where one case fits is it that one.
    same = [c for c in ordered if domain and c.customer_domain == domain and c.subject == subject]
    if len(same) == 1:
        return ("colleague", same[0], f"{sender} is at {domain}, the domain of case "
                                      f"{same[0].case_id}'s customer, and replies to {subject!r}")
    if same:
        return _by_quote(same, quoted, f"{sender} at {domain} replies to {subject!r}")
    for case in ordered:
        if sender in case.people and extends(subject, case.subject):
            return ("evolving_subject", case, f"{subject!r} extends case {case.case_id}'s "
                                              f"{case.subject!r}")
    grown = [c for c in ordered if domain and c.customer_domain == domain
             and extends(subject, c.subject)]
    if len(grown) == 1:
        return ("evolving_subject", grown[0], f"{subject!r} extends case {grown[0].case_id}'s "
                                              f"{grown[0].subject!r}, at {domain}")
    if grown:
        return _by_quote(grown, quoted, f"{sender} at {domain} replies to {subject!r}, "
                                        f"which extends theirs")
    return None


def _by_quote(candidates: list[RecentCase], quoted: Mapping[int, frozenset[int]] | None,
              why: str) -> tuple[str, RecentCase, str] | None:
    found = told_apart(candidates, quoted) if quoted else None
    if found is None:
        return None
    case, passages, rivals = found
    others = "the others hold" if rivals > 1 else "the other holds"
    return ("quote_tells", case, f"{why}; {rivals + 1} cases there fit, and the quoted part "
                                 f"holds {passages} passages of case {case.case_id}'s mail: "
                                 f"all that {others}, and more")


def choose_quoted(found: list[tuple[RecentCase, int]], *, sender: str,
                  own_domains: frozenset[str]) -> tuple[RecentCase, int] | None:
    """The case whose mail the quote holds most of, if the sender belongs to it: its
    customer, copied on it, or a colleague at its customer's (non-free-mail) domain. A
    stranger quoting what was also sent to others (a newsletter) joins nothing."""
    sender = sender.lower()
    domain = colleague_domain(sender, own_domains)
    ranked = sorted(found, key=lambda f: (-f[1], -f[0].last_at.timestamp()))
    mine = [f for f in ranked if sender in f[0].people]        # their own cases first
    theirs = [f for f in ranked if domain and f[0].customer_domain == domain]
    return (mine or theirs or [None])[0]
