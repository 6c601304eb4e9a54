"""Outgoing message building: loop-safe headers, sanitised values, stable ids, real threads."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timezone
from email.utils import getaddresses, parseaddr
from pathlib import Path

import pytest

from mailproc.outbox.mime import (
    MAX_REFERENCES, build_message, cap_references, check_address, clean_header, make_message_id,
    needs_smtputf8, normalize_message_id,
)

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
AT = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
INJECT = "\r\nBcc: evil@attacker.example\r\nX-Injected: yes"


def build(**overrides) -> bytes:
    args = dict(from_addr="support@example.com", from_name="Example Support",
                to=["kim@customer.example"], subject="Your request [#1042]",
                text="We got your mail.\nCase 1042.", html="<p>We got your mail.</p>",
                message_id=make_message_id("example.com", "ack", "ack:case:42"),
                in_reply_to="<orig-1@customer.example>",
                references=["<root@customer.example>", "orig-1@customer.example"],
                reply_to="support+1042.abcdef@example.com", loop_token="support@example.com",
                date_at=AT)
    args.update(overrides)
    return build_message(**args)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_loop_safe_headers_and_threading():
    msg = parse(build())
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Loop"] == "support@example.com"
    assert msg["Precedence"] is None  # RFC 3834: do not use Precedence for this
    assert re.fullmatch(r"<mp\.ack\.[0-9a-f]{24}@example\.com>", msg["Message-ID"])
    assert msg["In-Reply-To"] == "<orig-1@customer.example>"
    assert msg["References"].split() == ["<root@customer.example>", "<orig-1@customer.example>"]
    assert parseaddr(msg["Reply-To"])[1] == "support+1042.abcdef@example.com"
    assert parseaddr(msg["From"]) == ("Example Support", "support@example.com")
    assert msg["Date"].datetime == AT
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert msg.get_body(("plain",)).get_content().startswith("We got your mail.")


def test_wire_format_is_crlf_and_7bit():
    raw = build(subject="Grüße – Ihre Anfrage", text="Schöne Grüße\n", from_name="Süpport Team")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(raw) < 128
    msg = parse(raw)
    assert msg["Subject"] == "Grüße – Ihre Anfrage"
    assert parseaddr(str(msg["From"]))[0] == "Süpport Team"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Schöne Grüße\n"
    assert b"Content-Transfer-Encoding: quoted-printable" in raw


def test_human_mail_has_no_auto_markers_but_keeps_x_loop():
    msg = parse(build(auto_submitted=None))
    assert msg["Auto-Submitted"] is None and msg["X-Auto-Response-Suppress"] is None
    assert msg["X-Loop"] == "support@example.com"
    with pytest.raises(ValueError):
        build(auto_submitted="yes please")


@pytest.mark.parametrize("field", ["subject", "from_name", "loop_token"])
def test_header_injection_cannot_add_a_header(field):
    value = {"subject": "Hello", "from_name": "Kim", "loop_token": "support@example.com"}[field]
    raw = build(**{field: value + INJECT})
    msg = parse(raw)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert b"\r\nBcc:" not in raw and b"\r\nX-Injected:" not in raw
    names = [k.lower() for k in msg.keys()]
    assert len(names) == len(set(names))  # nothing doubled either
    header = {"subject": "Subject", "from_name": "From", "loop_token": "X-Loop"}[field]
    # The text survives, on the one line of the header it was given for.
    assert "Bcc: evil@attacker.example X-Injected: yes" in str(msg[header])


def test_extra_headers_are_sanitised_and_cannot_replace_ours():
    msg = parse(build(extra_headers={"X-Mailproc-Case": "1042" + INJECT}))
    assert msg["X-Mailproc-Case"].startswith("1042 Bcc:") and msg["Bcc"] is None
    for name in ("Bcc", "Message-ID", "auto-submitted", "X-Bad: x", "X\r\nBcc"):
        with pytest.raises(ValueError):
            build(extra_headers={name: "x"})


@pytest.mark.parametrize("bad", [
    "kim@customer.example\r\nBcc: evil@attacker.example", "not an address", "kim@", "@example.com",
    "Kim <kim@customer.example>", "kim@@customer.example", "kim@customer..example", "kim .x@a.b",
    "kim@exa mple.com", "kim@customer.example,evil@attacker.example",
])
def test_a_bad_address_is_refused(bad):
    with pytest.raises(ValueError):
        check_address(bad)
    with pytest.raises(ValueError):
        build(to=[bad])
    with pytest.raises(ValueError):
        build(reply_to=bad)
    with pytest.raises(ValueError):
        build(cc=[bad])


def test_recipients_and_cc():
    msg = parse(build(to=["a@one.example", "b@two.example"], cc=["c@three.example"]))
    assert [a for _, a in getaddresses([msg["To"]])] == ["a@one.example", "b@two.example"]
    assert [a for _, a in getaddresses([msg["Cc"]])] == ["c@three.example"]
    with pytest.raises(ValueError):
        build(to=[])


def test_references_are_capped_keeping_the_root():
    refs = [f"<r{i}@list.example>" for i in range(40)]
    msg = parse(build(references=refs, in_reply_to="<r39@list.example>"))
    got = msg["References"].split()
    assert len(got) == MAX_REFERENCES
    assert got[0] == "<r0@list.example>" and got[-1] == "<r39@list.example>"
    assert got[1:] == refs[-(MAX_REFERENCES - 1):]
    assert cap_references(["a", "b", "a"]) == ["a", "b"]


def test_garbage_thread_ids_are_dropped_not_sent():
    msg = parse(build(in_reply_to="no id here", references=["<ok@x.example>", "two words@x",
                                                            "<a@b>\r\nBcc: e@x.example"]))
    assert msg["In-Reply-To"] is None
    assert msg["References"].split() == ["<ok@x.example>"]
    with pytest.raises(ValueError):
        build(message_id="not-an-id")


def test_message_id_is_stable_per_kind_and_key():
    a = make_message_id("example.com", "ack", "ack:case:42")
    assert a == make_message_id("example.com", "ack", "ack:case:42")
    assert a != make_message_id("example.com", "ack", "ack:case:43")
    assert a != make_message_id("example.com", "escalation", "ack:case:42")
    odd = make_message_id("example.com", "Agent Reply/2", "x")
    assert odd.startswith("<mp.agent-reply-2.") and normalize_message_id(odd) == odd
    with pytest.raises(ValueError):
        make_message_id("exa mple.com\r\n", "ack", "k")


def test_attachments_make_a_mixed_message():
    msg = parse(build(attachments=[("report\r\n.txt", "text/csv", b"a,b\r\n1,2\r\n")]))
    assert msg.get_content_type() == "multipart/mixed"
    att = next(msg.iter_attachments())
    assert att.get_filename() == "report .txt"
    assert att.get_content_type() == "text/csv"


def test_clean_header_removes_every_control_character():
    assert clean_header("a\x00b\x1bc\x7fd\u2028e\x85f\tg\r\nh") == "a b c d e f g h"


def _lkml_messages(limit: int) -> list[email.message.EmailMessage]:
    folder = CORPORA / "threads" / "notmuch-lkml"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.compat32) for p in files]
    deep = [m for m in msgs if len((m["References"] or "").split()) >= 3]
    # The deepest first: those are the ones the cap has to cut.
    deep.sort(key=lambda m: -len((m["References"] or "").split()))
    return deep[:limit]


def test_replies_to_real_deep_threads_stay_threaded():
    msgs = _lkml_messages(40)
    assert len(msgs) >= 20, "the LKML corpus should have deep threads"
    for orig in msgs:
        # Real headers carry junk tokens such as "<yes>"; only real ids are kept.
        refs = [r for r in (orig["References"] or "").split() if normalize_message_id(r)]
        own = orig["Message-ID"].strip()
        subject = str(orig["Subject"] or "")
        reply = parse(build(subject="Re: " + subject, in_reply_to=own, references=refs))
        got = reply["References"].split()
        assert got[0] == refs[0] and got[-1] == own, orig["Message-ID"]
        assert len(got) <= MAX_REFERENCES
        # Real threads here are at most 13 deep: every id is kept, in order.
        assert got == list(dict.fromkeys([*refs, own]))
        assert reply["In-Reply-To"].strip() == own
        # The stdlib folds a header that fits one continuation line onto it; unfolding (RFC
        # 5322 3.2.2) leaves the usual space after the colon, which readers strip.
        assert reply["Subject"].strip() == "Re: " + clean_header(subject)


def test_transport_address_idna_domain_and_refusals():
    from mailproc.outbox.mime import transport_address

    assert transport_address("ann@example.com") == "ann@example.com"
    assert transport_address("ann@bücher.example") == "ann@xn--bcher-kva.example"
    assert transport_address("änn@example.com") == "änn@example.com"   # kept: SMTPUTF8
    assert transport_address("änn@bücher.example") == "änn@xn--bcher-kva.example"
    assert transport_address("ann@exa mple.com") is None
    assert transport_address("än\u00a0n@example.com") is None   # no space of any kind
    for sneaky in ("a\u200bn@example.com", "a\u202en@example.com", "ann\uff20x@example.com",
                   "a\ufeffn@example.com", "a\ue000n@example.com"):
        assert transport_address(sneaky) is None, sneaky     # invisible or look-alike
    assert transport_address("no-at-sign") is None
    assert not needs_smtputf8(["ann@xn--bcher-kva.example"])
    assert needs_smtputf8(["ann@example.com", "änn@example.com"])


def test_a_non_ascii_local_part_makes_utf8_headers_and_nothing_else_changes():
    common = dict(from_addr="support@example.com", from_name="Support", subject="Drucker – kaputt",
                  text="Hallo Jörg\n", message_id="<m1@example.com>", loop_token="x",
                  date_at=AT)
    utf8 = build_message(to=["jdöe@xn--mchine-bua.example"], **common)
    head = utf8.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    assert "To: jdöe@xn--mchine-bua.example" in head and "Subject: Drucker – kaputt" in head
    plain = build_message(to=["joerg@xn--mchine-bua.example"], **common)
    assert plain.split(b"\r\n\r\n", 1)[0].isascii()     # RFC 2047 words as before


def test_message_ids_cannot_be_computed_without_the_secret():
    plain = make_message_id("example.com", "ack", "ack:case:1")
    keyed = make_message_id("example.com", "ack", "ack:case:1", b"secret-one")
    assert keyed != plain and keyed.startswith("<mp.ack.")
    assert keyed == make_message_id("example.com", "ack", "ack:case:1", b"secret-one")
    assert keyed != make_message_id("example.com", "ack", "ack:case:1", b"secret-two")


# -- the direct writer (outbox/direct.py) against the stdlib, byte for byte ------------------

LONG_IDS = [f"<{'r' * 20}{i}.{'x' * 15}@customer.example>" for i in range(25)]
VARIANTS = {
    "from_name": ["Example Support", "", "O'Brien Help-Desk", "Support, ACME", "Jörg Support",
                  "Example Inc.", "A " * 40],
    "to": [["kim@customer.example"], [f"person.number{i}@customer-company.example"
                                      for i in range(6)]],
    "cc": [[], ["a@b.example", "c@d.example"]],
    "subject": ["Your request [#1042]", "Re: " + "printer on floor three jams " * 5,
                "A =?utf-8?q?trick?= subject", "Drucker läuft nicht", "x" * 90,
                "Re: [#7] " + "w" * 70 + " tail", ""],
    "references": [[], ["<root@customer.example>", "orig-1@customer.example"], LONG_IDS],
    "text": ["We got your mail.\nCase 1042.", "Line with trailing space \n\tTabbed\n",
             "y" * 120 + "\nshort\n", "Schöne Grüße\n", "z" * 1200, "From the start\n.\n"],
    "html": [None, "<p>We got your mail.</p>", "<p>" + "word " * 40 + "</p>\n",
             "<p>Grüße</p>", "<p>" + "h" * 1100 + "</p>"],
    "extra_headers": [None, {"X-Mailproc-Case": "1042", "X-Long": "value " * 20},
                      {"Content-Language": "de", "Resent-Date": "not a date"}],
}


def _pinned(monkeypatch, direct: bool):
    from mailproc.outbox import mime, wire

    pinned = "=_" + "5" * 32            # as long as a real one: the Content-Type folds
    monkeypatch.setattr(mime, "boundary", lambda: pinned)
    monkeypatch.setattr(wire, "boundary", lambda: pinned)
    if not direct:
        monkeypatch.setattr(mime, "message_bytes", lambda *args: None)


def _cases(n: int = 300):
    """Combinations of VARIANTS, then random ASCII text with specials at the lengths where
    folding decides (a header's value around a line's 78 characters)."""
    import random

    rng = random.Random(18)
    for _ in range(n):
        yield {key: rng.choice(values) for key, values in VARIANTS.items()}
    alphabet = 'abcdefgh   ()<>[]":;,.@\\=?!#/~\'-_'

    def text(longest: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))
    for _ in range(n):
        yield {"subject": text(160), "from_name": rng.choice(["", text(80)]),
               "to": [f"p{i}{'q' * rng.randint(0, 40)}@c.example"
                      for i in range(rng.randint(1, 4))],
               "references": [f"<{'r' * rng.randint(1, 60)}{i}@h.example>"
                              for i in range(rng.randint(0, 6))],
               "extra_headers": {"X-Note": text(160)},
               "text": text(300).replace(";", "\n"),
               "html": rng.choice([None, text(300).replace(":", "\n")])}


def test_the_direct_writer_writes_the_stdlibs_bytes(monkeypatch):
    from mailproc.outbox import direct

    written = []
    real = direct.message_bytes

    def counting(*args):
        raw = real(*args)
        written.append(raw is not None)
        return raw

    direct_out, stdlib_out = [], []
    with monkeypatch.context() as m:
        _pinned(m, direct=True)
        m.setattr("mailproc.outbox.mime.message_bytes", counting)
        direct_out = [build(**case) for case in _cases()]
    with monkeypatch.context() as m:
        _pinned(m, direct=False)
        stdlib_out = [build(**case) for case in _cases()]
    for case, mine, theirs in zip(_cases(), direct_out, stdlib_out):
        assert mine == theirs, case
    # Both ways are taken: plain ASCII directly, the rest by the stdlib.
    assert 0.1 * len(written) < sum(written) < 0.9 * len(written)


def test_a_plain_acknowledgement_is_written_directly(monkeypatch):
    from mailproc.outbox import mime

    monkeypatch.setattr(mime, "EmailMessage", None)       # the stdlib path would fail
    msg = parse(build())
    assert msg["From"] == "Example Support <support@example.com>"
    assert msg.get_body(("plain",)).get_content() == "We got your mail.\r\nCase 1042.\r\n"
    assert msg.get_body(("html",)).get_content() == "<p>We got your mail.</p>\r\n"
    with pytest.raises(TypeError):
        build(subject="Grüße")                          # needs RFC 2047: the stdlib's way
