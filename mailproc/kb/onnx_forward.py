"""MiniLM's six transformer layers as one ONNX Runtime graph of fused kernels (issue #18).

The graph is built in memory from the weights semantic.py loads, no file and no export
step: per layer ONNX Runtime's `Attention` (the query/key/value projection, the masked
softmax and the heads in one kernel) and `BiasGelu` (exact erf GELU), around plain MatMuls
and layer norms in plain operators (faster than its fused kernel). In float32 it computes
what the NumPy layers in semantic.py compute (within 1e-6; tests/test_kb_encoder.py holds
them equal) in less than half the time on one thread (bench/encoder.py: 1.8x on corpus
mail's queries, 2.6x on short questions): the query vector of a new case was the largest
cost of its message.

The int8 graph (`int8=True`, what the encoder runs by default) multiplies in 8-bit integers:
each weight column has its own scale, each input one scale per call. A corpus query takes a
third of the float32 graph's time (bench/encoder.py); its vector stays within cosine 0.99
of float32's on mail (0.98 for a one-word text).
What stays float32 was measured on bench/kb_quality.py's FAQ sets (986 questions; float32's
hybrid stage answers 851 right at R@1):
- one scale for a whole weight matrix, as a quick quantisation does: 4–6 points of R@1 lost;
- a scale per column: 2–5 points lost on two sets, all in the feed-forward output
  projection. Its inputs, GELU's outputs, hold one or two channels per layer 3–10 times
  larger than the rest (24.5 against a median of 1.5 in the first layer): one scale per call
  cannot hold both. The same channels have the largest weights of the projection's rows.
- so the OUTLIER_ROWS inputs whose rows hold the largest weights multiply in float32, found
  from the weights alone: 846 right with 16 rows (847 with 4, 843 with 8; 849 with the
  whole projection in float32 in the first four layers, at 1.3 times the time). Float32's
  first article is int8's first for 955 of the 986 questions, and among its first three
  for all. One question in a hundred either way is within what rounding alone moves.

On an x86 CPU without VNNI (int8_exact), ONNX Runtime multiplies u8 inputs by s8 weights
with AVX2's VPMADDUBSW, whose 16-bit sums of two products saturate: there 8-bit weights lost
3 points of R@1 on covidfaq and python-faq. The `weight_bits=7` graph keeps the weights in
[-63, 63] (ONNX Runtime's "reduce range"), so 255 * 63 * 2 fits, and keeps OUTLIER_ROWS_7BIT
rows in float32 for the precision the bit costs: 851 right, as float32 (stackfaq .970,
covidfaq .740, python-faq .831 against .970, .735, .859), R@3 the same on all three sets;
the model alone finds float32's first article first for 946 of the 986 questions and among
its first three for 985, and for 374 of 400 corpus mail queries (all 400 in three), in 0.65
of float32's time on those queries there (31.8 against 20.5 ms; FAQ questions 7.9 against
3.7 ms).

One thread per session, no thread pool: the embedded `mailproc run` forks its prepare pool
after the encoder is loaded, and each worker process is one core's worth of work anyway.
"""

from __future__ import annotations

import importlib.util
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MS = "com.microsoft"  # ONNX Runtime's contrib operators (the CPU provider has them all)
OUTLIER_ROWS = 16      # int8: rows of each feed-forward output projection kept in float32
OUTLIER_ROWS_7BIT = 32  # the same with 7-bit weights


def onnx_available() -> bool:
    """True when onnxruntime (to run) and onnx (to build the graph) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def int8_exact(cpuinfo: str | None = None) -> bool:
    """False on an x86 CPU without VNNI: there ONNX Runtime multiplies u8 by s8 with AVX2's
    VPMADDUBSW, whose 16-bit sums of two products saturate with 8-bit weights (7 fit).
    `cpuinfo`: /proc/cpuinfo's text (read when None; where there is none, True)."""
    if cpuinfo is None:
        if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
            return True
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        except OSError:
            return True
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                  if line.startswith("flags")), None)
    return flags is None or any(f in flags for f in ("avx512_vnni", "avx_vnni", "amx_int8"))


def build_graph(layers: Sequence[tuple], heads: int, dim: int, int8: bool = False,
                weight_bits: int = 8) -> bytes:
    """The serialised model: input `x` [batch, seq, dim] (embeddings after their layer norm)
    and `mask` [batch, seq] (int32, 1 = token), output `y` [batch, seq, dim]: the last hidden
    states. `layers`: semantic.MiniLMEncoder's tuples, weights already [in, out].

    `int8`: the projections multiply in 8-bit integers (weights per output column, inputs per
    call: ONNX Runtime's QAttention and DynamicQuantizeMatMul), but for the few inputs of the
    feed-forward output that carry outliers (see the module's docstring); `weight_bits` 7:
    weights in [-63, 63], for CPUs whose int8 products saturate in 16 bits."""
    from onnx import TensorProto, helper, numpy_helper

    weights: list = []
    nodes: list = []
    limit = 2 ** (weight_bits - 1) - 1
    outlier_rows = OUTLIER_ROWS if weight_bits == 8 else OUTLIER_ROWS_7BIT

    def const(name: str, array: np.ndarray, dtype=np.float32) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(op: str, inputs: list[str], domain: str = "", outputs: int = 1, **attrs):
        out = [f"t{len(nodes)}" + (f"_{k}" if k else "") for k in range(outputs)]
        nodes.append(helper.make_node(op, inputs, out, name=f"n{len(nodes)}", domain=domain, **attrs))
        return out[0] if outputs == 1 else out

    def quantized(name: str, w: np.ndarray) -> list[str]:
        """Symmetric int8 per output column: the weight, its scales and zero points."""
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / limit
        q = np.clip(np.rint(w / scale), -limit, limit)
        return [const(f"{name}.q", q, np.int8), const(f"{name}.scale", scale),
                const(f"{name}.zero", np.zeros(w.shape[1]), np.int8)]

    def matmul(a: str, name: str, w: np.ndarray) -> str:
        if int8:
            return node("DynamicQuantizeMatMul", [a, *quantized(name, w)], MS)
        return node("MatMul", [a, const(name, w)])

    def outliers_apart(a: str, name: str, w: np.ndarray) -> str:
        """a @ w, in int8 but for the OUTLIER_ROWS inputs whose rows of `w` hold its largest
        weights: those go in float32 (their inputs are the outliers, and their weights would
        widen every column's scale)."""
        if not int8:
            return matmul(a, name, w)
        rows = np.argsort(-np.abs(w).max(axis=1), kind="stable")[:outlier_rows]
        rest = np.ones(w.shape[0], dtype=np.float32)
        rest[rows] = 0.0
        low = matmul(node("Mul", [a, const(f"{name}.rest", rest)]), name, w * rest[:, None])
        high = node("MatMul", [node("Gather", [a, const(f"{name}.rows", rows, np.int64)], axis=-1),
                               const(f"{name}.high", w[rows])])
        return node("Add", [low, high])

    def add_norm(y: str, bias_name: str, bias: np.ndarray, skip: str, name: str, ln: tuple) -> str:
        """LayerNorm(y + bias + skip) in plain operators: four times faster on one thread than
        ONNX Runtime's SkipLayerNormalization kernel (0.03 against 0.14 ms for 75 tokens),
        which was a quarter of the int8 graph's time."""
        s = node("Add", [node("Add", [y, const(bias_name, bias)]), skip])
        centred = node("Sub", [s, node("ReduceMean", [s], axes=[-1])])
        var = node("ReduceMean", [node("Mul", [centred, centred])], axes=[-1])
        spread = node("Sqrt", [node("Add", [var, const(f"{name}.eps", np.float32(1e-12))])])
        return node("Add", [node("Mul", [node("Div", [centred, spread]), const(f"{name}.w", ln[0])]),
                            const(f"{name}.b", ln[1])])

    x = "x"
    for i, (qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2) in enumerate(layers):
        if int8:
            xq, x_scale, x_zero = node("DynamicQuantizeLinear", [x], outputs=3)
            w, w_scale, w_zero = quantized(f"l{i}.qkv", qkv_w)
            ctx = node("QAttention", [xq, w, const(f"l{i}.qkv.b", qkv_b), x_scale, w_scale, "mask",
                                      x_zero, w_zero], MS, num_heads=heads)
        else:
            ctx = node("Attention", [x, const(f"l{i}.qkv.w", qkv_w), const(f"l{i}.qkv.b", qkv_b),
                                     "mask"], MS, num_heads=heads)
        x = add_norm(matmul(ctx, f"l{i}.out.w", o_w), f"l{i}.out.b", o_b, x, f"l{i}.ln1", ln1)
        inter = node("BiasGelu", [matmul(x, f"l{i}.inter.w", i_w), const(f"l{i}.inter.b", i_b)], MS)
        x = add_norm(outliers_apart(inter, f"l{i}.ffn.w", f_w), f"l{i}.ffn.b", f_b, x,
                     f"l{i}.ln2", ln2)
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2 layers",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", dim]),
         helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", dim])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)])
    model.ir_version = 8  # read by every ONNX Runtime since 1.10
    return model.SerializeToString()


class OnnxUnavailable(RuntimeError):
    """ONNX Runtime is installed but cannot run the graph here (a missing library, a CPU or
    an onnx package it does not support)."""


class OnnxLayers:
    """Callable like the NumPy layers: (x, mask) -> last hidden states."""

    def __init__(self, layers: Sequence[tuple], heads: int, dim: int, int8: bool = False,
                 weight_bits: int = 8) -> None:
        try:
            import onnxruntime as ort
            from onnxruntime.capi import onnxruntime_pybind11_state as state
        except ImportError as exc:
            raise OnnxUnavailable(f"onnxruntime does not import: {exc}") from exc
        # ONNX Runtime's own errors derive from Exception, each its own class: these, no more.
        errors = (ImportError, OSError, RuntimeError, ValueError) + tuple(
            v for v in vars(state).values() if isinstance(v, type) and issubclass(v, Exception))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # warnings about the graph are ours to test, not to log
        try:
            self.session = ort.InferenceSession(build_graph(layers, heads, dim, int8, weight_bits),
                                                options, providers=["CPUExecutionProvider"])
        except errors as exc:
            raise OnnxUnavailable(f"ONNX Runtime cannot run the model: {exc}") from exc

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["y"], {"x": x.astype(np.float32, copy=False),
                                        "mask": mask.astype(np.int32)})[0]
