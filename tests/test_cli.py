"""The command line: scripts/summary.py and scripts/verify.py (also `python -m paddle_resnet ...`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "architectures.json"


@pytest.fixture
def golden_copy(tmp_path):
    path = tmp_path / "golden.json"
    shutil.copy(GOLDEN, path)
    return path


def test_summary_of_a_model_with_options(capsys):
    code, out, _ = run_cli(capsys, "summary", "resnet50", "--input-size", "224", "--num-classes", "10",
                       "--stride-on", "1x1")
    assert code == 0
    assert "Total params: 23,581,642" in out  # 25,610,152 - 2,049,000 (1000-way fc) + 20,490 (10-way fc)
    assert " Layer (type) " in out and "Estimated Total Size (MB)" in out and "Share of MACs" in out


def test_summary_of_the_source_block(capsys):
    code, out, _ = run_cli(capsys, "summary", "--block", "basic", "--in", "64", "--out", "128", "--stride", "2")
    assert code == 0 and "Total params: 230,912" in out and "Forward/backward pass size (MB): 98.00" in out


def test_summary_json_by_stage(capsys, tmp_path):
    report = tmp_path / "r.json"
    code, out, _ = run_cli(capsys, "summary", "resnet20", "--depth", "stages", "--format", "json", "--output",
                       str(report))
    data = json.loads(out)
    assert code == 0 and [r["layer"] for r in data["layers"]] == ["stem", "layer1", "layer2", "layer3", "head"]
    assert json.loads(report.read_text()) == data


@pytest.mark.parametrize("argv, message", [
    (["summary", "resnet5"], "Did you mean"),
    (["summary", "resnet50", "--input-size", "big"], "expected a positive size"),
    (["summary", "resnet18", "--stride-on", "1x1"], "basic blocks have no 1x1 conv"),
    (["summary", "--block", "basic", "--in", "64"], "--block needs --in and --out"),
    (["summary"], "give an architecture name"),
    (["summary", "resnet50", "--groups", "32"], "--groups do(es) not apply to a model"),
    (["summary", "--block", "basic", "--in", "64", "--out", "64", "--num-classes", "3"], "--num-classes do(es) not"),
    (["summary", "--block", "basic", "--in", "64", "--out", "64", "--groups", "2"], "--groups do(es) not apply"),
    (["verify", "--update", "resnet18", "--only", "resnet18"], "--update takes the architectures"),
    (["verify", "--only", ","], "--only needs at least one architecture"),
    ([], "usage: python -m paddle_resnet <command>"),
    (["frobnicate"], "unknown command"),
])
def test_summary_usage_errors_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and message in err


def test_verify_all_architectures_pass(capsys):
    code, out, _ = run_cli(capsys, "verify")
    assert code == 0
    assert "29 of 29 architectures match" in out and "MISMATCH" not in out


def test_verify_json_verbose(capsys):
    code, out, _ = run_cli(capsys, "verify", "--only", "resnet50,resnet20", "--verbose", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["failed"] == []
    metrics = {(r["architecture"], r["metric"]) for r in data["rows"]}
    assert ("resnet50", "params.total") in metrics and ("resnet20", "layer_counts.ZeroPadShortcut") in metrics


def test_verify_reports_a_drift_and_exits_1(capsys, golden_copy):
    data = json.loads(golden_copy.read_text())
    data["architectures"]["resnet18"]["values"]["params"]["total"] += 1
    data["architectures"]["resnet18"]["values"]["stage_shapes"]["layer2"] = [1, 128, 29, 29]
    golden_copy.write_text(json.dumps(data))
    code, out, err = run_cli(capsys, "verify", "--golden", str(golden_copy), "--only", "resnet18,resnet20",
                         "--format", "markdown")
    assert code == 1
    assert "| resnet18       | params.total" in out and "11699113" in out and "MISMATCH" in out
    assert "stage_shapes.layer2" in out and "[1, 128, 29, 29]" in out
    assert "1 of 2 architectures match" in out and "MISMATCH in resnet18" in out
    assert "docs/verification.md" in err


@pytest.mark.parametrize("setup, argv, message", [
    (None, ["--only", "resnet5"], "unknown architecture(s) resnet5"),
    ("missing", [], "not found"),
    ("corrupt", [], "not readable JSON"),
    ("absent", ["--only", "resnet18"], "has no entry for resnet18"),
    (None, ["--update", "resnet5"], "cannot update unknown architecture(s) resnet5"),
])
def test_verify_usage_problems_exit_2(capsys, golden_copy, setup, argv, message):
    if setup == "missing":
        golden_copy.unlink()
    elif setup == "corrupt":
        golden_copy.write_text('{"architectures": {"resnet18": ')
    elif setup == "absent":
        data = json.loads(golden_copy.read_text())
        del data["architectures"]["resnet18"]
        golden_copy.write_text(json.dumps(data))
    code, out, err = run_cli(capsys, "verify", "--golden", str(golden_copy), *argv)
    assert code == 2 and message in err


def test_verify_never_writes_unless_update_is_given(capsys, golden_copy):
    before = golden_copy.read_bytes()
    data = json.loads(before)
    data["architectures"]["resnet20"]["values"]["macs"] = 1
    golden_copy.write_text(json.dumps(data))
    changed = golden_copy.read_bytes()
    assert run_cli(capsys, "verify", "--golden", str(golden_copy), "--only", "resnet20")[0] == 1
    assert golden_copy.read_bytes() == changed  # a failing verify leaves the file alone

    code, out, _ = run_cli(capsys, "verify", "--golden", str(golden_copy), "--update", "resnet20")
    assert code == 0 and "resnet20: 1 change(s)" in out and "macs" in out and "40551040" in out
    updated = json.loads(golden_copy.read_text())
    assert updated["architectures"]["resnet20"]["values"] == json.loads(before)["architectures"]["resnet20"]["values"]
    assert "verify.py --update resnet20" in updated["architectures"]["resnet20"]["sources"]["macs"]
    assert "closed form" in updated["architectures"]["resnet20"]["sources"]["params"]  # unchanged keeps its source
    assert run_cli(capsys, "verify", "--golden", str(golden_copy), "--only", "resnet20")[0] == 0


@pytest.mark.parametrize("command, expected", [
    ([sys.executable, "scripts/verify.py", "--only", "resnet18"], "1 of 1 architectures match"),
    ([sys.executable, "-m", "paddle_resnet", "summary", "resnet18", "--depth", "stages"], "Total params: 11,699,112"),
])
def test_entry_points_run_from_the_checkout(command, expected):
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
