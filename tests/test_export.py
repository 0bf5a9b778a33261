"""export() and Predictor: every deployment path gives the eager model's answer, on any batch size.

How close is "the same answer"? The exported graph is not computed the same way as the eager one: BatchNorm is
folded into the convolution weights, convolution + add + ReLU run as one fused oneDNN kernel, and the kernels
sum their products in a different order (blocked layouts, differently tiled matrix products). Each of those
changes float32 rounding by about 1e-7 relative per operation, and through tens of layers of sums over
thousands of terms the logits of these randomly initialised models move by ~1e-6 of their scale (measured:
at most 1.8e-6 for ResNet-18/20/50 on Paddle 2.6 and 3.3, oneDNN on and off, and ONNX Runtime; see
docs/performance.md). We allow 1e-4 of the output's scale.
A wrong graph is off by far more: ``test_tolerance_separates_a_wrong_graph`` shows that the classic export bug,
BatchNorm left in training mode, moves the outputs by about their own scale (measured 0.93 to 1.02 of it,
10,000 times the tolerance; the test asks for more than 100 times).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import paddle
import pytest

from paddle_resnet import Predictor, create_model, export
from paddle_resnet.export import PROGRAM_SUFFIXES

RELATIVE_TOLERANCE = 1e-4


def _images(batch, size, seed=0):
    return np.random.RandomState(seed).standard_normal((batch, *size)).astype("float32")


def _eager(model, images):
    model.eval()
    with paddle.no_grad():
        outputs = model(paddle.to_tensor(images))
    return [o.numpy() for o in outputs] if isinstance(outputs, list) else outputs.numpy()


def assert_same_answer(actual, expected):
    scale = float(np.abs(expected).max())
    error = float(np.abs(actual - expected).max())
    assert actual.shape == expected.shape
    assert error <= RELATIVE_TOLERANCE * scale, f"max error {error:.3g} > {RELATIVE_TOLERANCE} x scale {scale:.3g}"


def _has_onnx():
    try:
        import onnxruntime  # noqa: F401
        import paddle2onnx  # noqa: F401
    except (ImportError, ValueError):  # ValueError: paddle2onnx 2.x imported on Paddle 2.x
        return False
    return True


needs_onnx = pytest.mark.skipif(not _has_onnx(), reason="paddle2onnx and onnxruntime (the `onnx` extra, in "
                                                        "requirements.txt) are not installed or do not import")


@pytest.fixture(scope="module")
def resnet18_export(tmp_path_factory):
    """One ResNet-18 at 64x64, exported once for Paddle Inference, with its eager outputs."""
    paddle.seed(1)
    model = create_model("resnet18", num_classes=10)
    prefix = str(tmp_path_factory.mktemp("export") / "resnet18")
    files = export(model, prefix, input_size=(3, 64, 64))
    return model, prefix, files


def test_paddle_export_files_and_training_mode_restored(tmp_path):
    model = create_model("resnet20")
    assert model.training
    files = export(model, str(tmp_path / "sub" / "net"), input_size=(3, 32, 32))
    assert model.training, "export must put the model back in training mode"
    names = sorted(os.path.basename(f) for f in files)
    assert "net.pdiparams" in names and any(n in names for n in ("net.json", "net.pdmodel"))
    assert files[-1].endswith(PROGRAM_SUFFIXES), "the model file is moved into place last"
    assert sorted(os.listdir(tmp_path / "sub")) == names, "no temporary directory or stray file left behind"


@pytest.mark.parametrize("onednn", [None, False], ids=["onednn", "plain-cpu"])
def test_paddle_inference_matches_eager_for_any_batch(resnet18_export, onednn):
    model, prefix, _ = resnet18_export
    predictor = Predictor(prefix, device="cpu", onednn=onednn)
    assert predictor.backend == "paddle" and predictor.device == "cpu"
    for batch in (1, 3):  # the batch dimension was exported as dynamic
        images = _images(batch, (3, 64, 64), seed=batch)
        assert_same_answer(predictor(images), _eager(model, images))


def test_option_a_shortcut_runs_under_onednn(tmp_path):
    """CIFAR ResNet-20's zero-padding shortcut: Paddle's oneDNN `pad` kernel corrupts memory on channel padding,
    so ZeroPadShortcut concatenates zeros instead; this ran into a glibc abort before that change."""
    model = create_model("resnet20")
    export(model, str(tmp_path / "resnet20"), input_size=(3, 32, 32))
    images = _images(2, (3, 32, 32))
    assert_same_answer(Predictor(str(tmp_path / "resnet20"), device="cpu", onednn=None)(images), _eager(model, images))


def test_tolerance_separates_a_wrong_graph(resnet18_export):
    """BatchNorm in training mode (batch statistics instead of running ones) is far outside the tolerance."""
    model, prefix, _ = resnet18_export
    images = _images(4, (3, 64, 64))
    exported = Predictor(prefix, device="cpu")(images)
    model.train()
    with paddle.no_grad():
        wrong = model(paddle.to_tensor(images)).numpy()
    model.eval()
    scale = np.abs(exported).max()
    assert np.abs(wrong - exported).max() > 100 * RELATIVE_TOLERANCE * scale


def test_multi_output_backbone_keeps_output_order(tmp_path):
    model = create_model("resnet18", out_stages=(2, 4))
    prefix = str(tmp_path / "backbone")
    export(model, prefix, input_size=(3, 64, 64))
    images = _images(2, (3, 64, 64))
    outputs = Predictor(prefix, device="cpu")(images)
    expected = _eager(model, images)
    assert isinstance(outputs, list) and len(outputs) == 2
    for actual, wanted in zip(outputs, expected):
        assert_same_answer(actual, wanted)


@needs_onnx
def test_onnx_export_runs_in_onnxruntime_and_matches_eager(tmp_path):
    paddle.seed(2)
    model = create_model("resnet18", num_classes=10)
    files = export(model, str(tmp_path / "resnet18"), input_size=(3, 64, 64), format="onnx")
    assert [os.path.basename(f) for f in files] == ["resnet18.onnx"]
    assert sorted(os.listdir(tmp_path)) == ["resnet18.onnx"], "the intermediate Paddle files are not left behind"
    predictor = Predictor(str(tmp_path / "resnet18"), device="cpu", threads=1)
    assert predictor.backend == "onnxruntime"
    for batch in (1, 3):
        images = _images(batch, (3, 64, 64), seed=batch)
        assert_same_answer(predictor(images), _eager(model, images))


def test_export_rejects_bad_arguments(tmp_path):
    model = create_model("resnet20")
    with pytest.raises(ValueError, match=r"unknown export format 'tflite'; accepted: 'paddle', 'onnx'"):
        export(model, str(tmp_path / "m"), format="tflite")
    with pytest.raises(ValueError, match=r"input_size must be \(channels, height, width\).*\(32, 32\)"):
        export(model, str(tmp_path / "m"), input_size=(32, 32))
    with pytest.raises(ValueError, match=r"file prefix.*directory"):
        export(model, str(tmp_path) + os.sep)
    with pytest.raises(ValueError, match=r"expected an input of shape \[batch, 3, height, width\], got \[1, 4, 32"):
        export(model, str(tmp_path / "m"), input_size=(4, 32, 32))
    assert os.listdir(tmp_path) == [], "a failed export writes nothing"


def test_onnx_without_paddle2onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "paddle2onnx", None)  # makes `import paddle2onnx` raise ImportError
    with pytest.raises(ImportError, match=r"paddle2onnx, which is not installed: pip install 'paddle_resnet\[onnx\]'"):
        export(create_model("resnet20"), str(tmp_path / "m"), input_size=(3, 32, 32), format="onnx")
    assert os.listdir(tmp_path) == []


def test_reexport_replaces_a_program_of_the_other_format(tmp_path):
    prefix = str(tmp_path / "net")
    for suffix in PROGRAM_SUFFIXES:  # an older export in whichever format this Paddle does not write
        open(prefix + suffix, "w").close()
    files = export(create_model("resnet20"), prefix, input_size=(3, 32, 32))
    programs = [prefix + s for s in PROGRAM_SUFFIXES if os.path.exists(prefix + s)]
    assert programs == [files[-1]] and os.path.getsize(files[-1]) > 0
    Predictor(prefix, device="cpu")  # the prefix is unambiguous again


def test_predictor_rejects_bad_arguments(tmp_path, resnet18_export):
    _, prefix, files = resnet18_export
    with pytest.raises(FileNotFoundError, match=r"no exported model at prefix .*missing.*looked for"):
        Predictor(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"unknown device 'tpu'; accepted: 'cpu', 'gpu', 'gpu:N'"):
        Predictor(prefix, device="tpu")
    with pytest.raises(ValueError, match=r"threads must be a positive int.*got 0"):
        Predictor(prefix, threads=0)
    with pytest.raises(ValueError, match=r"expected images of shape \[batch, channels, height, width\], got \[3, 64, 64\]"):
        Predictor(prefix, device="cpu")(_images(1, (3, 64, 64))[0])
    for name in ("a.json", "a.onnx"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(ValueError, match=r"several exported models share the prefix .*a.json, .*a.onnx"):
        Predictor(str(tmp_path / "a"))
    with pytest.raises(ValueError, match=r"onednn=False applies to Paddle Inference only"):
        Predictor(str(tmp_path / "a.onnx"), onednn=False)


def test_export_command_writes_checks_and_loads_weights(tmp_path, capsys):
    from paddle_resnet.cli import main

    trained = create_model("resnet20")
    paddle.save(trained.state_dict(), str(tmp_path / "w.pdparams"))
    assert main(["export", "resnet20", "--weights", str(tmp_path / "w.pdparams"), "--out", str(tmp_path / "out")]) == 0
    report = capsys.readouterr().out
    assert "check: paddle on a random batch of 2 vs the eager model" in report and "(ok," in report
    images = _images(2, (3, 32, 32))
    assert_same_answer(Predictor(str(tmp_path / "out" / "resnet20"), device="cpu")(images), _eager(trained, images))

    paddle.save(create_model("resnet20", num_classes=7).state_dict(), str(tmp_path / "w7.pdparams"))
    assert main(["export", "resnet20", "--weights", str(tmp_path / "w7.pdparams"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "fc.weight (weights [64, 7], model [64, 10])" in err and "pass --num-classes" in err
    assert not (tmp_path / "x").exists()


def test_benchmark_measures_every_path_and_writes_json(tmp_path, capsys):
    """A tiny run (ResNet-18 at 32x32, batch 2): every path is timed, and is checked against our eager output."""
    import json

    from paddle_resnet.cli import main

    out = tmp_path / "bench.json"
    assert main(["benchmark", "--model", "resnet18", "--input-size", "32", "--batch", "2", "--repeats", "2",
                 "--min-time", "0.01", "--skip-tools", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {row["path"]: row for row in report["rows"]}
    expected = {"ours eager", "paddle.vision eager", "ours train step (SGD)", "paddle.vision train step (SGD)",
                "Paddle Inference, oneDNN", "Paddle Inference, plain CPU kernels", "ONNX Runtime"}
    assert expected <= set(rows)
    for path in expected - {"ONNX Runtime"} | ({"ONNX Runtime"} if _has_onnx() else set()):
        assert rows[path]["runs"] >= 2 and rows[path]["images_per_s"] > 0 and rows[path]["p90_ms"] >= rows[path]["p50_ms"]
    assert rows["paddle.vision eager"]["max_rel_diff"] == 0.0, "same weights, same operators: the same output"
    for path in ("Paddle Inference, oneDNN", "Paddle Inference, plain CPU kernels"):
        assert rows[path]["max_rel_diff"] <= RELATIVE_TOLERANCE
    machine = report["machine"]
    assert machine["peak_gflops"] > 0 and machine["paddle"] == paddle.__version__ and len(report["load_before"]) == 3
    assert report["other_processes_cores"] >= 0
    assert report["ratios"]["2"]["ours / paddle.vision, eager forward"] > 0
    assert "| Paddle Inference, oneDNN" in capsys.readouterr().out
