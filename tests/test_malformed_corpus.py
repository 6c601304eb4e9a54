"""Every real message in the corpus parses or fails with a ParseError reason; corpus-wide kinds."""

from __future__ import annotations

import mailbox
from pathlib import Path

from mailproc.classify.rules import classify
from mailproc.errors import ParseError
from mailproc.parse.message import parse_message

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
MALFORMED = CORPORA / "malformed"
THREADS = CORPORA / "threads"
CONTEXT = dict(
    own_addresses=frozenset({"support@mailproc.example"}),
    own_message_id_domain="mailproc.example",
    agent_addresses=frozenset(),
    loop_token="mailproc-test",
)
# Files that are not mail at all; anything else raising ParseError is a regression.
EXPECTED_PARSE_ERRORS = {
    "cpython-test_email/msg_19.txt",  # a digest body without any header
    "mail-parser/mail_outlook_1",  # an Outlook .msg (OLE binary), not RFC 5322
}

# The corpora live in ../shared beside the repo (CI checks it out there); a missing
# corpus is a failure, not a skip.


def messages(root: Path):
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix in (".jsonl", ".md"):
            continue
        name = str(path.relative_to(root))
        if path.suffix == ".mbox":
            box = mailbox.mbox(str(path))
            for index, key in enumerate(box.keys()):
                yield f"{name}#{index}", box.get_bytes(key)
        else:
            yield name, path.read_bytes()


def test_every_malformed_message_parses_or_says_why():
    unexpected, parse_errors = [], {}
    count = 0
    for name, raw in messages(MALFORMED):
        count += 1
        try:
            msg = parse_message(raw)
        except ParseError as exc:
            assert str(exc), name
            parse_errors[name] = str(exc)
        except Exception as exc:  # the point of the test: list every escape
            unexpected.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            assert msg.message_id and isinstance(msg.text, str), name
    assert count > 970
    assert not unexpected, "non-ParseError exceptions:\n" + "\n".join(unexpected)
    assert set(parse_errors) == EXPECTED_PARSE_ERRORS, parse_errors


def test_rfc3834_samples_are_auto_replies():
    files = sorted((MALFORMED / "sisimai-bounces").glob("rfc3834-*.eml"))
    assert len(files) == 6
    kinds = {f.name: classify(parse_message(f.read_bytes()), **CONTEXT).kind for f in files}
    assert set(kinds.values()) == {"auto_reply"}, kinds


def test_bounce_files_are_bounces():
    files = sorted((MALFORMED / "bounces").glob("*.txt"))
    # groupwise_03 (a human reply flufl expects no address from) and qmail_08
    # (an auto-reply) are in the set as negative detector cases.
    negatives = {"groupwise_03.txt", "qmail_08.txt"}
    wrong = {}
    for path in files:
        kind = classify(parse_message(path.read_bytes()), **CONTEXT).kind
        if (kind == "bounce") == (path.name in negatives):
            wrong[path.name] = kind
    assert not wrong, wrong
    dsn = sorted((MALFORMED / "bounces").glob("dsn_*.txt"))
    assert len(dsn) == 18


def test_list_mail_is_list():
    kinds: dict[str, int] = {}
    for name, raw in messages(THREADS / "ponymail"):
        kind = classify(parse_message(raw), **CONTEXT).kind
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == {"list": 797}
    for name, raw in messages(MALFORMED / "ponymail"):
        if "no_date" in name:
            assert classify(parse_message(raw), **CONTEXT).kind == "list", name


def test_human_list_threads_are_never_bounces():
    for name, raw in messages(THREADS):
        kind = classify(parse_message(raw), **CONTEXT).kind
        assert kind != "bounce", name
