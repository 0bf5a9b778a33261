"""Fixtures shared by every test. Tests need no network and build small or weightless models to stay fast;
helpers live in ``tests/helpers``, independent references in ``tests/references``."""

from __future__ import annotations

import paddle
import pytest
from paddle.utils import download

from helpers.http import FileServer


@pytest.fixture(autouse=True)
def _seed():
    paddle.seed(0)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A file server on 127.0.0.1 (``server.root`` is served at ``server.url``) and an empty Paddle weights
    cache, both under tmp_path."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(download, "WEIGHTS_HOME", str(tmp_path / "cache"))
    (tmp_path / "served").mkdir()
    running = FileServer(tmp_path / "served")
    yield running
    running.close()
