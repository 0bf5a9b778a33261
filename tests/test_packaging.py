"""Packaging promises: installing never pulls in a Paddle build, and a missing Paddle is explained."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import HANG_GUARD_SECONDS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "paddle_resnet"
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
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=HANG_GUARD_SECONDS)
    assert result.returncode != 0
    assert "pip install paddlepaddle" in result.stderr and "paddlepaddle-gpu" in result.stderr
    extra = re.search(r"pip install '(\w+)\[(\w+)\]'", result.stderr)  # the extra it names is ours
    assert extra.groups() == (project()["project"]["name"], "cpu") and "cpu" in project()["project"][
        "optional-dependencies"]


@pytest.mark.parametrize("command", [["-m", "paddle_resnet", "summary", "resnet18"], ["scripts/summary.py", "--help"]])
def test_a_command_without_paddle_says_what_to_install_in_one_line(tmp_path, command):
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['paddle'] = None  # as if not installed\n")
    result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
                            timeout=HANG_GUARD_SECONDS)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: paddle_resnet needs PaddlePaddle, which is not installed. ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr



#: What each part of the package may import (docs/design.md draws it): only parts below it.
ALLOWED_IMPORTS = {
    "models": set(),
    "analysis": {"models"},
    "weights": {"models"},
    "deploy": set(),
    "verification": {"analysis", "models", "specs"},  # specs: building our architectures by name; models.py aliases it
    "builders": {"models", "weights"},
    "specs": {"analysis", "models"},
    "catalog": {"models", "weights"},
    "training": {"builders", "deploy", "models", "weights"},
    "evaluation": {"builders", "deploy", "models", "training", "weights"},
    "benchmark": {"analysis", "builders", "deploy", "models"},
    "cli": {"analysis", "benchmark", "builders", "catalog", "deploy", "evaluation", "models", "specs", "training",
            "verification", "weights"},
}
PRIVATE = {"_checks", "_errors", "_files", "_html", "_lazy", "_process", "_progress", "_quiet", "_rundir"}


def _imported_parts(path: Path, part: str):
    """The parts of paddle_resnet that the module at ``path`` imports (relative imports resolved)."""
    import ast

    module = path.relative_to(ROOT).with_suffix("").parts  # ("paddle_resnet", "models", "table")
    package = module if path.name == "__init__.py" else module[:-1]
    package = package[:-1] if path.name == "__init__.py" else package
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[:len(package) - node.level + 1]) + (node.module.split(".") if node.module else [])
            names = [base + [alias.name] for alias in node.names] if len(base) == 1 else [base]
            found |= {target[1] for target in names if len(target) > 1}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("paddle_resnet."):
            found.add(node.module.split(".")[1])
    return {name for name in found if name != part and name not in PRIVATE and not name.startswith("__")}


@pytest.mark.parametrize("part", sorted(ALLOWED_IMPORTS))
def test_each_part_imports_only_the_parts_below_it(part):
    location = ROOT / "paddle_resnet" / part
    files = sorted(location.rglob("*.py")) if location.is_dir() else [location.with_suffix(".py")]
    for path in files:
        extra = _imported_parts(path, part) - ALLOWED_IMPORTS[part]
        assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}: see docs/design.md for the layers"


def test_the_run_layout_is_spelled_in_one_module():
    """A training run's layout (``trainer.json``, ``export/model``) and the rule "best, else last" are written in
    ``_rundir.py`` only: training writes runs, deployment reads them, and neither repeats the names."""
    spelled = [str(path.relative_to(PACKAGE.parent)) for path in sorted(PACKAGE.rglob("*.py"))
               if re.search(r"""["']trainer\.json["']|["']export["'], ["']model["']""", path.read_text())]
    assert spelled == ["paddle_resnet/_rundir.py"]


def test_the_runs_model_is_best_else_last(tmp_path):
    from paddle_resnet._rundir import TRAINER_FILE, is_training_run, run_model_checkpoint

    assert run_model_checkpoint(tmp_path) is None and not is_training_run(tmp_path)
    (tmp_path / "last").mkdir()
    (tmp_path / "last" / TRAINER_FILE).write_text("{}")
    (tmp_path / "best").mkdir()  # being written (no trainer.json yet): not the run's model
    assert run_model_checkpoint(tmp_path) == tmp_path / "last" and is_training_run(tmp_path)
    (tmp_path / "best" / TRAINER_FILE).write_text("{}")
    assert run_model_checkpoint(tmp_path) == tmp_path / "best"


#: The names ``training/loop.py`` and ``deploy/predictor.py`` defined before they were split along their seams
#: (issue 20): code written against them keeps importing them from there.
SPLIT_MODULES = {
    "paddle_resnet.training.loop": ["TrainResult", "TrainingDiverged", "build_model", "build_optimizer",
                                    "build_schedule", "evaluate", "export_best", "export_run", "load_data",
                                    "model_options", "needs_export", "replan_schedule", "restore_checkpoint",
                                    "step_milestones", "train", "train_one_epoch"],
    "paddle_resnet.deploy.predictor": ["Classification", "MODEL_SUFFIXES", "Predictor", "available_threads",
                                       "find_export", "find_images", "find_model_file", "import_onnxruntime",
                                       "_OnnxRunner", "_PaddleRunner", "_check_device", "_damaged", "_first_line",
                                       "_gpu_index", "_images_in", "_onnxruntime_has_gpu", "_paddle_has_gpu",
                                       "_prefix_of", "_program_input_shape", "_read_program", "_resolve_onednn",
                                       "_softmax"],
}


@pytest.mark.parametrize("module", sorted(SPLIT_MODULES))
def test_a_split_module_still_offers_every_name_it_defined(module):
    import importlib

    imported = importlib.import_module(module)
    missing = [name for name in SPLIT_MODULES[module] if not hasattr(imported, name)]
    assert not missing, f"{module} no longer offers {missing}: re-export them from their new modules"
