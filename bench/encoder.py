"""The KB query vector: MiniLM's forward pass in ONNX Runtime against NumPy, on the same texts.

The texts are what the KB's semantic stage reads for a new case: the query (subject + new
text, cut to the KB's query_tokens) of every corpus message, and the shared FAQ questions.
Prints ms per text for each backend, one text at a time as the pipeline asks (NumPy with
OpenBLAS on one thread, as in a prepare-pool child or an RQ worker, and with its default
threads; ONNX Runtime in float32 and in int8, the default: 7-bit weights on x86 without
VNNI), batches of 8 (the KB's passages), float32's largest difference from NumPy and int8's
smallest cosine to it.

    .venv/bin/python bench/encoder.py [--limit 400] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from _corpus import load_corpus  # noqa: E402
from kb_quality import CORPUS, SETS  # noqa: E402
from mailproc.errors import ParseError  # noqa: E402
from mailproc.kb.index import DEFAULT_TUNING, query_text  # noqa: E402
from mailproc.kb.search import suggestion_query  # noqa: E402
from mailproc.kb.onnx_forward import int8_exact  # noqa: E402
from mailproc.kb.semantic import MiniLMEncoder  # noqa: E402
from mailproc.parse.message import parse_message  # noqa: E402


def mail_queries(limit: int, encoder: MiniLMEncoder) -> list[str]:
    out = []
    for raw in load_corpus():
        try:
            parsed = parse_message(raw)
        except ParseError:
            continue
        out.append(query_text(suggestion_query(parsed.subject, parsed.new_text or parsed.text),
                              DEFAULT_TUNING.query_tokens, encoder))
        if len(out) == limit:
            break
    return out


def faq_questions(limit: int) -> list[str]:
    out = []
    for name in SETS:
        lines = (CORPUS / name / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        out += [json.loads(line)["q"] for line in lines if line.strip()][:limit // len(SETS)]
    return out


def per_text(encoder: MiniLMEncoder, texts: list[str], batch: int) -> tuple[float, np.ndarray]:
    encoder.encode(texts[:2])  # warm
    t0 = time.perf_counter()
    if batch == 1:
        vectors = np.stack([encoder.encode([t])[0] for t in texts])
    else:
        vectors = encoder.encode(texts, batch_size=batch)
    return (time.perf_counter() - t0) / len(texts) * 1000, vectors


def one_thread_numpy(limit: int) -> dict:
    """NumPy's figures with OpenBLAS on one thread: set before NumPy loads, so in a child."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--limit", str(limit), "--numpy-only"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def numpy_only(limit: int) -> int:
    numpy = MiniLMEncoder(backend="numpy")
    out = {}
    for name, texts in sets(limit, numpy):
        single, vectors = per_text(numpy, texts, 1)
        out[name] = {"ms": single, "batch8_ms": per_text(numpy, texts, 8)[0],
                     "vectors": vectors.tolist()}
    print(json.dumps(out))
    return 0


def sets(limit: int, encoder: MiniLMEncoder) -> list[tuple[str, list[str]]]:
    """The texts, the queries cut by `encoder` (both backends share the tokenizer)."""
    return [("corpus mail queries", mail_queries(limit, encoder)),
            ("FAQ questions", faq_questions(limit))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=400, help="texts per set")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--numpy-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.numpy_only:
        return numpy_only(args.limit)
    one_thread = one_thread_numpy(args.limit)
    onnx, numpy = MiniLMEncoder(backend="onnx"), MiniLMEncoder(backend="numpy")
    int8 = MiniLMEncoder(backend="onnx-int8" if int8_exact() else "onnx-int7")
    report = {}
    for name, texts in sets(args.limit, onnx):
        tokens = [len(onnx.tokenizer.encode(t).ids) for t in texts]
        row = {"texts": len(texts), "mean_tokens": round(float(np.mean(tokens)), 1)}
        row["numpy_1_thread_ms"] = one_thread[name]["ms"]
        row["numpy_1_thread_batch8_ms"] = one_thread[name]["batch8_ms"]
        ref = np.array(one_thread[name]["vectors"], dtype=np.float32)
        row["numpy_default_threads_ms"], _ = per_text(numpy, texts, 1)
        row["onnx_ms"], fast = per_text(onnx, texts, 1)
        row["onnx_batch8_ms"], _ = per_text(onnx, texts, 8)
        row["max_abs_difference"] = float(np.abs(fast - ref).max())
        row["speedup_vs_numpy_1_thread"] = round(row["numpy_1_thread_ms"] / row["onnx_ms"], 2)
        row["onnx_int8_ms"], quantised = per_text(int8, texts, 1)
        row["onnx_int8_batch8_ms"], _ = per_text(int8, texts, 8)
        row["int8_min_cosine"] = float((quantised * ref).sum(1).min())
        row["int8_speedup_vs_onnx"] = round(row["onnx_ms"] / row["onnx_int8_ms"], 2)
        report[name] = {k: round(v, 3) if isinstance(v, float) and k.endswith("ms") else v
                        for k, v in row.items()}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for name, row in report.items():
        print(f"{name} ({row['texts']} texts, {row['mean_tokens']} word pieces on average)")
        for key, value in row.items():
            if key not in ("texts", "mean_tokens"):
                print(f"  {key:28} {value:.4g}" if key in ("max_abs_difference", "int8_min_cosine")
                      else f"  {key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
