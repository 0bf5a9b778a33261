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


@pytest.fixture(autouse=True)
def _seed():
    paddle.seed(0)
