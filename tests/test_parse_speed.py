"""parse_message's short cut through mail-parser gives exactly what mail-parser's full parse gave."""

from __future__ import annotations

import email
import logging
import mailbox
import random
from pathlib import Path

import mailparser
import pytest
from mailparser.exceptions import MailParserReceivedParsingError
from mailparser.received import split_received

from mailproc.parse import addresses as address_module
from mailproc.parse import message as parse_module
from mailproc.parse.addresses import address_header_notes
from mailproc.parse.dates import date_header_notes, received_stamp
from mailproc.parse.message import parse_message
from mailproc.parse.repair import BRACKETED

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

# The corpora live in ../shared beside the repo (CI checks it out there); a missing
# corpus is a failure, not a skip.


def corpus():
    for folder in ("threads", "malformed"):
        for path in sorted((CORPORA / folder).rglob("*")):
            if not path.is_file() or path.suffix in (".jsonl", ".md"):
                continue
            if path.suffix == ".mbox":
                box = mailbox.mbox(str(path))
                for index, key in enumerate(box.keys()):
                    yield f"{path.name}#{index}", box.get_bytes(key)
            else:
                yield str(path.relative_to(CORPORA)), path.read_bytes()


@pytest.fixture(autouse=True)
def quiet_mailparser():
    logger = logging.getLogger("mailparser")
    level = logger.level
    logger.setLevel(logging.ERROR)  # one "content not handled" warning per PGP part
    yield
    logger.setLevel(level)


def test_header_notes_equal_mailparsers_own_diagnostics():
    compared, with_notes = 0, 0
    for name, raw in corpus():
        try:
            full = mailparser.parse_from_bytes(raw)
        except Exception:  # noqa: BLE001 - parse_message takes its fallback path for these
            continue
        assert address_header_notes(full.message) == full.address_header_defects, name
        assert date_header_notes(full.message) == full.date_header_defects, name
        compared += 1
        with_notes += bool(full.address_header_defects or full.date_header_defects)
    assert compared > 2000
    assert with_notes > 50  # the comparison covers real diagnostics, not only empty lists


def _stamp_or_error(read, value: str):
    try:
        return "stamp", read(value)
    except MailParserReceivedParsingError as exc:
        return "error", str(exc)


def test_received_stamp_reads_every_trace_field_as_split_received_does():
    """The jump from one delimiter to the next gives split_received's stamp, or its error,
    on the corpora's Received fields and on the same fields with delimiters thrown in."""
    values = [value for _, raw in corpus() for name, value in
              email.message_from_bytes(raw).raw_items() if name.lower() == "received"]
    assert len(values) > 5000
    rnd = random.Random(7)
    pieces = list('()"[]<>;\\ \tx1:@') + ["from ", "by ", " id ", "for <a@b>", "with cipher"]
    mangled = []
    for value in values[::3]:
        chars = list(value)
        for _ in range(rnd.randint(1, 4)):
            chars.insert(rnd.randrange(len(chars) + 1), rnd.choice(pieces))
        mangled.append("".join(chars))
    mangled += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 24)))
                for _ in range(20000)]
    split = lambda value: split_received(value, defects=[])[1]  # noqa: E731
    differing = [v for v in values + mangled
                 if _stamp_or_error(split, v) != _stamp_or_error(received_stamp, v)]
    assert not differing, differing[:5]
    errors = sum(_stamp_or_error(received_stamp, v)[0] == "error" for v in mangled)
    assert errors > 1000      # the malformed shapes were exercised, not only good ones


def test_plain_address_fields_are_what_mail_parser_notes_nothing_on():
    """address_header_notes skips mail-parser's scan for PLAIN_ADDRESSES fields: on every
    such field of the corpora, and on generated ones of each shape, it notes nothing."""
    from mailparser.const import ADDRESSES_HEADERS
    from mailparser.utils import get_addresses

    values = [msg.policy.header_fetch_parse(name, value) for _, raw in corpus()
              for msg in [email.message_from_bytes(raw)] for name, value in msg.raw_items()
              if name.lower() in ADDRESSES_HEADERS]
    rnd = random.Random(11)
    atext = "abcXYZ019!#$%&'*+/=?^_`{|}~-"

    def word(chars: str = atext) -> str:
        return "".join(rnd.choice(chars) for _ in range(rnd.randint(1, 6)))

    def address() -> str:
        return ".".join(word() for _ in range(rnd.randint(1, 2))) + "@" + \
            ".".join(word("abc019-") for _ in range(rnd.randint(2, 3)))

    def mailbox_() -> str:
        shape = rnd.randrange(4)
        name = (" ".join(word(atext.replace("=", "").replace("?", ""))
                         for _ in range(rnd.randint(1, 3))) if shape == 1 else
                '"' + "".join(rnd.choice(" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~")
                              for _ in range(rnd.randint(1, 10))) + '"' if shape == 2 else "")
        return address() if shape == 0 else f"{name}{rnd.choice(['', ' '])}<{address()}>"

    values += [rnd.choice(["", " "]) + rnd.choice([",", ", ", " , "]).join(
        mailbox_() for _ in range(rnd.randint(1, 3))) for _ in range(5000)]
    plain = [v for v in values
             if isinstance(v, str) and address_module.PLAIN_ADDRESSES.fullmatch(v)]
    assert len(plain) > 9000
    noted = []
    for value in plain:
        found: list[dict] = []
        get_addresses(value, defects=found, decode_names=True)
        if found:
            noted.append((value, found))
    assert not noted, noted[:3]
    for other in ("=?utf-8?q?J=C3=B6rg?= <j@x.org>", "j@x.org (Jörg)", "a@b", '"a\\"b" <x@y.z>',
                  "Jörg <j@x.org>", "John Q. Public <j@x.org>", "a@b.com,\r\n b@c.de"):
        assert not address_module.PLAIN_ADDRESSES.fullmatch(other), other


def test_short_load_keeps_every_defect_of_the_full_parse():
    differing = []
    for name, raw in corpus():
        fast: list[str] = []
        try:
            msg, _ = parse_module._load(raw, fast)
        except Exception:  # noqa: BLE001 - unreadable either way; parse_message says why
            continue
        full: list[str] = []
        full_msg = parse_module._load_full(raw, full)
        full += [f"MIME {type(d).__name__} in {p.get_content_type()}"
                 for p in full_msg.walk() for d in getattr(p, "defects", ())]
        if BRACKETED in fast:
            # Read as declared on purpose (parse/repair.py), where the full parse finds no part.
            assert any("StartBoundaryNotFoundDefect" in d for d in full), name
            continue
        if fast != full:
            differing.append(name)
    assert not differing, differing[:10]


def test_ordinary_mail_skips_mailparsers_body_walk(monkeypatch):
    def refuse(self):
        raise AssertionError("mail-parser's full parse ran")

    monkeypatch.setattr(mailparser.MailParser, "parse", refuse)
    raw = (CORPORA / "threads" / "notmuch-lkml" / "cur").iterdir().__next__().read_bytes()
    msg = parse_message(raw)
    assert msg.subject and msg.text
    assert not any("mail-parser failed" in d for d in msg.defects)


def test_epilogue_recovery_still_goes_through_mailparser():
    raw = (CORPORA / "malformed" / "sisimai-bounces" / "lhost-sendgrid-01.eml").read_bytes()
    msg = parse_message(raw)
    # mail-parser's epilogue recovery breaks on this bounce, as it always did: recorded, not lost.
    assert "mail-parser failed (AttributeError), parsed with stdlib email" in msg.defects
    assert msg.message_id
