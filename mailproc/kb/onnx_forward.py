"""MiniLM's six transformer layers as one ONNX Runtime graph of fused kernels (issue #18).

The graph is built in memory from the weights semantic.py loads, no file and no export
step: per layer ONNX Runtime's `Attention` (the query/key/value projection, the masked
softmax and the heads in one kernel) and `BiasGelu` (exact erf GELU), around plain MatMuls
and layer norms written in plain operators (faster than its fused kernel). It computes what the NumPy
layers in semantic.py compute (within 1e-6; tests/test_kb_encoder.py holds them equal), in
float32, in less than half the time on one thread (bench/encoder.py: 2.1x on corpus mail's
queries, 2.6x on short questions): the query vector of a new case was the largest cost of
its message.

The int8 graph (`int8=True`, what the encoder runs by default) multiplies in 8-bit integers:
each weight column has its own scale, each input one scale per call. A corpus query takes
half the float32 graph's time (bench/encoder.py), and its vector stays within cosine 0.99.
Where it is int8 was measured: one scale for a whole weight matrix (what a quick
quantisation does) cost 4–6 points of hybrid R@1 on bench/kb_quality.py's FAQ sets; a scale
per column, none on stackfaq and 2–5 on the others, all lost in the feed-forward output of
the first layers, whose inputs (GELU's outputs) have outliers a scale per call cannot hold.
Those four projections stay float32 (`FLOAT_FFN`); hybrid R@1 is then .968 / .735 / .845
on stackfaq / covidfaq / python-faq against float32's .970 / .735 / .859 (one question
fewer, the same, one fewer), R@3 the same, MRR@10 .983 / .837 / .903 against .983 / .837 /
.909.

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
FLOAT_FFN = 4          # int8: the first layers whose feed-forward output stays in float32


def onnx_available() -> bool:
    """True when onnxruntime (to run) and onnx (to build the graph) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def int8_exact(cpuinfo: str | None = None) -> bool:
    """False on an x86 CPU without VNNI: there ONNX Runtime multiplies u8 by s8 with AVX2's
    VPMADDUBSW, whose 16-bit sums of two products saturate, so int8 is not what was measured.
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


def build_graph(layers: Sequence[tuple], heads: int, dim: int, int8: bool = False) -> bytes:
    """The serialised model: input `x` [batch, seq, dim] (embeddings after their layer norm)
    and `mask` [batch, seq] (int32, 1 = token), output `y` [batch, seq, dim]: the last hidden
    states. `layers`: semantic.MiniLMEncoder's tuples, weights already [in, out].

    `int8`: the projections multiply in 8-bit integers (weights per output column, inputs per
    call: ONNX Runtime's QAttention and DynamicQuantizeMatMul), except the feed-forward output
    of the first FLOAT_FFN layers: its inputs, GELU's outputs, carry outliers that a single
    scale per call cannot hold (see the module's docstring)."""
    from onnx import TensorProto, helper, numpy_helper

    weights: list = []
    nodes: list = []

    def const(name: str, array: np.ndarray, dtype=np.float32) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(op: str, inputs: list[str], domain: str = "", outputs: int = 1, **attrs):
        out = [f"t{len(nodes)}" + (f"_{k}" if k else "") for k in range(outputs)]
        nodes.append(helper.make_node(op, inputs, out, name=f"n{len(nodes)}", domain=domain, **attrs))
        return out[0] if outputs == 1 else out

    def quantized(name: str, w: np.ndarray) -> list[str]:
        """Symmetric int8 per output column: the weight, its scales and zero points."""
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        q = np.clip(np.rint(w / scale), -127, 127)
        return [const(f"{name}.q", q, np.int8), const(f"{name}.scale", scale),
                const(f"{name}.zero", np.zeros(w.shape[1]), np.int8)]

    def matmul(a: str, name: str, w: np.ndarray, exact: bool = False) -> str:
        if int8 and not exact:
            return node("DynamicQuantizeMatMul", [a, *quantized(name, w)], MS)
        return node("MatMul", [a, const(name, w)])

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
        x = add_norm(matmul(inter, f"l{i}.ffn.w", f_w, exact=i < FLOAT_FFN), f"l{i}.ffn.b", f_b, x,
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

    def __init__(self, layers: Sequence[tuple], heads: int, dim: int, int8: bool = False) -> None:
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
            self.session = ort.InferenceSession(build_graph(layers, heads, dim, int8), options,
                                                providers=["CPUExecutionProvider"])
        except errors as exc:
            raise OnnxUnavailable(f"ONNX Runtime cannot run the model: {exc}") from exc

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["y"], {"x": x.astype(np.float32, copy=False),
                                        "mask": mask.astype(np.int32)})[0]
