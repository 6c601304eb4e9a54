"""The shared corpus for benches: every real message, and N copies of it with fresh Message-IDs."""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
FOLDERS = ("threads", "malformed")
# Header lines (with folded continuations) whose <ids> are rewritten per copy.
_ID_HEADERS = re.compile(rb"^(message-id|in-reply-to|references)([ \t]*:)((?:[^\n]*)(?:\n[ \t][^\n]*)*)",
                         re.I | re.M)
_ANGLE = re.compile(rb"<([^<>\s]+)>")
_SUBJECT = re.compile(rb"^(subject[ \t]*:[ \t]*)", re.I | re.M)


def corpus_messages(root: Path = CORPORA, folders=FOLDERS) -> Iterator[tuple[str, bytes]]:
    """(name, raw bytes) of every message under threads/ and malformed/, mboxes split."""
    for folder in folders:
        base = root / folder
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.suffix in (".jsonl", ".md"):
                continue
            name = str(path.relative_to(root))
            if path.suffix == ".mbox":
                box = mailbox.mbox(str(path))
                for index, key in enumerate(box.keys()):
                    yield f"{name}#{index}", box.get_bytes(key)
            else:
                yield name, path.read_bytes()


def load_corpus(root: Path = CORPORA) -> list[bytes]:
    raws = [raw for _, raw in corpus_messages(root)]
    if not raws:
        raise SystemExit(f"no corpus under {root}: check out shared/ beside the repository")
    return raws


def fresh_copy(raw: bytes, copy: int, index: int, distinct_subjects: bool = False) -> bytes:
    """The message with every id in Message-ID/In-Reply-To/References prefixed by the copy
    number, so each repetition of the corpus threads among itself like the original did;
    a message without a Message-ID gets one, so every copy is distinct bytes. With
    `distinct_subjects`, copies after the first also tag their Subject, so the sender +
    subject rule does not join them to the first copy's cases: every copy opens its own."""
    tag = b"r%d." % copy
    head, sep, body = _split(raw)

    def rewrite(m: re.Match) -> bytes:
        return m.group(1) + m.group(2) + _ANGLE.sub(lambda a: b"<" + tag + a.group(1) + b">", m.group(3))

    new_head, count = _ID_HEADERS.subn(rewrite, head)
    if not re.search(rb"^message-id[ \t]*:[^\n]*<", new_head, re.I | re.M):
        eol = b"\r\n" if b"\r\n" in head[:2000] else b"\n"
        new_head = b"Message-ID: <bench.%d.%d@mailproc.bench>" % (copy, index) + eol + new_head
    if distinct_subjects and copy:
        new_head = _SUBJECT.sub(lambda m: m.group(1) + b"c%d " % copy, new_head, count=1)
    return new_head + sep + body


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf < lf):
        return raw[:crlf], b"\r\n\r\n", raw[crlf + 4:]
    if lf != -1:
        return raw[:lf], b"\n\n", raw[lf + 2:]
    return raw, b"", b""


def repeated(raws: list[bytes], n: int, distinct_subjects: bool = False) -> list[bytes]:
    """n messages: the corpus in order, again and again, each copy with fresh ids."""
    return [fresh_copy(raws[i % len(raws)], i // len(raws), i, distinct_subjects) for i in range(n)]
