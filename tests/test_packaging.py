"""Packaging promises: installing never pulls in a Paddle build, and a missing Paddle is explained."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the checks below are about the file, not the Python


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_paddle_is_an_extra_never_a_dependency():
    """AI Studio ships paddlepaddle-gpu; a hard dependency would make pip add the CPU build next to it."""
    meta = project()["project"]
    assert not [d for d in meta["dependencies"] if re.match(r"paddlepaddle", d, re.I)]
    assert any(d.startswith("paddlepaddle") for d in meta["optional-dependencies"]["cpu"])


def test_every_subpackage_is_packaged_and_the_golden_file_ships():
    setuptools = project()["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "paddle_resnet").rglob("__init__.py")}
    assert on_disk <= set(setuptools["packages"])
    assert setuptools["package-dir"]["paddle_resnet.golden"] == "tests/golden"
    assert (ROOT / "tests" / "golden" / "architectures.json").exists()


def test_importing_without_paddle_says_what_to_install():
    code = "import sys; sys.modules['paddle'] = None; import paddle_resnet"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "pip install paddlepaddle" in result.stderr and "paddlepaddle-gpu" in result.stderr

