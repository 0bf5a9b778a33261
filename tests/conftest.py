"""Fixtures shared by every test. Tests need no network and build small or weightless models to stay fast;
helpers live in ``tests/helpers``, independent references in ``tests/references``.

The tests never read or write the user's home: Paddle creates and uses ``~/.cache/paddle`` (the weights
downloads, ``hapi/weights``, and the code ``paddle.jit`` generates) and matplotlib ``~/.cache/matplotlib``,
so a cached file there could make a test pass that fails on a clean machine. ``HOME`` (read by Paddle when
it is imported, and by every subprocess a test starts) therefore points at a temporary folder, set here
before Paddle is imported.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_HOME = tempfile.mkdtemp(prefix="paddle_resnet_tests_home_")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["HOME"] = _HOME
for _variable in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR"):
    os.environ.pop(_variable, None)

import paddle  # noqa: E402  (after HOME is set: Paddle reads it when imported)
import pytest  # noqa: E402
from paddle.utils import download  # noqa: E402

from helpers.http import FileServer  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    paddle.seed(0)


@pytest.fixture(autouse=True)
def _one_kernel_thread_after_each_test():
    """Training (and the benchmark) set the process's CPU thread count and keep it: Paddle cannot read the previous
    value back. Eager Paddle's own default is one thread; return to it after each test, so that no test's float
    rounding depends on which tests ran before it in the same process."""
    yield
    paddle.base.core.set_num_threads(1)


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


# The two tiers. `python -m pytest` runs the fast tier: every module exercised on tiny models, in under two minutes
# on two cores. End-to-end tests (the docs' examples, training runs, export round trips, sweeps over every command)
# carry `@pytest.mark.slow` and run with `--runslow`, as CI does.
def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the end-to-end tests marked slow (CI runs everything)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: an end-to-end test, run only with --runslow (each has a fast sibling)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
