"""How close an exported model's output must be to the eager model's to count as the same answer.

Shared by ``scripts/export.py`` (which checks every export), the benchmark and the tests.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import paddle

from .predictor import Predictor

#: Largest ``max_relative_difference`` between an exported model's output and the eager model's that counts
#: as the same answer. Fused kernels change float32 rounding by ~1e-6 of the output's scale (BatchNorm folded
#: into convolutions, other summation orders); a wrong graph is off by about the scale itself. See
#: tests/test_export.py for the measurements.
RELATIVE_TOLERANCE = 1e-4


def max_relative_difference(actual, expected) -> float:
    """``max |actual - expected| / max |expected|``: how far an exported model's output is from the eager one,
    as a fraction of the output's scale (compare with ``RELATIVE_TOLERANCE``)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise ValueError(f"outputs of different shapes: {list(actual.shape)} vs {list(expected.shape)}")
    scale = max(float(np.abs(expected).max()), float(np.finfo(np.float32).tiny))  # all-zero output: absolute
    return float(np.abs(actual - expected).max()) / scale


def compare_with_eager(model, model_file: str, input_size: Sequence[int], batch: int = 2) -> Tuple[str, float]:
    """Run the exported ``model_file`` (on the CPU) and the eager ``model`` on the same random batch of
    ``[batch, *input_size]`` images; return ``(backend, max_relative_difference)``. ``model`` is put in eval mode.
    """
    images = np.random.RandomState(0).standard_normal((batch, *input_size)).astype("float32")
    model.eval()
    with paddle.no_grad():
        expected = model(paddle.to_tensor(images)).numpy()
    predictor = Predictor(model_file, device="cpu")
    return predictor.backend, max_relative_difference(predictor(images), expected)
