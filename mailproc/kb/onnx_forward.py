"""MiniLM's six transformer layers as one ONNX Runtime graph of fused kernels (issue #18).

The graph is built in memory from the weights semantic.py loads, no file and no export
step: per layer ONNX Runtime's `Attention` (the query/key/value projection, the masked
softmax and the heads in one kernel), `SkipLayerNormalization` (residual, bias and layer
norm) and `BiasGelu` (exact erf GELU), around plain MatMuls. It computes what the NumPy
layers in semantic.py compute (within 1e-6; tests/test_kb_encoder.py holds them equal), in
float32, in less than half the time on one thread (bench/encoder.py: 2.1x on corpus mail's
queries, 2.6x on short questions): the query vector of a new case was the largest cost of
its message. Weights are not quantised: int8 lost 3–5
points of R@1 on bench/kb_quality.py's FAQ sets.

One thread per session, no thread pool: the embedded `mailproc run` forks its prepare pool
after the encoder is loaded, and each worker process is one core's worth of work anyway.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import numpy as np

MS = "com.microsoft"  # ONNX Runtime's contrib operators (the CPU provider has them all)


def onnx_available() -> bool:
    """True when onnxruntime (to run) and onnx (to build the graph) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def build_graph(layers: Sequence[tuple], heads: int, dim: int) -> bytes:
    """The serialised model: input `x` [batch, seq, dim] (embeddings after their layer norm)
    and `mask` [batch, seq] (int32, 1 = token), output `y` [batch, seq, dim]: the last hidden
    states. `layers`: semantic.MiniLMEncoder's tuples, weights already [in, out]."""
    from onnx import TensorProto, helper, numpy_helper

    weights: list = []
    nodes: list = []

    def const(name: str, array: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(op: str, inputs: list[str], domain: str = "", **attrs) -> str:
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], name=f"n{len(nodes)}", domain=domain, **attrs))
        return out

    x = "x"
    for i, (qkv_w, qkv_b, o_w, o_b, ln1, i_w, i_b, f_w, f_b, ln2) in enumerate(layers):
        ctx = node("Attention", [x, const(f"l{i}.qkv.w", qkv_w), const(f"l{i}.qkv.b", qkv_b), "mask"],
                   MS, num_heads=heads)
        x = node("SkipLayerNormalization", [node("MatMul", [ctx, const(f"l{i}.out.w", o_w)]), x,
                                            const(f"l{i}.ln1.w", ln1[0]), const(f"l{i}.ln1.b", ln1[1]),
                                            const(f"l{i}.out.b", o_b)], MS, epsilon=1e-12)
        inter = node("BiasGelu", [node("MatMul", [x, const(f"l{i}.inter.w", i_w)]),
                                  const(f"l{i}.inter.b", i_b)], MS)
        x = node("SkipLayerNormalization", [node("MatMul", [inter, const(f"l{i}.ffn.w", f_w)]), x,
                                            const(f"l{i}.ln2.w", ln2[0]), const(f"l{i}.ln2.b", ln2[1]),
                                            const(f"l{i}.ffn.b", f_b)], MS, epsilon=1e-12)
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

    def __init__(self, layers: Sequence[tuple], heads: int, dim: int) -> None:
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
            self.session = ort.InferenceSession(build_graph(layers, heads, dim), options,
                                                providers=["CPUExecutionProvider"])
        except errors as exc:
            raise OnnxUnavailable(f"ONNX Runtime cannot run the model: {exc}") from exc

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["y"], {"x": x.astype(np.float32, copy=False),
                                        "mask": mask.astype(np.int32)})[0]
