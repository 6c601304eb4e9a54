"""Mail whose body the standard parsers lose: a boundary in angle brackets, a text/enriched or
text/richtext body. Real mail from the shared corpus, and the conversion's own rules."""

from __future__ import annotations

import mailbox
from pathlib import Path

from mailproc.parse.enriched import enriched_to_text
from mailproc.parse.message import parse_message

PONYMAIL = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "malformed" / "ponymail"


def first(name: str) -> bytes:
    box = mailbox.mbox(str(PONYMAIL / name))
    return box.get_bytes(box.keys()[0])


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    head = (b"From: a@example.com\nTo: b@example.com\nSubject: x\nMessage-ID: <x@example.com>\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/%s; boundary=\"%s\"\n\n"
            % (subtype.encode(), boundary.encode()))
    delimiter = b"--" + boundary.encode()
    return head + b"".join(delimiter + b"\n" + part + b"\n" for part in parts) + delimiter + b"--\n"


def test_a_boundary_in_angle_brackets_is_read_as_declared():
    # boundary="<<001-3e1dcd5a-119e>>": the stdlib reads one pair of brackets off, finds no
    # delimiter and made the whole body one attachment (an empty ticket).
    msg = parse_message(first("tomcat-ancient-boundary.mbox"))
    assert msg.text.startswith("Lajos...\n\n...this should definitely help....thanks...")
    assert "...this should definitely help" in msg.new_text
    assert "-----Original Message-----" in msg.quoted_text
    assert not msg.attachments
    assert "multipart boundary in angle brackets read as declared" in msg.defects


def test_a_boundary_in_brackets_made_up_here_too():
    msg = parse_message(_multipart("mixed", "<b1>", [
        b"Content-Type: text/plain\n\nThe words.",
        b'Content-Type: text/csv\nContent-Disposition: attachment; filename="a.csv"\n\n1,2']))
    assert msg.text == "The words."
    assert [a.filename for a in msg.attachments] == ["a.csv"]


def test_a_text_enriched_body_is_the_text_not_an_attachment():
    msg = parse_message(first("text_enriched.mbox"))      # Eudora, 2001: text/enriched only
    assert "When I enter www.tomcat1.com, I am not able to get the result." in msg.new_text
    assert msg.new_text.endswith("Any suggestions?")
    assert not msg.attachments


def test_enriched_rules():
    assert enriched_to_text("<bold>Hello</bold>\nworld.\n\nNew <<para>.\n\n\nTwo.") == \
        "Hello world.\nNew <para>.\n\nTwo."
    assert enriched_to_text("<fontfamily><param>Times New Roman</param>Text</fontfamily>") == "Text"
    assert enriched_to_text("<nofill>a\nb\n\nc</nofill>") == "a\nb\n\nc"
    assert enriched_to_text("<ContextManager debug=\"0\" >") == "<ContextManager debug=\"0\" >"
    assert enriched_to_text("Hi<nl>there <lt>tag>\nnext", richtext=True) == "Hi\nthere <tag> next"


def test_plain_text_beside_enriched_is_the_body():
    msg = parse_message(_multipart("alternative", "b2", [
        b"Content-Type: text/plain\n\nPlain words.",
        b"Content-Type: text/enriched\n\n<bold>Plain</bold> words."]))
    assert msg.text == "Plain words."
    assert not msg.attachments
