"""The MiniLM encoder's backends: ONNX Runtime in float32 (kb/onnx_forward.py) computes NumPy's
vectors; its int8 graph, the default, stays close enough to rank articles as they do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mailproc.kb import onnx_forward, semantic
from mailproc.kb.index import query_text
from mailproc.kb.onnx_forward import OnnxUnavailable, int8_exact

KB_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "kb"


@pytest.fixture(scope="module")
def encoders():
    """`make venv` installs the semantic extra with ONNX Runtime: both backends must load."""
    return semantic.MiniLMEncoder(backend="onnx"), semantic.MiniLMEncoder(backend="numpy")


# The integer graph this CPU multiplies exactly: 8-bit weights with VNNI (or off x86), 7-bit
# on AVX2 alone, whose 16-bit pair sums would saturate with 8.
INT8 = "onnx-int8" if int8_exact() else "onnx-int7"


@pytest.fixture(scope="module")
def int8():
    return semantic.MiniLMEncoder(backend=INT8)


def texts() -> list[str]:
    """Questions and articles of the shared FAQ corpora: a few words to past the model's
    256 word pieces (cut), in English and German, plus mail-like noise."""
    out = []
    for name in ("covidfaq", "python-faq"):
        folder = KB_CORPUS / name
        out += [json.loads(line)["q"] for line in
                (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:12]]
        out += [(lambda a: a["title"] + "\n" + a["body"])(json.loads(line)) for line in
                (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines()[:6]]
    out += ["Drucker im 3. Stock druckt nicht, Fehler E-204 seit Montag",
            "ok", "> quoted\n> line\n\n-- \nJane Doe | +49 30 1234567 | https://example.com/x?y=1"]
    return out


def test_auto_uses_onnx_runtime_when_installed():
    assert semantic.get_encoder().backend == INT8
    with pytest.raises(ValueError, match="encoder backend 'torch'"):
        semantic.MiniLMEncoder(backend="torch")


def test_8_bit_weights_only_where_the_cpu_sums_int8_products_without_saturating(monkeypatch):
    """x86 without VNNI multiplies u8 by s8 with AVX2's saturating VPMADDUBSW: 7-bit weights there."""
    assert not int8_exact("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n")
    assert int8_exact("flags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert int8_exact("flags\t\t: avx2 avx_vnni\n") and int8_exact("flags\t\t: amx_int8\n")
    assert int8_exact("Features\t: fp asimd asimddp\n")   # no x86 flags line: not x86
    monkeypatch.setattr("mailproc.kb.semantic.int8_exact", lambda: False)
    assert semantic.MiniLMEncoder().backend == "onnx-int7"
    monkeypatch.setattr("mailproc.kb.semantic.int8_exact", lambda: True)
    assert semantic.MiniLMEncoder().backend == "onnx-int8"


def test_auto_falls_back_to_numpy_when_onnx_runtime_cannot_run(monkeypatch, caplog):
    import onnxruntime
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    def broken(*args, **kwargs):
        raise state.Fail("this CPU lacks an instruction set")
    monkeypatch.setattr(onnxruntime, "InferenceSession", broken)
    encoder = semantic.MiniLMEncoder(backend="auto")
    assert encoder.backend == "numpy" and "this CPU lacks" in caplog.text
    assert encoder.encode(["printer jams"]).shape == (1, semantic.DIM)
    for backend in ("onnx", "onnx-int8"):   # asked for by name: no quiet fallback
        with pytest.raises(OnnxUnavailable, match="cannot run the model"):
            semantic.MiniLMEncoder(backend=backend)


def test_onnx_and_numpy_compute_the_same_vectors(encoders):
    fast, numpy = encoders
    sample = texts()
    assert max(len(fast.tokenizer.encode(t).ids) for t in sample) == semantic.MAX_TOKENS  # one is cut
    a, b = fast.encode(sample), numpy.encode(sample)
    assert a.shape == b.shape == (len(sample), semantic.DIM) and a.dtype == np.float32
    assert np.abs(a - b).max() < 1e-5
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert len({row.tobytes() for row in a}) == len(sample)  # no text collapsed onto another


def test_the_int8_graph_stays_near_float32(encoders, int8):
    _, numpy = encoders
    sample = texts()
    a, b = int8.encode(sample), numpy.encode(sample)
    cosine = (a * b).sum(1)
    assert cosine.min() > 0.97 and cosine.mean() > 0.99, cosine   # the least: 'ok', one word
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # and it is int8 indeed: not float32's numbers
    assert np.abs(a - b).max() > 1e-4
    # one text at a time, the same input gives the same bits (prepared vector = inline one)
    assert np.array_equal(int8.encode(sample[:1]), int8.encode(sample[:1]))


def test_the_feed_forward_outliers_multiply_in_float32(encoders, int8, monkeypatch):
    """Without its outlier rows apart, the int8 graph strays further from float32."""
    _, numpy = encoders
    sample = texts()
    reference = numpy.encode(sample)
    monkeypatch.setattr(onnx_forward, "OUTLIER_ROWS", 0)
    monkeypatch.setattr(onnx_forward, "OUTLIER_ROWS_7BIT", 0)
    plain = semantic.MiniLMEncoder(backend=INT8)
    apart, together = ((e.encode(sample) * reference).sum(1) for e in (int8, plain))
    assert together.mean() < apart.mean() - 0.001, (together.mean(), apart.mean())  # .9938, .9963


def test_the_int8_graph_ranks_faq_articles_as_float32_does(encoders, int8):
    """The nearest article of each of 60 FAQ questions: float32's and int8's agree on all but
    a few (measured: 57 of 60 on covidfaq, 60 of 60 on python-faq)."""
    fast, _ = encoders
    for name, least in (("covidfaq", 56), ("python-faq", 58)):
        folder = KB_CORPUS / name
        rows = [json.loads(line) for line in (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
        articles = [a["title"] + "\n" + a["body"] for a in rows]
        questions = [json.loads(line)["q"] for line in
                     (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:60]]
        nearest = []
        for encoder in (fast, int8):
            passages = encoder.encode(articles)
            queries = np.stack([encoder.encode([q])[0] for q in questions])
            nearest.append((queries @ passages.T).argmax(1))
        assert (nearest[0] == nearest[1]).sum() >= least, name


def test_a_padded_batch_equals_one_text_at_a_time(encoders):
    """The attention mask reaches the fused kernel: padding changes nothing."""
    fast, _ = encoders
    sample = texts()
    batched = fast.encode(sample, batch_size=len(sample))
    single = np.stack([fast.encode([t])[0] for t in sample])
    assert np.abs(batched - single).max() < 1e-5
    # the same input twice gives the same bits: a vector from the prepare pool equals the inline one
    assert np.array_equal(fast.encode(sample[:3]), fast.encode(sample[:3]))


def pieces(encoder, text: str) -> int:
    return len(encoder.tokenizer.encode(text).ids) - 2


def test_a_long_query_is_cut_at_a_word_end_to_the_pieces_the_model_reads(encoders):
    fast, _ = encoders
    prose = " ".join(["The printer on the third floor stops after every page and shows E-204."] * 30)
    code = " ".join(["Traceback: File \"/usr/lib/python3/site-packages/mailparser/core.py\", "
                     "line 412, in parse_from_bytes: UnicodeDecodeError 0xff"] * 20)
    for text in (prose, code):
        cut = query_text(text, 128, fast)
        assert 100 < pieces(fast, cut) <= 128, cut
        assert text.startswith(cut) and text[len(cut)].isspace()  # whole words only
    # a word cut gave technical mail far more pieces than asked for; this cut does not
    assert pieces(fast, " ".join(code.split()[:int(128 / 1.3)])) > 150
    assert query_text("Printer jams", 128, fast) == "Printer jams"
    assert fast.prefix("unbelievably", 2) == "unbel"  # one word longer than the limit is cut inside
