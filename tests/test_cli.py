"""The command line: scripts/summary.py and scripts/verify.py (also `python -m paddle_resnet ...`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import HANG_GUARD_SECONDS, run_cli

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
    (["summary", "--block", "basic", "--in", "64", "--out", "64", "--stride", "0"], "stride=0: expected a positive"),
    (["summary", "--block", "bottleneck", "--in", "64", "--out", "256", "--stride", "-1"], "stride=-1: expected a "),
    (["summary", "--block", "bottleneck", "--in", "64", "--out", "256", "--groups", "0"], "groups=0: expected a "),
    (["summary", "--block", "basic", "--in", "0", "--out", "64"], "in_channels=0: expected a positive int"),
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
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD_SECONDS)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


DAMAGED_ENTRIES = {
    "input size not a shape": lambda entry: entry.update(input_size="abc"),
    "values null": lambda entry: entry.update(values=None),
    "sources missing": lambda entry: entry.pop("sources"),
    "entry not an object": None,
}


@pytest.mark.parametrize("case", list(DAMAGED_ENTRIES))
def test_a_damaged_golden_entry_exits_2_and_update_repairs_it(capsys, golden_copy, case):
    original = json.loads(golden_copy.read_text())
    data = json.loads(golden_copy.read_text())
    if DAMAGED_ENTRIES[case] is None:
        data["architectures"]["resnet18"] = "garbage"
    else:
        DAMAGED_ENTRIES[case](data["architectures"]["resnet18"])
    golden_copy.write_text(json.dumps(data))
    for argv in (["--only", "resnet18"], []):
        code, _, err = run_cli(capsys, "verify", "--golden", str(golden_copy), *argv)
        assert code == 2 and f"golden entry 'resnet18' in {golden_copy} is damaged (" in err, err
        assert "--update resnet18" in err and "Traceback" not in err
    assert run_cli(capsys, "verify", "--golden", str(golden_copy), "--only", "resnet20")[0] == 0  # others still run

    code, out, _ = run_cli(capsys, "verify", "--golden", str(golden_copy), "--update", "resnet18")
    assert code == 0 and "resnet18: replaced a damaged entry (" in out
    repaired = json.loads(golden_copy.read_text())["architectures"]["resnet18"]
    assert repaired["values"] == original["architectures"]["resnet18"]["values"]
    assert repaired["input_size"] == original["architectures"]["resnet18"]["input_size"]
    assert run_cli(capsys, "verify", "--golden", str(golden_copy), "--only", "resnet18")[0] == 0


def test_update_that_cannot_write_names_the_golden_file_not_a_temporary_one(capsys, golden_copy, monkeypatch):
    from paddle_resnet.cli import verify

    def read_only(data, path):  # what atomic_write_text raises in a read-only folder
        raise PermissionError(13, "Permission denied", str(golden_copy.parent / ".golden.json.x1y2.tmp"))

    before = golden_copy.read_bytes()
    monkeypatch.setattr(verify, "write_golden", read_only)
    code, out, err = run_cli(capsys, "verify", "--golden", str(golden_copy), "--update", "resnet20")
    assert code == 2 and f"error: cannot write {golden_copy}: Permission denied" in err
    assert ".tmp" not in err and "Traceback" not in err and golden_copy.read_bytes() == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write to read-only folders")
def test_update_in_a_read_only_folder_exits_2_before_building(capsys, golden_copy):
    golden_copy.parent.chmod(0o555)
    try:
        code, out, err = run_cli(capsys, "verify", "--golden", str(golden_copy), "--update", "resnet20")
    finally:
        golden_copy.parent.chmod(0o755)
    assert code == 2 and f"cannot write {golden_copy}: its directory" in err and "resnet20:" not in out


@pytest.mark.parametrize("command", [["verify", "--only", "resnet20", "--output"], ["summary", "resnet20", "--output"],
                                     ["benchmark", "--json"]])
@pytest.mark.parametrize("where, message", [("missing/report.txt", "missing is not an existing directory"),
                                            ("file/report.txt", "file is not an existing directory"),
                                            (".", "it is a directory")])
def test_a_report_file_that_cannot_be_written_is_refused_before_any_work(capsys, tmp_path, command, where, message):
    (tmp_path / "file").write_text("")
    target = str(tmp_path / where)
    code, out, err = run_cli(capsys, *command, target)
    assert code == 2 and f"cannot write {target}: " in err and message in err and "Traceback" not in err
    assert out == "", "refused before anything ran"
    assert sorted(os.listdir(tmp_path)) == ["file"]


@pytest.mark.parametrize("command", [["verify", "--only", "resnet20"], ["summary", "resnet20"]])
def test_a_report_file_that_fails_while_writing_names_the_file(capsys, tmp_path, monkeypatch, command):
    from paddle_resnet.cli import _output

    def disk_full(path, text):
        raise OSError(28, "No space left on device", str(tmp_path / ".report.txt.abc.tmp"))

    monkeypatch.setattr(_output, "atomic_write_text", disk_full)
    code, out, err = run_cli(capsys, *command, "--output", str(tmp_path / "report.txt"))
    assert code == 2 and f"error: cannot write {tmp_path / 'report.txt'}: No space left on device" in err
    assert ".tmp" not in err and out, "the report itself was printed"
