"""Thread rules in order, with an in-memory lookup, and the corpus threading score."""

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailproc.thread.rules import (
    RULES, ThreadInput, ThreadMatch, message_ids_from_header, thread_message,
)

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
BENCH = Path(__file__).resolve().parents[1] / "bench" / "threading_quality.py"


class FakeLookup:
    """Dict-backed ThreadLookup: pure logic under test, so no database is needed."""

    def __init__(self) -> None:
        self.signed: dict[str, int] = {}
        self.message_ids: dict[str, int] = {}
        self.refs: dict[str, int] = {}
        self.participants: dict[int, set[str]] = {}
        self.subjects: list[tuple[str, str, datetime, int]] = []  # sender, subject, at, case
        self.calls: list[tuple[str, object]] = []

    def case_for_signed_ref(self, ref: str) -> int | None:
        return self.signed.get(ref)

    def case_for_message_ids(self, ids: Sequence[str]) -> int | None:
        self.calls.append(("ids", tuple(ids)))
        for msgid in reversed(ids):
            if msgid in self.message_ids:
                return self.message_ids[msgid]
        return None

    def case_for_ref(self, ref: str) -> int | None:
        return self.refs.get(ref)

    def is_participant(self, case_id: int, address: str) -> bool:
        return address in self.participants.get(case_id, set())

    def recent_case_for_subject(self, sender: str, normalized_subject: str, since_at: datetime) -> int | None:
        self.calls.append(("subject", since_at))
        hits = [(at, case) for s, subj, at, case in self.subjects
                if s == sender and subj == normalized_subject and at >= since_at]
        return max(hits)[1] if hits else None


class SubjectFakeLookup(FakeLookup):
    def recent_cases_for_subject(self, normalized_subject: str, since_at: datetime) -> list[int]:
        hits = sorted(((at, case) for _, subj, at, case in self.subjects
                       if subj == normalized_subject and at >= since_at), reverse=True)
        return [case for _, case in hits]


class AncestorFakeLookup(FakeLookup):
    def __init__(self) -> None:
        super().__init__()
        self.referenced: dict[str, int] = {}

    def case_for_referenced_ids(self, ids: Sequence[str]) -> int | None:
        for msgid in reversed(ids):
            if msgid in self.referenced:
                return self.referenced[msgid]
        return None


def make(**overrides) -> ThreadInput:
    values = dict(message_id="<new@client>", in_reply_to=(), references=(), subject="Printer jammed",
                  from_addr="alice@example.org", signed_ref=None, date_at=NOW)
    values.update(overrides)
    return ThreadInput(**values)


def run(msg: ThreadInput, lookup: FakeLookup, **kwargs) -> ThreadMatch:
    return thread_message(msg, lookup, now=kwargs.pop("now", NOW),
                          subject_window=kwargs.pop("subject_window", WINDOW), **kwargs)


class CopyFakeLookup(FakeLookup):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str, str], int] = {}  # (message_id, sender, subject)

    def case_for_copy(self, message_id: str, sender: str, subject: str) -> int | None:
        return self.stored.get((message_id, sender, subject))


def test_rule_order_and_names_are_stable():
    assert [name for name, _ in RULES] == ["copy", "signed_address", "references", "subject_tag",
                                           "quoted_history", "subject", "nearby"]


def test_a_second_copy_of_a_stored_mail_joins_its_case_before_any_other_rule():
    lookup = CopyFakeLookup()
    lookup.stored[("<new@client>", "alice@example.org", "Printer jammed")] = 7
    lookup.refs["1042"] = 9
    match = run(make(subject="Printer jammed", from_addr="Alice@Example.org"), lookup)
    assert (match.rule, match.case_id) == ("copy", 7) and "<new@client>" in match.reason
    # Same id, another subject or sender: a client reusing ids, not a copy.
    assert run(make(subject="[#1042] Toner"), lookup).rule == "subject_tag_stranger"
    assert run(make(from_addr="bob@example.org"), lookup).rule == "new"
    assert run(make(message_id=None), lookup).rule == "new"
    assert run(make(), FakeLookup()).rule == "new"   # lookups without copies: rule skipped


def test_nothing_matches_is_a_new_case():
    match = run(make(), FakeLookup())
    assert (match.rule, match.case_id, match.linked_case_id) == ("new", None, None)
    assert match.reason


def test_signed_address_wins_over_everything():
    lookup = FakeLookup()
    lookup.signed["1042"] = 5
    lookup.message_ids["<parent@x>"] = 9
    match = run(make(signed_ref="1042", in_reply_to=("<parent@x>",)), lookup)
    assert (match.rule, match.case_id) == ("signed_address", 5)
    assert "1042" in match.reason and "5" in match.reason


def test_unknown_signed_ref_falls_through():
    lookup = FakeLookup()
    lookup.message_ids["<parent@x>"] = 9
    match = run(make(signed_ref="999", in_reply_to=("<parent@x>",)), lookup)
    assert (match.rule, match.case_id) == ("references", 9)


def test_in_reply_to_names_the_message_and_case():
    lookup = FakeLookup()
    lookup.message_ids["<abc@x>"] = 5
    match = run(make(in_reply_to=("<abc@x>",)), lookup)
    assert match == ThreadMatch("references", 5, "In-Reply-To <abc@x> is a message of case 5")


def test_in_reply_to_before_references():
    lookup = FakeLookup()
    lookup.message_ids.update({"<irt@x>": 3, "<ref@x>": 4})
    match = run(make(in_reply_to=("<irt@x>",), references=("<ref@x>",)), lookup)
    assert match.case_id == 3


def test_references_nearest_parent_first():
    lookup = FakeLookup()
    lookup.message_ids.update({"<root@x>": 1, "<mid@x>": 2})
    match = run(make(references=("<root@x>", "<mid@x>", "<unknown@x>")), lookup)
    assert (match.rule, match.case_id) == ("references", 2)
    assert "References <mid@x>" in match.reason


def test_references_ids_without_brackets_read_well():
    lookup = FakeLookup()
    lookup.message_ids["abc@x"] = 8
    assert "<abc@x>" in run(make(in_reply_to=("abc@x",)), lookup).reason


def test_own_message_id_never_threads_to_itself():
    lookup = FakeLookup()
    lookup.message_ids["<loop@x>"] = 7
    match = run(make(message_id="<loop@x>", in_reply_to=("<loop@x>",), references=("<loop@x>",)), lookup)
    assert match.rule == "new"


def test_ghost_ancestor_only_with_ancestor_lookup_and_after_stored_ids():
    msg = make(in_reply_to=("<ghost@x>",), references=("<ghost@x>", "<stored@x>"))
    plain = FakeLookup()
    plain.message_ids["<other@x>"] = 1
    assert run(make(in_reply_to=("<ghost@x>",)), plain).rule == "new"
    lookup = AncestorFakeLookup()
    lookup.referenced["<ghost@x>"] = 4
    lookup.message_ids["<stored@x>"] = 6
    assert run(msg, lookup).case_id == 6  # a stored message beats a shared ghost
    match = run(make(in_reply_to=("<ghost@x>",)), lookup)
    assert (match.rule, match.case_id) == ("references", 4)
    assert "<ghost@x>" in match.reason and "referenced" in match.reason


def test_subject_tag_from_participant():
    lookup = FakeLookup()
    lookup.refs["1042"] = 12
    lookup.participants[12] = {"alice@example.org"}
    match = run(make(subject="Re: [#1042] Printer", from_addr="Alice@Example.org"), lookup)
    assert (match.rule, match.case_id, match.linked_case_id) == ("subject_tag", 12, None)
    assert "[#1042]" in match.reason


def test_subject_tag_from_stranger_opens_linked_case():
    lookup = FakeLookup()
    lookup.refs["1042"] = 12
    lookup.participants[12] = {"alice@example.org"}
    match = run(make(subject="[#1042] I have this too", from_addr="mallory@evil.example"), lookup)
    assert (match.rule, match.case_id, match.linked_case_id) == ("subject_tag_stranger", None, 12)
    assert "mallory@evil.example" in match.reason


def test_subject_tag_prefers_a_case_the_sender_is_in():
    lookup = FakeLookup()
    lookup.refs.update({"1": 1, "2": 2})
    lookup.participants.update({1: {"bob@x"}, 2: {"alice@example.org"}})
    assert run(make(subject="[#1] [#2] merged"), lookup).case_id == 2


def test_unknown_subject_tag_falls_through():
    lookup = FakeLookup()
    lookup.subjects.append(("alice@example.org", "printer", NOW - timedelta(days=1), 3))
    match = run(make(subject="[#404] Printer"), lookup)
    assert (match.rule, match.case_id) == ("subject", 3)


def test_subject_same_sender_within_window():
    lookup = FakeLookup()
    lookup.subjects.append(("alice@example.org", "printer jammed", NOW - timedelta(days=2), 3))
    match = run(make(subject="AW: Re: Printer  JAMMED"), lookup)
    assert (match.rule, match.case_id) == ("subject", 3)
    assert "printer jammed" in match.reason


@pytest.mark.parametrize(("age", "expected"), [
    (WINDOW - timedelta(seconds=1), 3), (WINDOW, 3), (WINDOW + timedelta(seconds=1), None)])
def test_subject_window_boundary(age, expected):
    lookup = FakeLookup()
    lookup.subjects.append(("alice@example.org", "printer jammed", NOW - age, 3))
    assert run(make(), lookup).case_id == expected
    assert ("subject", NOW - WINDOW) in lookup.calls


def test_window_counts_back_from_the_message_date():
    lookup = FakeLookup()
    sent_at = NOW - timedelta(days=30)
    run(make(date_at=sent_at), lookup)
    assert ("subject", sent_at - WINDOW) in lookup.calls


@pytest.mark.parametrize("date_at", [NOW + timedelta(days=365), None])
def test_future_or_missing_date_uses_now(date_at):
    lookup = FakeLookup()
    run(make(date_at=date_at), lookup)
    assert ("subject", NOW - WINDOW) in lookup.calls


def test_subject_other_sender_does_not_match_by_default():
    lookup = FakeLookup()
    lookup.subjects.append(("bob@example.org", "printer jammed", NOW - timedelta(hours=1), 3))
    assert run(make(), lookup).rule == "new"


@pytest.mark.parametrize("subject", ["", "Hi", "Re: hello", "RE: Question", "help", "(no subject)"])
def test_generic_subjects_never_match(subject):
    lookup = FakeLookup()
    lookup.subjects.append(("alice@example.org", subject.lower().removeprefix("re: "), NOW, 3))
    assert run(make(subject=subject), lookup).rule == "new"
    assert not any(kind == "subject" for kind, _ in lookup.calls)


def test_participant_variant_accepts_other_participants_only():
    lookup = SubjectFakeLookup()
    lookup.subjects += [("bob@example.org", "printer jammed", NOW - timedelta(days=1), 3),
                        ("carol@example.org", "printer jammed", NOW - timedelta(hours=1), 4)]
    lookup.participants.update({3: {"bob@example.org", "alice@example.org"}, 4: {"carol@example.org"}})
    match = run(make(), lookup, subject_match="participant")
    assert (match.rule, match.case_id) == ("subject", 3)  # 4 is newer, but alice is not in it
    assert run(make(from_addr="dave@example.org"), lookup, subject_match="participant").rule == "new"
    assert run(make(), lookup).rule == "new"  # the design's default: same sender only


def test_subject_match_argument_is_checked():
    with pytest.raises(TypeError):
        run(make(), FakeLookup(), subject_match="participant")
    with pytest.raises(ValueError):
        run(make(), SubjectFakeLookup(), subject_match="anyone")


def test_message_ids_from_header():
    assert message_ids_from_header("<a@x> junk <b@\n y> <a@x> <>") == ("<a@x>", "<b@y>")
    assert message_ids_from_header(None) == ()


def _load_bench():
    spec = importlib.util.spec_from_file_location("threading_quality_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus():
    bench = _load_bench()
    return bench, bench.load_corpus(CORPORA / "threads")


def test_corpus_threads_with_headers_kept(corpus):
    bench, messages = corpus
    assert len(messages) == 1072
    score = bench.evaluate(messages, strip_references=False)
    assert score.precision >= 0.99 and score.recall >= 0.99, score
    assert score.rules["references"] > 700


def test_corpus_without_headers_falls_back_to_subjects(corpus):
    bench, messages = corpus
    stripped = [replace(m, thread_input=replace(m.thread_input, in_reply_to=(), references=()))
                for m in messages]
    score = bench.evaluate(stripped, strip_references=True)
    assert "references" not in score.rules and score.rules["subject"] > 300
    assert score.precision >= 0.9
