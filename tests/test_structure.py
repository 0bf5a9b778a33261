"""Structural checks of a user's own models against golden files of their own: the Python API
(``record_structure``, ``check_structure``, ``assert_structure``) and ``verify --model MODULE:FACTORY``."""

from __future__ import annotations

import json

import paddle
import pytest
from paddle import nn
from paddle.vision import models as vision_models

from helpers import run_cli
from helpers.user_models import Detector, GroupNormNet
from paddle_resnet import assert_structure, check_structure, record_structure, resnet18, resnet50
from paddle_resnet.verification.golden import GoldenFileError, load_golden
from paddle_resnet.specs import ModelSpecError, build_model, parse_model_spec
from paddle_resnet.verification.structure import UPDATE_ENV


def lazily(build, *args, **kwargs):
    with paddle.LazyGuard():
        return build(*args, **kwargs)


def located(result):
    return {(d.where, attribute) for d in result.differences for attribute in d.attributes} | {
        (d.where, d.change) for d in result.differences if d.change != "changed"}


@pytest.mark.parametrize("build, size, change, where", [
    (lambda **k: resnet50(num_classes=2, **k), (1, 3, 224, 224), {"stride_on": "1x1"},
     {("layer2.0.conv1", "stride"), ("layer4.0.conv2", "stride")}),
    (lambda **k: resnet50(out_stages=(2, 3, 4), **k), (1, 3, 128, 128), {"shortcut": "A"},
     {("layer1.0.downsample", "added"), ("layer1.0.downsample.0", "removed")}),
    (lambda **k: Detector(**k), (1, 3, 64, 64), {"width": 16},
     {("lateral3", "channels"), ("predict", "params")}),
    (lambda **k: vision_models.mobilenet_v2(scale=0.25, **k), (1, 3, 64, 64), {"num_classes": 10},
     {("classifier.1", "features")}),
], ids=["resnet50 num_classes=2", "resnet50 backbone out_stages", "user detector head", "paddle.vision mobilenet"])
def test_record_then_check_a_model_of_ones_own(tmp_path, build, size, change, where):
    golden = tmp_path / "structure.json"
    assert record_structure(lazily(build), golden, size, name="mine") is None  # a new entry
    assert check_structure(lazily(build), golden).ok  # the only entry: no name needed
    result = check_structure(lazily(build, **change), golden, "mine")
    assert not result.ok and where <= located(result), result.report()
    assert result.report().startswith(f"mine: MISMATCH at input {list(size)}")


def test_a_layer_without_shape_rules_is_traced_by_running_it_and_still_located(tmp_path):
    golden = tmp_path / "structure.json"
    record_structure(GroupNormNet(groups=4), golden, (1, 3, 16, 16))
    assert check_structure(GroupNormNet(groups=4), golden).ok
    result = check_structure(GroupNormNet(groups=2), golden)
    assert [d.describe() for d in result.differences] == [
        "norm: config num_groups=4, num_channels=16, epsilon=1e-05 -> num_groups=2, num_channels=16, epsilon=1e-05"]
    # Built without weights, it runs all the same (on seeded parameters) and checks exactly alike.
    assert check_structure(lazily(GroupNormNet), golden).ok
    lazy = check_structure(lazily(GroupNormNet, groups=2), golden)
    assert [d.describe() for d in lazy.differences] == [d.describe() for d in result.differences]
    assert lazy.report() == result.report()


def test_record_keeps_other_entries_and_reports_changes(tmp_path):
    golden = tmp_path / "structure.json"
    record_structure(lazily(resnet18), golden, (1, 3, 64, 64), name="a")
    record_structure(lazily(resnet18, num_classes=5), golden, (1, 3, 64, 64), name="b")
    changes = record_structure(lazily(resnet18, num_classes=6), golden, name="b")  # keeps b's input size
    assert sorted(load_golden(golden)["architectures"]) == ["a", "b"]
    assert ("output_shape", [1, 5], [1, 6]) in changes
    assert any(metric == "layers: fc" and "features [512, 5]" in old for metric, old, _ in changes)
    with pytest.raises(ValueError, match="needs an input size"):
        record_structure(nn.Linear(2, 2), golden, name="c")


def test_assert_structure_fails_with_the_localised_report_and_never_writes(tmp_path, monkeypatch):
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    golden = tmp_path / "structure.json"
    with pytest.raises(AssertionError, match=f"(?s)not found.*{UPDATE_ENV}=1"):
        assert_structure(lazily(resnet18), golden)
    assert not golden.exists()
    record_structure(lazily(resnet18), golden, (1, 3, 64, 64))
    before = golden.read_bytes()
    model = lazily(resnet18)
    model.layer3[0].bn1._momentum = 0.99
    with pytest.raises(AssertionError) as failure:
        assert_structure(model, golden)
    assert "layer3.0.bn1: momentum 0.9 -> 0.99" in str(failure.value) and UPDATE_ENV in str(failure.value)
    assert golden.read_bytes() == before

    monkeypatch.setenv(UPDATE_ENV, "1")  # a deliberate update, from a test run
    with pytest.warns(UserWarning, match="layer3.0.bn1 momentum 0.9 -> momentum 0.99"):  # it says what changed
        assert assert_structure(model, golden).ok
    assert golden.read_bytes() != before
    monkeypatch.setenv(UPDATE_ENV, "0")
    assert assert_structure(model, golden).ok


def test_model_specs():
    assert parse_model_spec("resnet50").table == "resnet50"
    spec = parse_model_spec("helpers.user_models:detector:width=16:classes=2", {"classes": 4})
    assert (spec.factory, spec.options) == ("helpers.user_models:detector", {"width": 16, "classes": 4})
    assert parse_model_spec("resnet18:with_pool=false:num_classes=0").options == {"with_pool": False,
                                                                                   "num_classes": 0}
    for text, message in [("resnet5", "Did you mean resnet56, resnet50"), ("resnet50:depth=3", "unknown option"),
                          ("resnet50:num_classes=ten", "not a valid int"), ("resnet50:stride_on", "name=value")]:
        with pytest.raises(ModelSpecError, match=message):
            parse_model_spec(text)
    with pytest.raises(ModelSpecError, match="stride_on='2x2'"):
        build_model(parse_model_spec("resnet50:stride_on=2x2"))


@pytest.mark.parametrize("target, message", [
    ("helpers.no_such_module:build", "cannot import 'helpers.no_such_module'"),
    ("helpers.user_models:no_such_factory", "helpers.user_models has no 'no_such_factory'"),
    ("helpers.user_models:NOT_CALLABLE", "is a int, not a function or class that builds a model"),
    ("helpers.user_models:failing_factory", "calling helpers.user_models:failing_factory() failed: RuntimeError: "
                                            "the factory needs a config file"),
    ("helpers.user_models:not_a_model", "returned a dict, not a paddle.nn.Layer"),
])
def test_verify_model_factory_problems_exit_2(capsys, tmp_path, target, message):
    code, _, err = run_cli(capsys, "verify", "--model", target, "--golden", str(tmp_path / "g.json"))
    assert code == 2 and message in err


def test_verify_own_model_from_the_command_line(capsys, tmp_path):
    golden = str(tmp_path / "detector.json")
    factory = ["verify", "--model", "helpers.user_models:detector", "--golden", golden]
    code, _, err = run_cli(capsys, *factory, "--update")
    assert code == 2 and "needs --input-size" in err  # a new entry of a model that does not declare its size
    code, out, _ = run_cli(capsys, *factory, "--update", "--input-size", "3x64x64")
    assert code == 0 and "helpers.user_models:detector: new entry" in out
    code, out, _ = run_cli(capsys, *factory)
    assert code == 0 and "matches at input [1, 3, 64, 64]" in out

    code, out, err = run_cli(capsys, *factory, "--kwargs", '{"classes": 5}')
    assert code == 1 and "predict: channels [32, 3] -> [32, 5]" in out and "--update" in err
    code, out, _ = run_cli(capsys, *factory, "--kwargs", '{"classes": 5}', "--format", "json")
    data = json.loads(out)
    assert code == 1 and not data["ok"] and data["differences"][0]["where"] == "predict"
    assert data["differences"][0]["attributes"]["channels"] == [[32, 3], [32, 5]]

    code, out, _ = run_cli(capsys, *factory, "--kwargs", '{"classes": 5}', "--update")  # re-recorded deliberately
    assert code == 0 and "layers: predict" in out and "(1, 3, 64, 64)" not in out
    assert load_golden(golden)["architectures"]["helpers.user_models:detector"]["input_size"] == [1, 3, 64, 64]
    assert run_cli(capsys, *factory, "--kwargs", '{"classes": 5}')[0] == 0


@pytest.mark.parametrize("argv, message", [
    (["--model", "resnet18"], "--model needs --golden"),
    (["--model", "resnet18", "--golden", "g.json", "--only", "resnet18"], "--only selects architectures"),
    (["--model", "resnet18", "--golden", "g.json", "--update", "resnet18"], "give no names"),
    (["--model", "resnet18", "--golden", "g.json", "--kwargs", "{num_classes: 2}"], "is not JSON"),
    (["--name", "x"], "apply to --model only"),
    (["--update"], "--update needs the architectures"),
    (["--model", "resnet18", "--golden", "g.json", "--input-size", "3x0"], "expected H, HxW, CxHxW or NxCxHxW"),
])
def test_verify_model_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run_cli(capsys, "verify", *argv)
    assert code == 2 and message in err


def test_verify_own_model_against_a_missing_or_old_golden_file_exits_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "verify", "--model", "resnet18", "--golden", str(tmp_path / "none.json"))
    assert code == 2 and "not found; record it first" in err
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": 1, "architectures": {}}))
    code, _, err = run_cli(capsys, "verify", "--model", "resnet18", "--golden", str(old))
    assert code == 2 and "has format 1" in err
    with pytest.raises(GoldenFileError):
        check_structure(resnet18(), old)


def test_a_failing_assert_structure_shows_the_report_not_the_librarys_source(tmp_path, monkeypatch):
    """pytest hides the frames marked ``__tracebackhide__``: the failure shows the test's line and the report."""
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    golden = tmp_path / "structure.json"
    record_structure(lazily(resnet18), golden, (1, 3, 64, 64))
    model = lazily(resnet18)
    model.layer3[0].bn1._momentum = 0.99
    with pytest.raises(AssertionError) as failure:
        assert_structure(model, golden)
    shown = str(failure.getrepr(style="long"))
    assert "layer3.0.bn1: momentum 0.9 -> 0.99" in shown and "assert_structure(model, golden)" in shown
    assert "raise AssertionError" not in shown and "def assert_structure" not in shown, shown


def test_updating_through_the_environment_says_what_it_changed(tmp_path, monkeypatch):
    from paddle_resnet.verification.structure import GoldenFileUpdated

    golden = tmp_path / "structure.json"
    monkeypatch.setenv(UPDATE_ENV, "1")
    with pytest.warns(GoldenFileUpdated, match=f"{UPDATE_ENV}=1: recorded the new entry 'ResNet' in {golden}"):
        assert_structure(lazily(resnet18), golden, input_size=(1, 3, 64, 64))
    with pytest.warns(GoldenFileUpdated) as notes:
        assert_structure(lazily(resnet18, num_classes=5), golden)
    message = str([note for note in notes if note.category is GoldenFileUpdated][0].message)
    assert message.startswith(f"{UPDATE_ENV}=1: entry 'ResNet' in {golden}: ") and "output_shape [1, 1000] -> " \
        "[1, 5]" in message and "changes: " in message
    with pytest.warns(GoldenFileUpdated, match="0 changes \\(the same values\\)"):
        assert_structure(lazily(resnet18, num_classes=5), golden)


def test_verify_a_factory_against_a_golden_file_of_one_entry_without_name(capsys, tmp_path):
    golden = tmp_path / "mine.json"
    code, out, err = run_cli(capsys, "verify", "--model", "helpers.user_models:group_norm_net", "--golden",
                             str(golden), "--update", "--name", "classifier", "--input-size", "3x16x16")
    assert code == 0, err
    code, out, err = run_cli(capsys, "verify", "--model", "helpers.user_models:group_norm_net", "--golden",
                             str(golden))
    assert code == 0 and out.startswith("classifier: matches at input [1, 3, 16, 16]"), err
    record_structure(lazily(resnet18), golden, (1, 3, 32, 32), name="other")  # two entries: --name is needed
    code, out, err = run_cli(capsys, "verify", "--model", "helpers.user_models:group_norm_net", "--golden",
                             str(golden))
    assert code == 2 and "helpers.user_models:group_norm_net" in err
