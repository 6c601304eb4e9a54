"""Unit tests for parse_message: ids, dates, headers, charsets, bodies, attachments."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailproc.errors import ParseError
from mailproc.parse.message import parse_message

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def mail(headers: str, body: str = "Hello\n", *, raw_tail: bytes = b"") -> bytes:
    return (headers.strip("\n").replace("\n", "\r\n") + "\r\n\r\n" + body).encode() + raw_tail


BASIC = """From: Anna Example <Anna@Example.COM>
To: support@example.org, "Doe, John" <john@example.org>
Subject: Printer broken
Date: Thu, 29 Feb 2024 09:30:00 +0100
Message-ID: <abc@Host.Example.COM>
"""


def test_basic_fields():
    msg = parse_message(mail(BASIC), now=NOW)
    assert msg.message_id == "abc@host.example.com"
    assert not msg.message_id_synthesized
    assert msg.from_addr == "anna@example.com" and msg.from_name == "Anna Example"
    assert msg.to == (("", "support@example.org"), ("Doe, John", "john@example.org"))
    assert msg.date_at == datetime(2024, 2, 29, 8, 30, tzinfo=timezone.utc)
    assert msg.date_source == "date"
    assert msg.headers["subject"] == ("Printer broken",)
    assert msg.text.strip() == "Hello"


def test_empty_and_not_mail_and_too_big():
    with pytest.raises(ParseError, match="empty"):
        parse_message(b"  \r\n")
    with pytest.raises(ParseError, match="not a mail"):
        parse_message(b"\xd0\xcf\x11\xe0 this is an OLE file, not RFC 5322\n")
    with pytest.raises(ParseError, match="message is 31 MB, over the 25 MB limit"):
        parse_message(mail(BASIC, "x" * 31_000_000))


def test_synthesized_message_id_is_stable_and_content_bound():
    raw = mail(BASIC.replace("Message-ID: <abc@Host.Example.COM>\n", ""))
    first, second = parse_message(raw), parse_message(raw)
    assert first.message_id_synthesized
    assert first.message_id == second.message_id
    assert first.message_id == hashlib.sha256(raw).hexdigest()[:32] + "@mailproc.invalid"
    other = parse_message(raw + b"more\r\n")
    assert other.message_id != first.message_id
    empty = parse_message(mail(BASIC.replace("<abc@Host.Example.COM>", "")))
    assert empty.message_id_synthesized


def test_references_garbage_loops_duplicates():
    raw = mail(BASIC + "In-Reply-To: <p2@x.org> (Anna's message of Monday)\n"
               "References: junk <p1@x.org>\n <p2@x.org> \"quoted <not closed\n"
               " <p1@x.org> <abc@host.example.com> <p3@X.ORG>\n")
    msg = parse_message(raw)
    assert msg.in_reply_to == ("p2@x.org",)
    # Order kept, duplicates and the message's own id (a loop) dropped.
    assert msg.references == ("p1@x.org", "p2@x.org", "p3@x.org")


def test_rfc2047_subject_unfolded():
    raw = mail(BASIC.replace("Subject: Printer broken",
                             "Subject: =?UTF-8?Q?Dr=C3=BCcker?=\n =?ISO-8859-1?Q?_kaputt_f=FCr?= Team\n  B"))
    assert parse_message(raw).subject == "Drücker kaputt für Team B"


def test_8bit_headers_utf8_and_latin1():
    utf8 = mail(BASIC).replace(b"Anna Example", "Jürgen Müller".encode())
    assert parse_message(utf8).from_name == "Jürgen Müller"
    latin = mail(BASIC).replace(b"Subject: Printer broken", "Subject: Grüße".encode("latin-1"))
    msg = parse_message(latin)
    assert msg.subject == "Grüße"
    assert any("latin-1" in d for d in msg.defects)


def test_utf8_declared_as_a_western_charset_is_read_as_utf8():
    """A client or gateway that writes UTF-8 but declares ISO-8859-1 (or windows-1252) would
    give agents "JosÃ©" and "GrÃ¼ÃŸe"; text really in those charsets stays as it was."""
    body = "Grüße aus Köln, José\n\nDer Drucker im 2. Stock druckt nur noch leere Seiten."
    part = "Content-Type: text/plain; charset={}\nContent-Transfer-Encoding: 8bit\n"
    mislabelled = mail(BASIC + part.format("iso-8859-1"), "") + body.encode("utf-8")
    msg = parse_message(mislabelled)
    assert msg.text.strip() == body and "Ã" not in msg.text
    assert any("mislabelled charset iso-8859-1" in d and "utf-8" in d for d in msg.defects)
    # Text really in those charsets, some of it valid UTF-8 byte for byte (a capital or ß
    # right before a symbol: "É®" would read as U+026E, "ß…" as U+07C5), stays as written.
    for charset, encoding, text in (("iso-8859-1", "latin-1", body + " (½ Seite, ©)"),
                                    ("windows-1252", "cp1252", body + " – 5 €"),
                                    ("iso-8859-1", "latin-1", "NESCAFÉ® startet nicht"),
                                    ("windows-1252", "cp1252", "Display bleibt weiß…"),
                                    ("iso-8859-15", "iso-8859-15", "Mon compte est BLOQUÉ\xa0!"),
                                    ("windows-1252", "cp1252", "RENÉ’s laptop")):
        genuine = mail(BASIC + part.format(charset), "") + text.encode(encoding)
        assert parse_message(genuine).text.strip() == text
    subject = mail(BASIC.replace("Subject: Printer broken",
                                 "Subject: =?iso-8859-1?Q?Jos=C3=A9s_Drucker?="))
    assert parse_message(subject).subject == "Josés Drucker"


def test_unknown_charset_falls_back_with_defect():
    raw = mail(BASIC + "Content-Type: text/plain; charset=x-unknown\nContent-Transfer-Encoding: 8bit\n",
               "") + "Café crème €5".encode("cp1252")
    msg = parse_message(raw)
    assert "Café crème €5" in msg.text
    assert any("unknown charset x-unknown" in d and "cp1252" in d for d in msg.defects)


@pytest.mark.parametrize(
    "date_header, expected_source",
    [
        ("Date: not a date at all", "received"),
        ("Date: Mon, 1 Jan 2035 10:00:00 +0000", "received"),  # years in the future
        ("Date: Mon, 1 Jan 1979 10:00:00 +0000", "received"),  # before 1990
        ("", "received"),
    ],
)
def test_date_falls_back_to_newest_received(date_header, expected_source):
    headers = BASIC.replace("Date: Thu, 29 Feb 2024 09:30:00 +0100", date_header)
    headers = ("Received: from a by b; Fri, 1 Mar 2024 10:00:00 +0000\n"
               "Received: from c by a; Fri, 1 Mar 2024 09:00:00 +0000\n") + headers
    msg = parse_message(mail(headers), now=NOW)
    assert msg.date_source == expected_source
    assert msg.date_at == datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)


def test_date_falls_back_to_given_time_then_slack():
    fallback = datetime(2024, 2, 2, tzinfo=timezone.utc)
    headers = BASIC.replace("Thu, 29 Feb 2024 09:30:00 +0100", "garbage")
    msg = parse_message(mail(headers), now=NOW, received_fallback_at=fallback)
    assert (msg.date_at, msg.date_source) == (fallback, "fallback")
    # Less than a day ahead of now is clock skew, not an absurd date.
    soon = (NOW + timedelta(hours=20)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg = parse_message(mail(BASIC.replace("Thu, 29 Feb 2024 09:30:00 +0100", soon)), now=NOW)
    assert msg.date_source == "date"


def test_attachments_hash_and_sanitised_names():
    payload = bytes(range(256)) * 4
    import base64
    b64 = base64.b64encode(payload).decode()
    raw = mail(BASIC + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n',
               "--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
               "--B\r\nContent-Type: application/octet-stream\r\n"
               'Content-Disposition: attachment; filename="../../etc/pa\x01sswd.bin"\r\n'
               f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
               "--B\r\nContent-Type: application/pdf\r\n"
               "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n%PDF\r\n"
               "--B--\r\n")
    msg = parse_message(raw)
    first, second = msg.attachments
    assert first.filename.endswith("sswd.bin") and first.filename.startswith("pa")
    assert not any(c in first.filename for c in "/\\\x01")
    assert first.payload == payload and first.size == 1024
    assert first.sha256 == hashlib.sha256(payload).hexdigest()
    assert second.filename == "résumé.pdf" and second.content_type == "application/pdf"
    assert "see attached" in msg.text


def test_html_only_mail_gets_text():
    raw = mail(BASIC + "Content-Type: text/html; charset=utf-8\n",
               "<html><body><p>Bitte <b>helfen</b> Sie mir</p><script>x()</script></body></html>")
    msg = parse_message(raw)
    assert msg.html is not None and "<b>helfen</b>" in msg.html
    assert "Bitte helfen Sie mir" in " ".join(msg.text.split())
    assert "helfen" in msg.new_text


def test_reply_parts_split_quote():
    body = "Thanks, that worked.\r\n\r\nOn Mon, 1 Jan 2024, Support <support@example.org> wrote:\r\n> Try again\r\n"
    msg = parse_message(mail(BASIC, body))
    assert "that worked" in msg.new_text
    assert "Try again" not in msg.new_text
    assert "Try again" in msg.quoted_text


def test_mail_parser_failure_falls_back_to_stdlib():
    raw = (CORPORA / "malformed" / "sisimai-bounces" / "lhost-sendgrid-01.eml").read_bytes()
    msg = parse_message(raw)
    assert any("mail-parser failed" in d for d in msg.defects)
    assert msg.from_addr and msg.subject


def test_auth_results_kept_raw():
    raw = mail(BASIC + "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com\n")
    assert parse_message(raw).auth_results == ("mx.example.org; spf=pass smtp.mailfrom=example.com",)
