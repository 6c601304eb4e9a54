"""KB search on the starter KB: ranking, the nothing-fits threshold, German, reload, fallback."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from mailproc.kb import search as search_mod
from mailproc.kb import semantic as semantic_mod
from mailproc.kb.loader import dir_signature
from mailproc.kb.search import DEFAULT_THRESHOLD, KnowledgeBase
from mailproc.kb.text import analyze, fold_accents, stem, words

STARTER_KB = Path(__file__).resolve().parents[1] / "kb"
DEMO_MAILBOX = Path(__file__).resolve().parents[1] / "examples" / "demo-mailbox"
MODES = [False, True] if semantic_mod.semantic_available() else [False]


@pytest.fixture(scope="module", params=MODES, ids=lambda s: "hybrid" if s else "lexical")
def starter(request, tmp_path_factory):
    return KnowledgeBase(STARTER_KB, cache_dir=tmp_path_factory.mktemp("kbcache"), semantic=request.param)


@pytest.mark.parametrize(
    ("query", "article_id"),
    [
        ("process lock on my account", "account-locked"),
        ("my printer shows offline and nothing comes out", "printer-problems"),
        ("How do I get access to the sales shared mailbox?", "shared-mailbox"),
        ("Outlook keeps asking for my password", "outlook-setup"),
        ("The VPN says gateway not responding from home", "vpn-connect"),
        ("Passwort zurücksetzen", "password-reset"),
        ("Ich habe mein Passwort vergessen", "password-reset"),
        ("passwort zurucksetzen", "password-reset"),
    ],
)
def test_ranking_and_suggestion(starter, query, article_id):
    hits = starter.search(query, limit=3)
    assert hits[0].article.id == article_id
    suggestions = starter.suggest("", query, audience="customer", limit=3, threshold=DEFAULT_THRESHOLD)
    if not starter.uses_semantic and not suggestions:
        # BM25 alone is conservative on paraphrases: it may offer nothing, never something else.
        return
    assert suggestions and suggestions[0].article_id == article_id
    assert 0 < len(suggestions[0].excerpt) <= 205
    assert suggestions[0].url_or_path.endswith(".md")


@pytest.mark.parametrize(
    "query",
    ["lunch menu for friday", "invoice number 4711 question", "Meeting next week about the budget", "Can you send me the quarterly report?"],
)
def test_nothing_fits_below_threshold(starter, query):
    assert starter.suggest("", query, audience="agent", limit=3, threshold=DEFAULT_THRESHOLD) == []


# The requests in the demo mailbox that get an acknowledgement, and the article
# that fits each (None: nothing in the starter KB does). Auto-replies, the bounce
# and the newsletter are never acknowledged, so they are not listed.
DEMO_EXPECTED = {
    "01-alice-vpn.eml": "vpn-connect",
    "02-bob-printer.eml": "printer-problems",
    "03-carol-password.eml": "password-reset",
    "05-alice-followup.eml": "vpn-connect",
    "06-erin-locked.eml": "account-locked",
    "07-frank-invoice.eml": None,
    "09-grace-outlook-de.eml": "outlook-setup",
    "10-heidi-outage.eml": None,
    "11-ivan-reply.eml": None,
    "13-bob-outlook-reply.eml": "printer-problems",
    "14-judy-licence.eml": "software-licence",
}


def _demo_mail(name: str) -> tuple[str, str]:
    msg = email.message_from_bytes((DEMO_MAILBOX / name).read_bytes(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    return str(msg["subject"] or ""), body.get_content() if body is not None else ""


def test_demo_mailbox_suggestions(starter):
    assert {p.name for p in DEMO_MAILBOX.glob("*.eml")} >= DEMO_EXPECTED.keys()
    got = {}
    for name, expected in DEMO_EXPECTED.items():
        subject, text = _demo_mail(name)
        ids = [s.article_id for s in starter.suggest(subject, text, audience="customer", limit=3)]
        got[name] = ids
        if expected is None:
            assert ids == [], name
        elif starter.uses_semantic:
            assert ids[:1] == [expected], (name, ids)
        else:
            # BM25 alone may miss a paraphrase (it then offers nothing), never offers a wrong first article.
            assert ids[:1] in ([], [expected]), (name, ids)
    if not starter.uses_semantic:
        # The admins' English and German "applies when" phrases carry these without the model.
        assert got["09-grace-outlook-de.eml"][:1] == ["outlook-setup"]
        assert got["14-judy-licence.eml"][:1] == ["software-licence"]


def test_customer_never_sees_internal_articles(starter):
    agent = starter.suggest("Account locked", "process lock on my account, please unlock it", "agent", 5, 0.2)
    customer = starter.suggest("Account locked", "process lock on my account, please unlock it", "customer", 5, 0.2)
    internal = {a.id for a in starter.articles() if a.audience == "internal"}
    assert "agent-unlock-account" in {s.article_id for s in agent}
    assert not internal & {s.article_id for s in customer}
    with pytest.raises(ValueError):
        starter.suggest("", "x", "everyone", 3, 0.5)


def test_get_and_articles(starter):
    assert starter.get("wifi").title.startswith("Wi-Fi")
    assert starter.get("no-such-article") is None
    assert len(starter.articles()) == len(list(STARTER_KB.glob("*.md")))


def test_german_folding_and_stemming():
    assert fold_accents("Zurücksetzen Straße") == "zurucksetzen strasse"
    assert analyze("Kennwörter zurücksetzen") == analyze("kennworter zurucksetzen")
    assert analyze("Drucker druckt") == analyze("Druckers druckt")
    assert analyze("resetting passwords") == analyze("reset password")
    assert analyze("the and der die das") == []
    # Question words stay: FAQ titles are questions and "what is" / "how does" tell them apart.
    assert {"what", "how", "can", "not"} <= set(analyze("what is it, how does it spread, can I not go"))


def test_stems_come_from_snowballs_c_stemmers_and_equal_the_pure_python_ones():
    """Every KB query is stemmed in the ordered step: the C stemmers (PyStemmer, a
    dependency) must be the ones snowballstemmer hands out, and give the same stems."""
    import Stemmer
    import snowballstemmer
    from snowballstemmer.english_stemmer import EnglishStemmer
    from snowballstemmer.german_stemmer import GermanStemmer

    assert isinstance(snowballstemmer.stemmer("english"), Stemmer.Stemmer)
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "kb"
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*/*.jsonl")))
    text += " Kennwörter zurücksetzen Druckers Störungsmeldung Ausfälle"
    vocabulary = sorted({w for w in words(text) if len(w) > 3})
    assert len(vocabulary) > 5_000
    pure_en, pure_de = EnglishStemmer(), GermanStemmer()
    assert [stem(w) for w in vocabulary] == [pure_de.stemWord(pure_en.stemWord(w))
                                             for w in vocabulary]


def test_folding_ascii_and_non_ascii_text():
    assert fold_accents("Hello WORLD 42") == "hello world 42"
    assert fold_accents("Ça COÛTE Größe") == "ca coute grosse"


def test_incremental_reload_after_edit(tmp_path):
    kb_dir = tmp_path / "kb"
    shutil.copytree(STARTER_KB, kb_dir)
    base = KnowledgeBase(kb_dir, semantic=False)
    assert base.suggest("", "espresso machine leaking", "customer", 3, DEFAULT_THRESHOLD) == []
    before = {a.id: a for a in base.articles()}
    path = kb_dir / "wifi.md"
    path.write_text(path.read_text().replace("title: Wi-Fi in the office and for guests", "title: Espresso machine leaking water"))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    got = base.suggest("", "espresso machine leaking", "customer", 3, DEFAULT_THRESHOLD)
    assert [s.article_id for s in got] == ["wifi"]
    after = {a.id: a for a in base.articles()}
    # Unchanged files were not re-read: the very same Article objects.
    assert after["vpn-connect"] is before["vpn-connect"]
    (kb_dir / "vpn-connect.md").unlink()
    assert base.get("vpn-connect") is None
    assert base.refresh() is False  # nothing changed since the last query


def test_a_steady_block_looks_at_the_files_once(tmp_path, monkeypatch):
    """A batch of messages asks the KB several times per new case: inside steady() the files
    are looked at by the first query only, a change counts from the next block, and another
    thread (the web console) still looks at every query."""
    kb_dir = tmp_path / "kb"
    shutil.copytree(STARTER_KB, kb_dir)
    base = KnowledgeBase(kb_dir, semantic=False)
    looks = []
    monkeypatch.setattr(search_mod, "dir_signature", lambda d: looks.append(d) or dir_signature(d))
    with base.steady():
        assert base.get("vpn-connect") is not None
        (kb_dir / "vpn-connect.md").unlink()
        with base.steady():                       # nested: still the outer block's index
            assert base.get("vpn-connect") is not None
        assert base.suggest("", "vpn does not connect", "customer", 3, 0.0)[0].article_id \
            == "vpn-connect"
        elsewhere = []
        worker = threading.Thread(target=lambda: elsewhere.append(base.get("vpn-connect")))
        worker.start()
        worker.join()
        assert elsewhere == [None]
    assert len(looks) == 2                        # the block's first query, the other thread
    assert base.get("vpn-connect") is None        # after the block: looked at again
    assert len(looks) == 3


def test_lexical_fallback_when_semantic_missing(monkeypatch):
    monkeypatch.setattr(semantic_mod, "semantic_available", lambda: False)
    base = KnowledgeBase(STARTER_KB, semantic=None)
    assert base.uses_semantic is False
    hit = base.search("process lock on my account", 1)[0]
    assert hit.article.id == "account-locked" and hit.semantic is None


def test_embedding_cache_is_written_and_reused(tmp_path):
    cache = tmp_path / "cache"
    KnowledgeBase(STARTER_KB, cache_dir=cache, semantic=True).articles()
    assert (cache / "kb-embeddings.npz").exists()
    mtime = (cache / "kb-embeddings.npz").stat().st_mtime_ns
    again = KnowledgeBase(STARTER_KB, cache_dir=cache, semantic=True)
    t0 = time.perf_counter()
    again.articles()
    assert (cache / "kb-embeddings.npz").stat().st_mtime_ns == mtime  # nothing new to embed
    assert time.perf_counter() - t0 < 1.0


def test_encoder_paraphrase_closer_than_unrelated():
    enc = semantic_mod.get_encoder()
    v = enc.encode(["How do I reset my password?", "I forgot my password and cannot log in", "The printer is jammed"])
    assert abs(float((v * v).sum(1).mean()) - 1.0) < 1e-5
    assert float(v[0] @ v[1]) > 0.7 > 0.3 > float(v[0] @ v[2])
