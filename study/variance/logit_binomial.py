"""The binomial log-likelihood on the logit scale as one PyTensor Op: value and slope in one
pass over the cells.

Why an Op of its own: on the benchmark's 100,000 cells the likelihood is most of a
gradient's cost, and that cost is transcendental functions. Written as
``k * eta - n * softplus(eta)``, PyTensor differentiates the softplus into a sigmoid,
so every cell pays ``exp``, ``log1p`` and another ``exp``; and glibc's ``log1p`` is about
four times the cost of its ``log``. Here each cell pays one ``exp``, one ``log`` and one
division, and the derivative comes out of the same loop:

- ``e = exp(-|eta|)`` (in (0, 1], never overflows);
- ``softplus(eta) = max(eta, 0) + log(1 + e)``;
- ``sigmoid(eta) = (1 if eta >= 0 else e) / (1 + e)``;
- log-mass ``k * eta - n * softplus(eta)``, derivative ``k - n * sigmoid(eta)``.

``log(1 + e)`` rather than ``log1p(e)`` loses relative precision only where ``e`` is
below about 1e-8, where the term is below 1e-8 and its absolute error below 2.3e-16:
the log-density's absolute error stays at the level of double rounding, which is what
NUTS reads. The binomial coefficients are not part of it (the caller adds them as data).

Under numba (nutpie) the loop is compiled once per process and cached on disk like
PyTensor's own kernels; where PyTensor runs an Op's Python code the same arithmetic runs
in NumPy (whose vectorised ``exp`` and ``log`` may differ from libm's in the last bit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad_undefined
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op


def binomial_logit_terms(
    eta: np.ndarray, k: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell ``k * eta - n * softplus(eta)`` and its derivative in ``eta`` (NumPy).

    >>> logp, slope = binomial_logit_terms(np.array([0.0, 40.0]), np.array([1.0, 3.0]),
    ...                                    np.array([2.0, 3.0]))
    >>> [round(float(v), 6) for v in logp], [round(float(v), 6) for v in slope]
    ([-1.386294, 0.0], [0.0, 0.0])
    """
    if not eta.shape == k.shape == n.shape:
        raise ValueError(f"eta, k and n differ in shape: {eta.shape}, {k.shape}, {n.shape}")
    e = np.exp(-np.abs(eta))
    denominator = 1.0 + e
    softplus = np.maximum(eta, 0.0) + np.log(denominator)
    sigmoid = np.where(eta >= 0.0, 1.0, e) / denominator
    return k * eta - n * softplus, k - n * sigmoid


class BinomialLogitTerms(Op):
    """``(logp, slope) = BinomialLogitTerms()(eta, k, n)``: per-cell binomial log-mass
    (without the coefficients) at logit ``eta`` and its derivative in ``eta``; ``k`` and
    ``n`` are data (no gradient)."""

    __props__ = ()

    def make_node(self, *values: Any) -> Apply:
        if len(values) != 3:
            raise TypeError("BinomialLogitTerms takes eta, k and n")
        inputs = [pt.as_tensor_variable(v).astype("float64") for v in values]
        if any(v.ndim != 1 for v in inputs):
            raise TypeError("BinomialLogitTerms takes vectors (one entry per cell)")
        return Apply(self, inputs, [inputs[0].type(), inputs[0].type()])

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: Any) -> None:
        logp, slope = binomial_logit_terms(*inputs)
        output_storage[0][0] = logp
        output_storage[1][0] = slope

    def infer_shape(self, node: Apply, shapes: list[Any]) -> list[Any]:
        return [shapes[0], shapes[0]]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        _, k, n = inputs
        if not isinstance(cotangents[1].type, DisconnectedType):
            raise NotImplementedError("BinomialLogitTerms' slope output is not differentiable")
        # The slope is the node's own second output: no second pass over the cells.
        slope = pt.as_tensor_variable(outputs[1])
        return [cotangents[0] * slope, grad_undefined(self, 1, k), grad_undefined(self, 2, n)]


def binomial_logit(eta: Any, k: Any, n: Any) -> tuple[Variable, Variable]:
    """The symbolic ``(logp, slope)`` per cell (see :class:`BinomialLogitTerms`); vectors
    of one length go straight to the Op, anything else is broadcast and flattened first.

    >>> logp, slope = binomial_logit(0.0, 1.0, 2.0)
    >>> round(float(logp.eval()), 6), float(slope.eval())
    (-1.386294, 0.0)
    """
    values = [pt.as_tensor_variable(v).astype("float64") for v in (eta, k, n)]
    if all(v.ndim == 1 for v in values):
        node = _BINOMIAL_LOGIT.make_node(*values)
        return node.outputs[0], node.outputs[1]
    broadcast = pt.broadcast_arrays(*values)
    node = _BINOMIAL_LOGIT.make_node(*(v.ravel() for v in broadcast))
    shape = broadcast[0].shape
    logp, slope = (pt.as_tensor_variable(out) for out in node.outputs)
    return logp.reshape(shape), slope.reshape(shape)


_BINOMIAL_LOGIT = BinomialLogitTerms()


# Bump whenever the numba kernel below changes: the on-disk cache is keyed by it.
KERNEL_VERSION = 2


def _register_numba() -> None:
    """The numba kernel (nutpie's backend): the same arithmetic as
    :func:`binomial_logit_terms`, one loop."""
    from pytensor.link.numba.dispatch.basic import (
        numba_njit,
        register_funcify_default_op_cache_key,
    )

    @register_funcify_default_op_cache_key(BinomialLogitTerms)
    def _funcify(
        op: BinomialLogitTerms, node: Apply | None = None, **kwargs: Any
    ) -> tuple[Any, int]:
        @numba_njit
        def binomial_logit_kernel(eta, k, n):  # type: ignore[no-untyped-def]
            if k.size != eta.size or n.size != eta.size:
                raise ValueError("eta, k and n differ in length")
            logp = np.empty_like(eta)
            slope = np.empty_like(eta)
            for i in range(eta.size):
                value = eta[i]
                e = np.exp(-abs(value))
                denominator = 1.0 + e
                softplus = max(value, 0.0) + np.log(denominator)
                sigmoid = (1.0 if value >= 0.0 else e) / denominator
                logp[i] = k[i] * value - n[i] * softplus
                slope[i] = k[i] - n[i] * sigmoid
            return logp, slope

        # PyTensor caches the compiled kernel on disk under the Op's type and this number.
        return binomial_logit_kernel, KERNEL_VERSION


_register_numba()

__all__ = ["BinomialLogitTerms", "binomial_logit", "binomial_logit_terms"]
