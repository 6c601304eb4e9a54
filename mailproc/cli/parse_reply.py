"""`mailproc parse-reply`: print the new text of a message, or process JSON lines of inputs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from mailproc.errors import MailprocError
from mailproc.parse.reply import ReplyParts, extract, extract_from_message

_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?", re.MULTILINE)
_KNOWN_HEADERS = re.compile(
    rb"^(?:from|to|subject|date|message-id|received|return-path|mime-version|content-type|delivered-to)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
# Headers a pasted Outlook block ("From:/Sent:/To:/Subject:") never has, but a stored message does.
_TRANSPORT_HEADERS = re.compile(
    rb"^(?:message-id|received|return-path|mime-version|content-type|delivered-to|date|x-[\w-]+)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_HTML_START = re.compile(rb"^\s*(?:<!doctype|<html|<head|<body|<div|<p[ >]|<table|<meta|<\?xml)", re.IGNORECASE)


def detect_format(data: bytes, name: str = "") -> str:
    """"eml", "html" or "text", from the file extension first, then from the content."""
    suffix = Path(name).suffix.lower()
    if suffix in (".eml", ".msg", ".mbox"):
        return "eml"
    if suffix in (".html", ".htm"):
        return "html"
    head = data[:4096]
    header_end = re.search(rb"\r?\n\r?\n", head)
    block = head[: header_end.start()] if header_end else head
    if (
        block
        and _HEADER_LINE.match(block)
        and len(_KNOWN_HEADERS.findall(block)) >= 2
        and _TRANSPORT_HEADERS.search(block)
    ):
        return "eml"
    if _HTML_START.match(head) or re.search(rb"</(?:div|p|body|html|blockquote|br)\s*>|<br\s*/?>", head, re.I):
        return "html"
    return "text"


def parse_input(fmt: str, data: str | bytes, sender: str | None = None,
                subject: str | None = None) -> ReplyParts:
    """Reply parts of one input given as text, HTML or a raw message (whose own Subject
    header is used); `subject` tells a reply ("Re:") from a forward ("Fwd:")."""
    if fmt == "eml":
        raw = data if isinstance(data, bytes) else data.encode("utf-8", errors="surrogateescape")
        return extract_from_message(raw)
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if fmt == "html":
        return extract(html=text, sender=sender, subject=subject)
    if fmt == "text":
        return extract(text, sender=sender, subject=subject)
    raise click.BadParameter("format must be text, html or eml, not %r" % fmt)


def _jsonl_line(line: str) -> dict[str, Any]:
    case_id = None
    try:
        item = json.loads(line)
        if not isinstance(item, dict):
            raise ValueError("each line must be a JSON object")
        case_id = item.get("id")
        fmt = item.get("format", "text")
        data = item.get("input")
        if not isinstance(data, str):
            raise ValueError("input must be a string")
        if fmt not in ("text", "html", "eml"):
            raise ValueError("format must be text, html or eml")
        subject = item.get("subject")
        parts = parse_input(fmt, data, item.get("sender"),
                            subject if isinstance(subject, str) else None)
    except (ValueError, TypeError, MailprocError, click.BadParameter) as exc:
        return {"id": case_id, "error": str(exc)}
    return {
        "id": case_id,
        "text": parts.text,
        "text_with_signature": parts.text_with_signature,
        "signature": parts.signature,
        "quoted": parts.quoted,
        "inline": parts.inline,
        "answers": parts.answers,
    }


@click.command("parse-reply")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print text, quoted part and signature as JSON.")
@click.option("--jsonl", is_flag=True,
              help='Read JSON lines {"id", "format", "input", "sender"?, "subject"?} on stdin; '
                   'write one result per line.')
@click.option("--format", "fmt", type=click.Choice(["auto", "text", "html", "eml"]), default="auto",
              show_default=True, help="Input format of FILE.")
def parse_reply(file: str | None, as_json: bool, jsonl: bool, fmt: str) -> None:
    """Print the new text of the message in FILE, without quoted history or signature."""
    if jsonl:
        if file:
            raise click.UsageError("--jsonl reads stdin; do not pass FILE")
        for line in sys.stdin:
            if not line.strip():
                continue
            click.echo(json.dumps(_jsonl_line(line), ensure_ascii=False))
        return
    if not file:
        raise click.UsageError("give a FILE (or - for stdin), or use --jsonl")
    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        data = Path(file).read_bytes()
    kind = detect_format(data, file) if fmt == "auto" else fmt
    try:
        parts = parse_input(kind, data)
    except MailprocError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(
            {"format": kind, "text": parts.text, "quoted": parts.quoted, "signature": parts.signature,
             "text_with_signature": parts.text_with_signature, "inline": parts.inline,
             "answers": parts.answers},
            ensure_ascii=False, indent=2))
    else:
        click.echo(parts.text)
