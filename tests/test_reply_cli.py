"""The parse-reply command: one file in three formats, and JSON lines in, JSON lines out."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mailproc.cli.parse_reply import detect_format, parse_reply

QUOTED = "Fixed now.\n\nCheers,\nJane\n\nOn Mon, Nov 24, 2025 at 10:02 AM Support <s@example.com> wrote:\n> Try again?\n"
RAW = (
    "From: Jane <jane@example.org>\nTo: support@example.com\nSubject: Re: x\nMIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n\n" + QUOTED
)


def test_plain_file(tmp_path):
    path = tmp_path / "reply.txt"
    path.write_text(QUOTED)
    result = CliRunner().invoke(parse_reply, [str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == "Fixed now.\n"


def test_json_output_has_quote_and_signature(tmp_path):
    path = tmp_path / "reply.eml"
    path.write_text(RAW)
    result = CliRunner().invoke(parse_reply, [str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "eml"
    assert data["text"] == "Fixed now."
    assert data["signature"] == "Cheers,\nJane"
    assert data["quoted"].startswith("On Mon, Nov 24, 2025")


def test_html_file_detected_by_content(tmp_path):
    path = tmp_path / "body"
    path.write_text('<div>Fixed now.</div><div class="gmail_quote">On Mon wrote:<blockquote>x</blockquote></div>')
    result = CliRunner().invoke(parse_reply, [str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == "Fixed now.\n"


def test_detect_format():
    assert detect_format(RAW.encode()) == "eml"
    assert detect_format(b"<html><body>x</body></html>") == "html"
    assert detect_format(b"From: here on, I think we agree.\n\nYes.") == "text"
    pasted = b"From: Bob <bob@example.net>\nSent: Monday\nTo: Jane\nSubject: x\n\nHello"
    assert detect_format(pasted) == "text"
    assert detect_format(b"anything", "x.html") == "html"


def test_jsonl_in_order_with_errors():
    lines = [
        {"id": "a", "format": "text", "input": QUOTED},
        "not json",
        {"id": "c", "format": "html", "input": "<p>Hi</p><blockquote type=cite>old<br>older</blockquote>"},
        {"id": "d", "format": "pdf", "input": "x"},
        {"id": "e", "format": "eml", "input": RAW, "sender": "Jane <jane@example.org>"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    result = CliRunner().invoke(parse_reply, ["--jsonl"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == ["a", None, "c", "d", "e"]
    assert out[0] == {"id": "a", "text": "Fixed now.", "text_with_signature": "Fixed now.\n\nCheers,\nJane",
                      "signature": "Cheers,\nJane", "quoted": out[0]["quoted"], "inline": False,
                      "answers": "Fixed now."}
    assert "error" in out[1] and "error" in out[3]
    assert out[2]["text"] == "Hi"
    assert out[4]["text"] == "Fixed now."


def test_jsonl_reports_inline_answers_and_takes_the_subject():
    inline = ("On Mon, 2 Mar 2026 at 10:00, Bob <bob@example.com> wrote:\n> Which version?\n"
              "2.4.1\n> Which OS?\nDebian 12\n")
    forward = ("Please look at this.\n\n---------- Forwarded message ---------\n"
               "From: Vendor <v@vendor.example>\nSubject: Outage\n\nThe service is down.\n")
    stdin = "\n".join(json.dumps(x) for x in (
        {"id": "i", "format": "text", "input": inline},
        {"id": "re", "format": "text", "input": forward, "subject": "Re: outage"},
        {"id": "fwd", "format": "text", "input": forward, "subject": "Fwd: Outage"})) + "\n"
    result = CliRunner().invoke(parse_reply, ["--jsonl"], input=stdin)
    out = {o["id"]: o for o in map(json.loads, result.output.splitlines())}
    assert out["i"]["inline"] is True
    assert "2.4.1" in out["i"]["answers"] and "Debian 12" in out["i"]["answers"]
    assert "Which OS?" not in out["i"]["answers"]
    assert "The service is down." not in out["re"]["text"]
    assert "The service is down." in out["fwd"]["text"]


def test_missing_file_argument_is_a_usage_error():
    result = CliRunner().invoke(parse_reply, [])
    assert result.exit_code == 2
