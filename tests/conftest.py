"""Shared test helpers. Tests need no network and build small or weightless models to stay fast."""

from __future__ import annotations

import contextlib

import paddle
import pytest


@contextlib.contextmanager
def constant_init():
    """Build layers with constant weights: much faster than random init, for tests about structure only."""
    init = paddle.nn.initializer.Constant(0.0)
    paddle.nn.initializer.set_global_initializer(init, init)
    try:
        yield
    finally:
        paddle.nn.initializer.set_global_initializer(None, None)


def run_cli(capsys, *argv):
    """Run ``python -m paddle_resnet *argv`` in this process: (exit code, stdout, stderr)."""
    from paddle_resnet.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _seed():
    paddle.seed(0)
