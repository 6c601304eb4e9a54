"""Large base64 bodies are lifted out while the stdlib parser reads a message
(mailproc.parse.lift): what comes back is the very tree the stdlib builds from the original
bytes, and a body the swap cannot put back exactly is parsed the slow way."""

from __future__ import annotations

import base64
import email
import os

import pytest

from mailproc.parse.lift import lift, restore
from mailproc.parse.message import parse_message
from tests.helpers import CORPORA
from tests.hostile import big_attachment, endless_base64

BASE64_MAIL = sorted(p for p in CORPORA.rglob("*")
                     if p.is_file() and b"base64" in p.read_bytes().lower())


def lifted_tree(raw: bytes, at_least: int):
    text, bodies = lift(raw, at_least=at_least)
    msg = email.message_from_bytes(text)
    return msg, bodies, restore(msg, bodies)


def test_the_corpus_has_base64_mail_to_compare():
    assert len(BASE64_MAIL) >= 100


@pytest.mark.parametrize("path", BASE64_MAIL, ids=lambda p: p.name)
def test_real_mail_parses_to_the_same_tree_with_every_base64_body_lifted(path):
    """Lifting every base64 body of at least 16 bytes, mail written by real clients gives the
    stdlib's tree byte for byte, the same defects, and the same decoded bytes."""
    raw = path.read_bytes()
    plain = email.message_from_bytes(raw)
    msg, bodies, decoded = lifted_tree(raw, at_least=16)
    if decoded is None:         # not every body went back: parse_message parses `raw` again
        return
    assert msg.as_bytes() == plain.as_bytes()
    for ours, theirs in zip(msg.walk(), plain.walk(), strict=True):
        assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]
        if id(ours) in decoded:
            assert decoded[id(ours)] == theirs.get_payload(decode=True)


def test_most_real_base64_bodies_are_lifted_and_put_back():
    """The rest quote a part inside a text part (bounces) or are broken: parsed the slow way."""
    outcomes = [lifted_tree(p.read_bytes(), 16) for p in BASE64_MAIL]
    put_back = sum(bool(bodies) and decoded is not None for _, bodies, decoded in outcomes)
    assert put_back >= len(BASE64_MAIL) * 0.7


def test_a_big_attachment_is_lifted_and_decoded_once():
    raw = big_attachment(3_000_000)
    msg, bodies, decoded = lifted_tree(raw, at_least=1_000_000)
    assert len(bodies) == 1 and len(decoded) == 1
    parsed = parse_message(raw, max_bytes=10**9)
    [file] = parsed.attachments
    assert file.filename == "shot.png"
    assert file.payload == email.message_from_bytes(raw).get_payload()[1].get_payload(decode=True)
    assert parsed.new_text == "The screenshot is attached."


def test_base64_that_never_ends_is_lifted_to_the_end_of_the_message():
    raw = endless_base64(1_200_000)
    _, bodies, decoded = lifted_tree(raw, at_least=1_000_000)
    assert len(bodies) == 1 and len(decoded) == 1
    assert list(decoded.values())[0] == b"AAA" * 300_000


def test_bad_padding_is_left_to_the_stdlib_which_notes_the_defect():
    body = base64.encodebytes(os.urandom(900_000))[:-2] + b"\r\n"     # one character short
    raw = (b"From: a@kunde.example\r\nSubject: log\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
           b"\r\n" + body)
    msg, bodies, decoded = lifted_tree(raw, at_least=1000)
    assert len(bodies) == 1 and decoded == {}        # put back, but decoded the stdlib's way
    ours = msg.get_payload(decode=True)
    assert ours == email.message_from_bytes(raw).get_payload(decode=True)
    assert [type(d).__name__ for d in msg.defects] == ["InvalidBase64PaddingDefect"]


def test_a_lookalike_inside_a_text_body_is_not_taken_for_a_part():
    """A text part that quotes a base64 part's header and body: the swap would land inside
    the text, so it is undone and the original bytes parsed."""
    quoted = base64.encodebytes(b"x" * 3000)
    raw = (b"From: a@kunde.example\r\nSubject: quoted\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
           b"Content-Type: text/plain\r\n\r\nThe raw part looked like this:\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + quoted + b"and then it stopped.\r\n"
           b"--b--\r\n")
    text, bodies = lift(raw, at_least=1000)
    assert bodies == {} and text == raw      # "and then it stopped." is not base64
    quoted_to_boundary = raw.replace(b"and then it stopped.\r\n", b"")
    msg, bodies, decoded = lifted_tree(quoted_to_boundary, at_least=1000)
    assert len(bodies) == 1 and decoded is None
    parsed = parse_message(quoted_to_boundary)
    assert quoted.splitlines()[-1].decode() in parsed.text and "mailproc-lifted" not in parsed.text
