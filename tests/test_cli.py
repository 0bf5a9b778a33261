"""The command line: scripts/summary.py and scripts/verify.py (also `python -m paddle_resnet ...`), and what every
command shares: closed pipes, --version, usage lines, help texts, fast help, natural order."""

from __future__ import annotations

import gc
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from helpers import HANG_GUARD_SECONDS, run_cli, run_python
from helpers.tiers import representatives
from paddle_resnet.cli import COMMANDS, main

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
    assert " Layer (type) " in out and "Estimated Total Size (MB)" in out and "Share of Mult-Adds" in out


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
    (["summary", "resnet50", "--input-size", "big"], "expected H, HxW, CxHxW or NxCxHxW with positive sizes"),
    (["summary", "resnet18", "--stride-on", "1x1"], "basic blocks have no 1x1 conv"),
    (["summary", "--block", "basic", "--in", "64"], "--block needs --in and --out"),
    (["summary"], "give a model: an architecture name, MODULE:FACTORY"),
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


@pytest.mark.slow  # every architecture with its value pass; the fast sibling: test_verify_json_verbose (two)
def test_verify_all_architectures_pass(capsys):
    code, out, _ = run_cli(capsys, "verify")
    assert code == 0
    assert "36 of 36 architectures match" in out and "MISMATCH" not in out


def test_verify_json_verbose(capsys):
    code, out, _ = run_cli(capsys, "verify", "--only", "resnet50,resnet20", "--verbose", "--format", "json")
    assert gc.get_freeze_count() == 0  # what the command froze for its builds is collectable again
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
@pytest.mark.slow  # fresh interpreters; fast sibling: the in-process command tests of this file (run_cli)
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


@pytest.mark.parametrize("case", representatives(DAMAGED_ENTRIES, fast=["values null"]))  # one runs fast
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


# ------------------------------------------------------------------------------------- the command line's manners

def _closed_pipe_run(argv, cwd, close_stderr=False):
    """Start ``python -m paddle_resnet *argv`` with its standard output (and error) a pipe that nobody reads: the
    reading end is closed before the command starts, as `| head -1` does after one line. Returns the process."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    process = subprocess.Popen([sys.executable, "-m", "paddle_resnet", *argv], cwd=cwd, stdout=write_end,
                               stderr=write_end if close_stderr else subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(write_end)
    return process


class _ClosedPipe(io.StringIO):
    """Standard output or error whose reader has gone (`| head -1`): every write fails as a closed pipe does."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv, expected", [(["summary", "resnet20", "--depth", "blocks"], 0),
                                            (["summary", "resnet5"], 2)])
def test_a_closed_output_stream_in_process_keeps_the_exit_status(monkeypatch, argv, expected):
    """The in-process side of the closed-pipe sweep below: the command's output fails to be written, and the
    command still returns its own exit status."""
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    monkeypatch.setattr(sys, "stderr", _ClosedPipe())
    assert main(argv) == expected


@pytest.mark.slow  # fast sibling: test_a_closed_output_stream_in_process_keeps_the_exit_status
def test_a_closed_pipe_changes_no_commands_exit_status(tmp_path, golden_copy):
    """`paddle-resnet verify --verbose | head -1` must exit as verify does (0, or 1 for a mismatch), not with a
    BrokenPipeError: every command, each expected status, with output that nobody reads."""
    from helpers.images import make_image_folder

    data = make_image_folder(tmp_path / "data", per_class=3, size=16)
    (data.parent / "photo.png").write_bytes((data / "checks" / "000.png").read_bytes())
    drifted = json.loads(golden_copy.read_text())
    drifted["architectures"]["resnet18"]["values"]["params"]["total"] += 1
    golden_copy.write_text(json.dumps(drifted))
    tiny = ["--input-size", "16"]
    cases = {  # name: (arguments, expected exit status)
        "help": (["--help"], 0),
        "version": (["--version"], 0),
        "summary": (["summary", "resnet20", "--depth", "blocks"], 0),
        "summary usage error": (["summary", "resnet5"], 2),
        "verify": (["verify", "--only", "resnet18,resnet20", "--verbose"], 0),
        "verify mismatch": (["verify", "--golden", str(golden_copy), "--only", "resnet18", "--verbose"], 1),
        "train": (["train", str(data), "--model", "resnet20", *tiny, "--epochs", "1", "--batch-size", "4",
                   "--num-workers", "0", "--out", str(tmp_path / "run")], 0),
        "benchmark": (["benchmark", "--model", "resnet20", *tiny, "--batch", "1", "--repeats", "1",
                       "--min-time", "0"], 0),
    }
    processes = {name: _closed_pipe_run(argv, tmp_path) for name, (argv, _) in cases.items()}
    processes["verify mismatch, stderr closed too"] = _closed_pipe_run(cases["verify mismatch"][0], tmp_path,
                                                                       close_stderr=True)
    cases["verify mismatch, stderr closed too"] = cases["verify mismatch"]
    # export, then predict with what it wrote
    export = _closed_pipe_run(["export", "resnet20", *tiny, "--out", str(tmp_path / "deploy")], tmp_path)
    results = {"export": (export.wait(timeout=600), export.stderr.read())}
    predict = _closed_pipe_run(["predict", str(tmp_path / "deploy" / "resnet20"), str(data.parent / "photo.png")],
                               tmp_path)
    results["predict"] = (predict.wait(timeout=600), predict.stderr.read())
    for name, process in processes.items():
        results[name] = (process.wait(timeout=600), process.stderr.read() if process.stderr else "")
    expected = {name: status for name, (_, status) in cases.items()}
    expected.update(export=0, predict=0)
    assert {name: code for name, (code, _) in results.items()} == expected, \
        {name: err[-1500:] for name, (_, err) in results.items()}
    for name, (_, err) in results.items():
        assert "BrokenPipeError" not in err and "Traceback" not in err, (name, err[-1500:])


def test_version_and_usage_lines_name_the_program(capsys):
    import paddle_resnet

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith(f"paddle_resnet {paddle_resnet.__version__} (Paddle ") and "Python" in out
    for command in COMMANDS:
        code, out, _ = run_cli(capsys, command, "--help")
        assert code == 0 and out.startswith(f"usage: python -m paddle_resnet {command} "), out[:100]
    code, _, err = run_cli(capsys, "summary", "--depth", "nothing")
    assert code == 2 and err.startswith("usage: python -m paddle_resnet summary ")


def test_help_is_plain_text_that_works_from_an_installed_copy(capsys):
    """No reStructuredText markup, and no paths of a checkout (scripts/, tests/) in any command's help."""
    for command in COMMANDS:
        code, out, _ = run_cli(capsys, command, "--help")
        assert code == 0
        for marker in ("``", ":func:", ":class:"):
            assert marker not in out, f"{command} --help shows {marker!r}"
        assert not re.search(r"^\s*\.\. \w+::", out, re.M), f"{command} --help shows a reStructuredText directive"
        # A checkout's relative paths (an absolute default such as the golden file's own path is fine).
        assert not re.search(r"(?<![\w/.-])(scripts|tests)/", out), f"{command} --help names a checkout's path"
        assert "examples:" in out or command == "predict" and "predict runs/cats" in out
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "predict" in out and "--version" in out


#: Commands whose --help still imports Paddle (docs/design.md says why): not yet lazy, and known.
HELP_IMPORTS_PADDLE = {"verify", "diff"}


def test_help_does_not_import_paddle():
    """Printing help must not wait seconds for Paddle: every command's --help (but the known exceptions), in a
    fresh interpreter."""
    commands = [c for c in COMMANDS if c not in HELP_IMPORTS_PADDLE]
    code = ("import sys\nfrom paddle_resnet.cli import main\n"
            f"codes = [main([c, '--help']) for c in {commands!r}]\n"
            "main(['--help']); main(['--version'])\n"
            "print(codes, 'paddle' in sys.modules)")
    assert run_python(code).stdout.strip().splitlines()[-1] == f"{[0] * len(commands)} False"


def test_the_package_imports_lazily_and_keeps_its_names():
    code = ("import sys, paddle_resnet\nlazy = 'paddle' not in sys.modules\n"
            "from paddle_resnet import resnet50, create_model, Predictor, export, fingerprint, __all__\n"
            "names = [n for n in __all__ if not hasattr(paddle_resnet, n)]\n"
            "print(lazy, 'paddle' in sys.modules, names, callable(export), paddle_resnet.training.train.__name__)")
    assert run_python(code).stdout.split() == ["True", "True", "[]", "True", "train"]


def test_listings_are_in_natural_order(capsys):
    from paddle_resnet import list_models
    from paddle_resnet.models.table import natural_key

    names = list_models()
    assert names.index("resnet18") < names.index("resnet34") < names.index("resnet50") < names.index("resnet101")
    assert names == sorted(names, key=natural_key)
    assert sorted(["resnet50_vd", "resnet101", "resnet50", "resnet18_vd", "resnet18"], key=natural_key) == \
        ["resnet18", "resnet18_vd", "resnet50", "resnet50_vd", "resnet101"]
    code, out, _ = run_cli(capsys, "summary", "--help")
    listed = " ".join(out.split())
    assert ", ".join(names) in listed


def test_verify_suggests_names_and_gives_shapes_as_lists_in_json(capsys):
    code, _, err = run_cli(capsys, "verify", "--only", "resnet5,resnet18")
    assert code == 2 and "unknown architecture(s) resnet5. Did you mean " in err and "resnet50" in err.split("?")[0]
    code, out, _ = run_cli(capsys, "verify", "--only", "resnet20", "--verbose", "--format", "json")
    rows = {row["metric"]: row for row in json.loads(out)["rows"]}
    assert code == 0 and rows["stage_shapes.layer2"]["expected"] == [1, 32, 16, 16] == rows["stage_shapes.layer2"][
        "actual"]


def test_our_warnings_are_plain_lines_on_the_command_line():
    """Under ``python -m``, a warning's source line would be runpy's: a command shows ours as ``warning: ...``
    and leaves other packages' warnings, ours outside a command, and recording warnings to Python."""
    code = ("import warnings\nfrom paddle_resnet.cli import _plain_warnings\n"
            "from paddle_resnet.weights import WeightsWarning\nwarnings.simplefilter('always')\n"
            "with _plain_warnings():\n"
            "    warnings.warn('3 of 97 tensors do not fit', WeightsWarning)\n"
            "    warnings.warn(\"somebody else's\", FutureWarning)\n"
            "    with warnings.catch_warnings(record=True) as caught:\n"
            "        warnings.warn('recorded', WeightsWarning)\n"
            "warnings.warn('outside a command', WeightsWarning)\n"
            "print([str(w.message) for w in caught])")
    result = run_python(code)
    err = [line for line in result.stderr.splitlines() if "Warning" in line or line.startswith("warning: ")]
    assert err[0] == "warning: 3 of 97 tensors do not fit", result.stderr
    assert "FutureWarning: somebody else's" in err[1] and "WeightsWarning: outside a command" in err[2]
    assert len(err) == 3 and result.stdout.strip() == "['recorded']"


def test_export_shows_the_loads_other_warnings_once_beside_its_report(capsys, tmp_path):
    """export prints the weights report itself; a further warning of the load (PyTorch CIFAR weights in an
    option-A model) still reaches the user, once (shown as a plain line: test_our_warnings_are_plain_lines...)."""
    from paddle_resnet.weights import WeightsWarning
    from paddle_resnet.weights import safetensors as safetensors_io
    from references import akamaster_cifar

    state = {key[len("module."):].replace("linear.", "fc."): value
             for key, value in akamaster_cifar.random_state(3, seed=2).items()}  # PyTorch names, ours for the head
    with open(tmp_path / "cifar.safetensors", "wb") as file:
        safetensors_io.dump(state, file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, _ = run_cli(capsys, "export", "resnet20", "--weights", str(tmp_path / "cifar.safetensors"),
                               "--out", str(tmp_path / "deploy"))
    shown = [str(w.message) for w in caught if issubclass(w.category, WeightsWarning)]
    assert code == 0 and out.count("tensors match") == 1  # the report, printed once
    assert len(shown) == 1 and "pad zero channels" in shown[0] and "from_pytorch_cifar" in shown[0], shown


def test_a_scripts_usage_line_names_the_script(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["scripts/summary.py", "--help"])
    code, out, _ = run_cli(capsys, "summary", "--help")
    assert code == 0 and out.startswith("usage: python scripts/summary.py [-h]")
    code, _, err = run_cli(capsys, "summary", "--depth", "0")
    assert code == 2 and err.startswith("usage: python scripts/summary.py ")
