"""The suite does not depend on the machine it runs on (see also test_benchmark_machine.py for other CPUs).

What is checked here: nothing reads or writes the user's real home (``conftest.py`` points ``HOME`` at a
temporary folder before Paddle is imported). The rest is checked by running the whole suite elsewhere: pinned
to one core (``taskset -c 0``), under another time zone and locale (docs/reliability.md lists the runs).
"""

from __future__ import annotations

import os
import pwd

import paddle
import pytest

from helpers import HANG_GUARD_SECONDS


def _within(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder + os.sep)


def test_paddles_caches_are_in_a_temporary_home_not_the_users():
    from paddle.utils import download

    home = os.environ["HOME"]
    assert os.path.basename(home).startswith("paddle_resnet_tests_home_")
    assert home != pwd.getpwuid(os.getuid()).pw_dir
    assert _within(download.WEIGHTS_HOME, home), download.WEIGHTS_HOME
    assert _within(os.path.expanduser("~/.cache/paddle"), home)


@pytest.mark.slow  # a fresh interpreter; fast sibling: test_paddles_caches_are_in_a_temporary_home_not_the_users
def test_a_subprocess_inherits_the_temporary_home(tmp_path):
    import subprocess
    import sys

    code = "from paddle.utils import download; print(download.WEIGHTS_HOME)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_GUARD_SECONDS)
    assert result.returncode == 0, result.stderr
    assert _within(result.stdout.strip(), os.environ["HOME"])
    assert paddle.__version__  # the process under test imported Paddle after conftest set HOME
