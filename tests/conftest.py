"""Fixtures shared by every test. Tests need no network and build small or weightless models to stay fast;
helpers live in ``tests/helpers``, independent references in ``tests/references``."""

from __future__ import annotations

import paddle
import pytest


@pytest.fixture(autouse=True)
def _seed():
    paddle.seed(0)
