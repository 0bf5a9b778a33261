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


def test_atomic_writes_leave_the_old_file_when_interrupted(tmp_path):
    from paddle_resnet.atomic import atomic_dir, atomic_path, atomic_write_text

    target = atomic_write_text(tmp_path / "report.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.txt"]

    folder = tmp_path / "ckpt"
    with atomic_dir(folder) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(folder) as tmp:
            (tmp / "a").write_text("2")
            raise RuntimeError("crash")
    assert (folder / "a").read_text() == "1" and sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "report.txt"]
