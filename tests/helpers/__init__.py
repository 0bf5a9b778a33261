"""Test helpers: building models quickly and running the command line in-process.

Tests import these explicitly (``from helpers import run_cli``); ``conftest.py`` holds only fixtures.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import paddle

from paddle_resnet.cli import main


@contextlib.contextmanager
def constant_init():
    """Build layers with constant weights: much faster than random init, for tests about structure only."""
    init = paddle.nn.initializer.Constant(0.0)
    paddle.nn.initializer.set_global_initializer(init, init)
    try:
        yield
    finally:
        paddle.nn.initializer.set_global_initializer(None, None)


def assert_close_to_scale(actual, expected, fraction: float = 1e-5) -> None:
    """``actual`` equals ``expected`` up to ``fraction`` of the largest ``|expected|``: for outputs of two
    different computations of one network. Float32 rounding grows with the size of the sums, so it is relative
    to the output's scale, not to each element (a logit near 0 in an output of scale 600 may be off by 2e-4),
    and it changes with the CPU and the kernels' thread count. A real difference is a sizeable part of the scale."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert np.isfinite(expected).all(), "the expected output holds NaN or infinity: no scale to compare against"
    np.testing.assert_allclose(actual, expected, rtol=0, atol=fraction * np.abs(expected).max())


#: ``timeout`` for a test's subprocess: a guard against a hang, never a speed limit. Far above what any of them
#: takes on one loaded core (the slowest, two training processes on one core, takes about a minute there).
HANG_GUARD_SECONDS = 1800


def run_cli(capsys, *argv):
    """Run ``python -m paddle_resnet *argv`` in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def run_python(code: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh interpreter, from the repository root (this checkout's package first):
    for what happens once per process, such as imports and Paddle's one-time notes. Fails on a non-zero exit.
    ``env``: the subprocess's whole environment (default: this process's)."""
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=HANG_GUARD_SECONDS, env=env)
    assert result.returncode == 0, result.stderr
    return result
