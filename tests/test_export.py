"""export() and Predictor: every deployment path gives the eager model's answer, on any batch size.

How close is "the same answer"? The exported graph is not computed the same way as the eager one: BatchNorm is
folded into the convolution weights, convolution + add + ReLU run as one fused oneDNN kernel, and the kernels
sum their products in a different order (blocked layouts, differently tiled matrix products). Each of those
changes float32 rounding by about 1e-7 relative per operation, and through tens of layers of sums over
thousands of terms the logits of these randomly initialised models move by ~1e-6 of their scale (the
ResNet-50 benchmark run in docs/performance.md: at most 2.1e-6, Paddle Inference with and without oneDNN and
ONNX Runtime; the ResNet-18 of ``resnet18_export`` below: 1.3e-6 on Paddle 2.6 and 3.3).
``paddle_resnet.export.RELATIVE_TOLERANCE`` allows 1e-4 of the output's scale, and ``scripts/export.py`` uses
the same constant and the same ``max_relative_difference``.
A wrong graph is off by far more: ``test_tolerance_separates_a_wrong_graph`` shows that the classic export bug,
BatchNorm left in training mode, moves the outputs by about their own scale (1.003 of it for that ResNet-18,
10,000 times the tolerance; the test asks for more than 100 times).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sys
import types

import numpy as np
import paddle
import pytest

from helpers import run_cli
from paddle_resnet import Predictor, create_model, export
from paddle_resnet.deploy import export as export_module
from paddle_resnet.deploy import predictor as inference_module
from paddle_resnet.deploy.compare import RELATIVE_TOLERANCE, max_relative_difference
#: The program file this Paddle's jit.save writes: PIR JSON from 3.0 on, the old ProgramDesc before.
PROGRAM_SUFFIX = ".json" if int(paddle.__version__.split(".")[0]) >= 3 else ".pdmodel"


def _images(batch, size, seed=0):
    return np.random.RandomState(seed).standard_normal((batch, *size)).astype("float32")


def _eager(model, images):
    model.eval()
    with paddle.no_grad():
        outputs = model(paddle.to_tensor(images))
    return [o.numpy() for o in outputs] if isinstance(outputs, list) else outputs.numpy()


def assert_same_answer(actual, expected):
    error = max_relative_difference(actual, expected)  # raises on a shape mismatch
    assert error <= RELATIVE_TOLERANCE, f"max difference {error:.3g} of the output's scale > {RELATIVE_TOLERANCE}"


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


def test_paddle_export_writes_this_paddles_files_and_leaves_the_model_as_it_was(tmp_path, monkeypatch):
    synced, fsync_file = [], export_module.fsync_file
    monkeypatch.setattr(export_module, "fsync_file", lambda path: synced.append(os.path.basename(path)) or
                        fsync_file(path))
    model = create_model("resnet20")
    assert model.training
    files = export(model, str(tmp_path / "sub" / "net"), input_size=(None, 3, 32, 32))
    assert model.training, "the caller's model keeps its mode: a copy is exported"
    names = [os.path.basename(f) for f in files]
    expected = ["net_meta.json", "net.pdiparams", "net.json"] if PROGRAM_SUFFIX == ".json" else \
        ["net_meta.json", "net.pdiparams", "net.pdiparams.info", "net.pdmodel"]
    assert names == expected, "this Paddle's program format, the model file moved into place last"
    assert sorted(os.listdir(tmp_path / "sub")) == sorted(names), "no temporary directory or stray file left"
    assert sorted(synced) == sorted(name.replace("net", "model", 1) for name in names), "each file flushed"


@pytest.mark.parametrize("onednn", [None, False], ids=["onednn", "plain-cpu"])
def test_paddle_inference_matches_eager_for_any_batch(resnet18_export, onednn):
    model, prefix, _ = resnet18_export
    predictor = Predictor(prefix, device="cpu", onednn=onednn)
    assert predictor.backend == "paddle" and predictor.device == "cpu"
    assert predictor.input_shape == [None, 3, 64, 64]
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


@pytest.mark.parametrize("name, options", [
    ("plain20", {}),
    pytest.param("resnet20", {"shortcut": "C"}, marks=pytest.mark.slow),  # the same export path as plain20's
])
def test_plain_nets_and_option_c_export_and_predict_like_eager(tmp_path, name, options):
    """The paper's plain nets (no additions) and option C (a projection on every block) through Paddle
    Inference."""
    model = create_model(name, **options)
    export(model, str(tmp_path / name), input_size=(3, 32, 32))
    images = _images(2, (3, 32, 32))
    assert_same_answer(Predictor(str(tmp_path / name), device="cpu")(images), _eager(model, images))


def test_tolerance_separates_a_wrong_graph(resnet18_export):
    """BatchNorm in training mode (batch statistics instead of running ones) is far outside the tolerance."""
    model, prefix, _ = resnet18_export
    images = _images(4, (3, 64, 64))
    exported = Predictor(prefix, device="cpu")(images)
    model = copy.deepcopy(model)  # a training-mode forward updates BatchNorm's running statistics
    model.train()
    with paddle.no_grad():
        wrong = model(paddle.to_tensor(images)).numpy()
    assert max_relative_difference(wrong, exported) > 100 * RELATIVE_TOLERANCE


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
@pytest.mark.slow  # fast sibling: test_export_command_onnx_with_input_size_and_num_classes (export, run, compare)
def test_onnx_export_runs_in_onnxruntime_and_matches_eager(tmp_path):
    paddle.seed(2)
    model = create_model("resnet18", num_classes=10)
    files = export(model, str(tmp_path / "resnet18"), input_size=(3, 64, 64), format="onnx")
    assert [os.path.basename(f) for f in files] == ["resnet18_meta.json", "resnet18.onnx"]
    assert sorted(os.listdir(tmp_path)) == ["resnet18.onnx", "resnet18_meta.json"], \
        "the intermediate Paddle files are not left behind"
    predictor = Predictor(str(tmp_path / "resnet18"), device="cpu", threads=1)
    assert predictor.backend == "onnxruntime" and predictor.input_shape == [None, 3, 64, 64]
    for batch in (1, 3):
        images = _images(batch, (3, 64, 64), seed=batch)
        assert_same_answer(predictor(images), _eager(model, images))
    with pytest.raises(ValueError, match=r"exported for images of shape \[batch, 3, 64, 64\], got \[1, 3, 32, 32\]"):
        predictor(_images(1, (3, 32, 32)))


@pytest.mark.parametrize("arguments, error, message", [
    ({"format": "tflite"}, ValueError, r"format='tflite': expected one of 'paddle', 'onnx'"),
    ({"input_size": (32, 32)}, ValueError, r"input_size=\(32, 32\): expected \(batch, channels, height, width\)"),
    ({"input_size": (8, 3, 32, 32)}, ValueError, r"input_size=\(8, 3, 32, 32\): the exported batch dimension is "
                                                 r"always dynamic"),
    ({"input_size": (4, 32, 32)}, ValueError, r"expected an input of shape \[batch, 3, height, width\], got \[1, 4, "
                                              r"32"),
])
def test_export_rejects_bad_arguments_and_writes_nothing(tmp_path, arguments, error, message):
    with pytest.raises(error, match=message):
        export(create_model("resnet20"), str(tmp_path / "m"), **arguments)
    assert os.listdir(tmp_path) == []


def test_export_rejects_a_directory_or_a_file_as_its_folder(tmp_path):
    model = create_model("resnet20")
    with pytest.raises(ValueError, match=r"file prefix.*directory"):
        export(model, str(tmp_path) + os.sep)
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match=r"'.*file' is a file, not a directory"):
        export(model, str(tmp_path / "file" / "m"), input_size=(3, 32, 32))
    assert os.listdir(tmp_path) == ["file"], "a failed export writes nothing"


def test_onnx_export_needs_paddle2onnx_1x(tmp_path, monkeypatch):
    model = create_model("resnet20")
    monkeypatch.setitem(sys.modules, "paddle2onnx", None)  # makes `import paddle2onnx` raise ImportError
    with pytest.raises(ImportError, match=r"paddle2onnx, which is not installed: pip install 'paddle_resnet\[onnx\]'"):
        export(model, str(tmp_path / "m"), input_size=(3, 32, 32), format="onnx")
    monkeypatch.setitem(sys.modules, "paddle2onnx", types.SimpleNamespace(__version__="2.0.1"))
    with pytest.raises(ImportError, match=r"needs paddle2onnx 1\.x .*'paddle2onnx>=1\.2,<2'; installed: paddle2onnx "
                                          r"2\.0\.1"):
        export(model, str(tmp_path / "m"), input_size=(3, 32, 32), format="onnx")
    assert os.listdir(tmp_path) == []


def test_reexport_replaces_its_own_format_and_keeps_the_other(tmp_path, monkeypatch):
    """A format exported again replaces every file of that format (Paddle 2.6's .pdmodel and .info included);
    the other format's files stay beside it: an export never deletes another format."""
    prefix = str(tmp_path / "net")
    stale = [".json", ".pdmodel", ".pdiparams.info", ".onnx"]  # every format, Paddle 2.6's .info included
    for suffix in stale:
        open(prefix + suffix, "w").close()
    files = export(create_model("resnet20"), prefix, input_size=(3, 32, 32))
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(f) for f in files] + ["net.onnx"])
    assert all(os.path.getsize(f) > 0 for f in files)
    with pytest.raises(ValueError, match=r"several exported models share the prefix .*pass format='paddle' or"):
        Predictor(prefix, device="cpu")
    assert Predictor(prefix, device="cpu", format="paddle").backend == "paddle"

    # And the ONNX format of the same model beside it (the conversion itself faked: this is about the files).
    def fake_convert(converter, model, tmp, input_size):
        (tmp_path / "converted").write_bytes(b"onnx")
        os.replace(tmp_path / "converted", os.path.join(tmp, "model.onnx"))
        return os.path.join(tmp, "model.onnx")

    monkeypatch.setattr(export_module, "_import_paddle2onnx", lambda: "paddle2onnx")
    monkeypatch.setattr(export_module, "_convert_to_onnx", fake_convert)
    assert export(create_model("resnet20"), prefix, input_size=(3, 32, 32), format="onnx") == \
        [prefix + "_meta.json", prefix + ".onnx"]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(f) for f in files + [prefix + ".onnx"]), \
        "the Paddle program and parameters were kept"
    assert open(prefix + ".onnx", "rb").read() == b"onnx"

    # A different model (another classifier size) is not written beside them: its metadata would not fit both.
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    with pytest.raises(FileExistsError,
                       match=r"net\.(json|pdmodel).* is a different model \(outputs \[\[None, 10\]\] vs "
                                              r"\[\[None, 3\]\]\); export to another prefix"):
        export(create_model("resnet20", num_classes=3), prefix, input_size=(3, 32, 32), format="onnx")
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


@pytest.mark.parametrize("arguments, message", [
    ({"device": "tpu"}, r"unknown device 'tpu'; accepted: 'cpu', 'gpu', 'gpu:N'"),
    ({"device": "gpu:"}, r"unknown device 'gpu:'; accepted: 'cpu', 'gpu', 'gpu:N'"),
    ({"device": "gpu:x"}, r"unknown device 'gpu:x'; accepted: 'cpu', 'gpu', 'gpu:N'"),
    ({"device": "cpu:0"}, r"unknown device 'cpu:0'; accepted: 'cpu', 'gpu', 'gpu:N'"),
    ({"threads": 0}, r"threads=0: expected 1 to \d+ \(the CPUs this process may run on\)"),
    ({"threads": 100000}, r"threads=100000: expected 1 to \d+ \(the CPUs this process may run on\)"),
])
def test_predictor_rejects_bad_arguments(resnet18_export, arguments, message):
    with pytest.raises(ValueError, match=message):
        Predictor(resnet18_export[1], **arguments)


def test_predictor_names_what_is_missing(tmp_path, resnet18_export):
    with pytest.raises(FileNotFoundError, match=r"missing does not exist: expected a training run, an export "):
        Predictor(str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(FileNotFoundError, match=r"no exported model at prefix .*notes.txt.*looked for"):
        Predictor(str(tmp_path / "notes.txt"))
    program = shutil.copy(resnet18_export[2][-1], tmp_path)  # without its .pdiparams
    with pytest.raises(FileNotFoundError, match=r"needs its parameters file .*\.pdiparams, which is missing"):
        Predictor(program, device="cpu")


def _truncate(path, keep=0.5):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:int(len(data) * keep)])


DAMAGED_EXPORTS = {  # name: (damage done to the copied files, the file the error names, what it says)
    "truncated program": (lambda program, params: _truncate(program), "program", "it is not a readable Paddle program"),
    "garbage program": (lambda program, params: open(program, "w").write("garbage"), "program",
                        "it is not a readable Paddle program"),
    "empty program": (lambda program, params: _truncate(program, 0), "program", r"it (is not a readable|holds no) "),
    "JSON that is no program": (lambda program, params: open(program, "w").write('{"a": 1}'), "program",
                                r"it is (JSON, but )?not a (readable )?Paddle program"),
    "truncated parameters": (lambda program, params: _truncate(params), "both", "Paddle Inference cannot load it: "),
    "empty parameters": (lambda program, params: _truncate(params, 0), "program", r"its parameters file .* is empty"),
}


@pytest.mark.parametrize("case", list(DAMAGED_EXPORTS))
def test_predictor_names_a_damaged_export_file(resnet18_export, tmp_path, case):
    """Paddle's own errors name no file, and Paddle 2.6 crashes the process on a garbage program file."""
    damage, named, message = DAMAGED_EXPORTS[case]
    files = resnet18_export[2]  # the program file is the last one export() returns
    params, program = (shutil.copy(f, tmp_path) for f in (next(f for f in files if f.endswith(".pdiparams")),
                                                          files[-1]))
    damage(program, params)
    where = re.escape(program) + (rf" \(with {re.escape(params)}\)" if named == "both" else "")
    with pytest.raises(ValueError, match=rf"^{where}: {message}.*The export is damaged or incomplete; export the "
                                         r"model again"):
        Predictor(program, device="cpu")


@needs_onnx
def test_predictor_names_a_damaged_onnx_file(tmp_path):
    export(create_model("resnet20"), str(tmp_path / "m"), input_size=(3, 32, 32), format="onnx")
    _truncate(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(tmp_path / 'm.onnx'))}: ONNX Runtime cannot load it: .*"
                                         r"damaged or incomplete"):
        Predictor(str(tmp_path / "m"))


def test_predictor_refuses_an_empty_batch(resnet18_export):
    with pytest.raises(ValueError, match=r"expected at least one image, got an empty batch of shape \[0, 3, 64, 64\]"):
        Predictor(resnet18_export[1], device="cpu")(np.zeros((0, 3, 64, 64), "float32"))


@pytest.mark.parametrize("shape, message", [
    ((3, 64, 64), r"expected images of shape \[batch, channels, height, width\], got \[3, 64"),
    ((2, 3, 32, 32), rf"resnet18{PROGRAM_SUFFIX} was exported for images of shape \[batch, 3, 64, 64\], got "
                     r"\[2, 3, 32, 32\]"),  # another size
    ((2, 1, 64, 64), rf"resnet18{PROGRAM_SUFFIX} was exported for images of shape \[batch, 3, 64, 64\], got "
                     r"\[2, 1, 64, 64\]"),  # another channel count
])
def test_predictor_rejects_images_of_another_shape(resnet18_export, shape, message):
    predictor = Predictor(resnet18_export[1], device="cpu")
    with pytest.raises(ValueError, match=message):
        predictor(np.zeros(shape, dtype="float32"))


def test_predictor_refuses_an_ambiguous_prefix_and_foreign_settings(tmp_path):
    for name in ("a.json", "a.onnx"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(ValueError, match=r"several exported models share the prefix .*a.json, .*a.onnx"):
        Predictor(str(tmp_path / "a"))
    with pytest.raises(ValueError, match=r"onednn=False applies to Paddle Inference only"):
        Predictor(str(tmp_path / "a.onnx"), onednn=False)


@pytest.mark.parametrize("device, option", [("gpu", {"onednn": False}), ("gpu:0", {"onednn": True}),
                                            ("gpu", {"threads": 2})])
def test_predictor_refuses_cpu_settings_off_the_cpu(resnet18_export, monkeypatch, device, option):
    """Checked before any GPU is touched, so it runs on a machine without one."""
    monkeypatch.setattr(inference_module, "paddle_has_gpu", lambda: True)
    (name, value), = option.items()
    with pytest.raises(ValueError, match=rf"{name}={value} applies to the CPU, but Paddle Inference runs .* on "
                                         rf"'{device}'; leave {name}=None"):
        Predictor(resnet18_export[1], device=device, **option)


@pytest.mark.slow  # fast sibling: test_export_command_onnx_with_input_size_and_num_classes
def test_export_command_writes_checks_and_loads_weights(tmp_path, capsys, monkeypatch):
    trained = create_model("resnet20")
    paddle.save(trained.state_dict(), str(tmp_path / "w.pdparams"))
    code, out, _ = run_cli(capsys, "export", "resnet20", "--weights", str(tmp_path / "w.pdparams"),
                           "--out", str(tmp_path / "out"))
    assert code == 0
    assert "check: paddle on a random batch of 2 vs the eager model" in out and "(ok," in out
    images = _images(2, (3, 32, 32))
    assert_same_answer(Predictor(str(tmp_path / "out" / "resnet20"), device="cpu")(images), _eager(trained, images))

    # Weights with another classifier size: the size is taken from them (and said), no --num-classes needed.
    paddle.save(create_model("resnet20", num_classes=7).state_dict(), str(tmp_path / "w7.pdparams"))
    code, out, _ = run_cli(capsys, "export", "resnet20", "--weights", str(tmp_path / "w7.pdparams"),
                           "--out", str(tmp_path / "seven"))
    assert code == 0 and "the weights' classifier has 7 outputs: exporting with --num-classes 7" in out
    assert Predictor(str(tmp_path / "seven" / "resnet20"), device="cpu")(images).shape == (2, 7)
    # ... unless the option says otherwise: then the mismatch is an error that says which size fits, in the
    # command line's terms (no Python-only advice such as strict=False).
    code, _, err = run_cli(capsys, "export", "resnet20", "--weights", str(tmp_path / "w7.pdparams"),
                           "--num-classes", "10", "--out", str(tmp_path / "x"))
    assert code == 2 and "fc.weight (weights [64, 7], model [64, 10])" in err and "strict" not in err
    assert "hint: the weights' classifier has 7 outputs, not --num-classes 10" in err
    assert not (tmp_path / "x").exists()
    # Backbone weights (no classifier): ambiguous, so refused with the option that settles it.
    paddle.save(create_model("resnet20", num_classes=0).state_dict(), str(tmp_path / "w0.pdparams"))
    code, _, err = run_cli(capsys, "export", "resnet20", "--weights", str(tmp_path / "w0.pdparams"),
                           "--out", str(tmp_path / "x"))
    assert code == 2 and "hint: the weights have no classifier: pass --num-classes 0" in err

    # A wrong exported graph (faked: the predictor answers zeros) fails the check with exit code 1.
    monkeypatch.setattr(Predictor, "__call__", lambda self, images: np.zeros((len(images), 10), "float32"))
    code, out, _ = run_cli(capsys, "export", "resnet20", "--out", str(tmp_path / "bad"))
    assert code == 1 and "max difference 1.0e+00 of the output's scale (MISMATCH, tolerance 1e-04)" in out


@pytest.mark.parametrize("argv, message", [
    (["--num-classes", "-1"], "error: num_classes=-1: expected 0 (no classifier) or a positive int"),
    (["--out", "{tmp}/file"], "that is a file; give a directory"),
    (["--weights", "{tmp}/none.pdparams"], "error: weights file {tmp}/none.pdparams does not exist"),
])
def test_export_command_usage_errors_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "file").write_text("")
    argv = ["export", "resnet20", "--out", str(tmp_path / "out"), *[a.format(tmp=tmp_path) for a in argv]]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message.format(tmp=tmp_path) in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_export_command_onnx_without_onnxruntime_exits_2_before_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    code, _, err = run_cli(capsys, "export", "resnet20", "--format", "onnx", "--out", str(tmp_path / "out"))
    assert code == 2 and "needs onnxruntime, which is not installed: pip install 'paddle_resnet[onnx]'" in err
    assert not (tmp_path / "out").exists()


@needs_onnx
def test_export_command_onnx_with_input_size_and_num_classes(tmp_path, capsys):
    for name in ("resnet20.json", "resnet20.pdiparams"):  # an earlier export in the other format
        (tmp_path / name).write_text("")
    code, out, _ = run_cli(capsys, "export", "resnet20", "--format", "onnx", "--input-size", "40x48",
                           "--num-classes", "7", "--out", str(tmp_path))
    assert code == 0 and "check: onnxruntime on a random batch of 2" in out and "(ok," in out
    assert "removed" not in out
    assert sorted(os.listdir(tmp_path)) == ["resnet20.json", "resnet20.onnx", "resnet20.pdiparams",
                                            "resnet20_meta.json"], "the other format is kept"
    predictor = Predictor(str(tmp_path / "resnet20.onnx"))
    assert predictor.input_shape == [None, 3, 40, 48]
    assert predictor(_images(3, (3, 40, 48))).shape == (3, 7)


def test_benchmark_time_paths_honours_repeats_and_caps_min_time():
    from paddle_resnet.benchmark.measure import MAX_ROUNDS, time_paths

    calls = []
    times = time_paths({"a": lambda: calls.append(1), "b": lambda: None}, repeats=MAX_ROUNDS + 50, min_time=0)
    assert [len(t) for t in times.values()] == [MAX_ROUNDS + 50] * 2 and len(calls) == MAX_ROUNDS + 51  # + warm-up
    times = time_paths({"a": lambda: None}, repeats=2, min_time=1e9)  # more time than MAX_ROUNDS no-ops take
    assert len(times["a"]) == MAX_ROUNDS


@pytest.mark.parametrize("argv, message", [
    (["--repeats", "0"], "--repeats=0: expected a positive int"),
    (["--threads", "-2"], "--threads=-2: expected 1 to"),
    (["--batch", "1,0"], "'1,0': expected positive batch sizes like 1,8"),
    (["--min-time", "-1"], "--min-time=-1.0: expected seconds >= 0"),
    (["--input-size", "0"], "'0': expected a positive size like 224 or 224x160"),
])
def test_benchmark_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run_cli(capsys, "benchmark", *argv)
    assert code == 2 and message in err


def test_benchmark_notes_paths_it_cannot_build_and_measures_the_rest(tmp_path, monkeypatch):
    """No oneDNN in this Paddle and a conversion that fails: those rows get a note, the others still run."""
    from paddle.base import core

    from paddle_resnet.benchmark import measure as benchmark

    def failed_conversion(*args):
        raise RuntimeError("paddle2onnx 1.3.1 wrote no ONNX file")

    monkeypatch.setattr(core, "is_compiled_with_mkldnn", lambda: False)
    monkeypatch.setattr(export_module, "_import_paddle2onnx", lambda: "paddle2onnx")
    monkeypatch.setattr(export_module, "_convert_to_onnx", failed_conversion)
    model = create_model("resnet20")
    model.eval()
    predictors = benchmark._exported(model, str(tmp_path), (3, 32, 32), threads=1)
    assert predictors[benchmark.ONEDNN] == "not available: onednn=True, but this Paddle build has no oneDNN kernels"
    if PROGRAM_SUFFIX == ".json":  # Paddle 3 also measures an old-IR program; Paddle 2.6 writes only that
        assert predictors[benchmark.OLD_IR] == predictors[benchmark.ONEDNN]
    else:
        assert benchmark.OLD_IR not in predictors
    assert predictors[benchmark.ORT] == "not available: paddle2onnx 1.3.1 wrote no ONNX file"
    plain = predictors[benchmark.PLAIN]
    assert plain.onednn is False
    images = _images(2, (3, 32, 32))
    assert_same_answer(plain(images), _eager(model, images))


@pytest.mark.slow  # fast sibling: test_benchmark_notes_paths_it_cannot_build_and_measures_the_rest
def test_benchmark_measures_every_path_and_writes_json(tmp_path, capsys, monkeypatch):
    """A tiny run (ResNet-18 at 32x32, batch 2): every path is timed, and is checked against our eager output.
    The CPU it describes is a made-up one (an AVX-512 CPU at an odd clock), so the report does not depend on
    the machine running the test."""
    from paddle_resnet.benchmark import machine as benchmark_machine

    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Made-up CPU\ncpu MHz\t\t: 2994.374\n"
                                      "flags\t\t: sse avx2 fma avx512f\n\n")
    monkeypatch.setattr(benchmark_machine, "CPUINFO", str(tmp_path / "cpuinfo"))
    argv = ["benchmark", "--model", "resnet18", "--input-size", "32", "--batch", "2", "--repeats", "2",
            "--min-time", "0.01", "--json", str(tmp_path / "bench.json")]
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    rows = {row["path"]: row for row in report["rows"]}
    exported = ["Paddle Inference, oneDNN", "Paddle Inference, plain CPU kernels"]
    exported += ["Paddle Inference, oneDNN, old-IR .pdmodel"] if PROGRAM_SUFFIX == ".json" else []
    exported += ["ONNX Runtime"] if _has_onnx() else []
    eager = ["ours eager", "paddle.vision eager", "ours train step (SGD)", "paddle.vision train step (SGD)"]
    assert sorted(rows) == sorted(eager + exported + ([] if _has_onnx() else ["ONNX Runtime"]))
    assert all(rows[path]["runs"] >= 2 and "note" not in rows[path] for path in eager + exported)
    for path in exported:
        assert rows[path]["max_rel_diff"] <= RELATIVE_TOLERANCE, path
    assert rows["paddle.vision eager"]["max_rel_diff"] == 0.0, "same weights, same operators: the same output"
    assert report["arguments"] == argv[1:] and report["input_size"] == [3, 32, 32]
    assert "tools" not in report, "verify and paddle.summary are timed only with --time-tools"
    machine = report["machine"]
    assert machine["paddle"] == paddle.__version__ and machine["threads_used"] == report["threads"]
    threads = report["threads"]
    assert machine["cpu"] == "Made-up CPU" and machine["peak_gflops"] == round(threads * 2.994374 * 16 * 2 * 2, 1)
    assert f"peak FP32: {threads} cores x 2.994374 GHz x 16 fp32 lanes (avx512f) x 2 FLOPs/FMA x 2 FMA pipes = " \
           f"{machine['peak_gflops']:.1f} GFLOP/s" in out
    for row in (row for row in report["rows"] if "gflops" in row):  # both rounded: GFLOP/s to 0.1, fraction to 1e-3
        assert row["fraction_of_peak"] == pytest.approx(row["gflops"] / machine["peak_gflops"], abs=2e-3), row
    assert "| Paddle Inference, oneDNN" in out


@pytest.mark.parametrize("format, onednn", [("paddle", None), ("paddle", False),
                                            pytest.param("onnx", None, marks=needs_onnx)],
                         ids=["paddle-onednn", "paddle-plain-cpu", "onnx"])
@pytest.mark.slow  # fast sibling: test_paddle_inference_matches_eager_for_any_batch
def test_resnet_d_average_pool_shortcut_survives_export_at_odd_sizes(tmp_path, format, onednn):
    """ResNet-D's shortcut pool rounds up (ceil mode) and averages only the pixels inside the input. At 65x65 the
    maps it pools are odd (17, 9, 5 pixels), so a converter that dropped ceil mode would give shapes the main path
    cannot be added to, and one that counted the overhang in the average would give other values."""
    paddle.seed(3)
    model = create_model("resnet18_vd", num_classes=10)
    export(model, str(tmp_path / "resnet18_vd"), input_size=(3, 65, 65), format=format)
    predictor = Predictor(str(tmp_path / "resnet18_vd"), device="cpu",
                          **({"onednn": onednn} if format == "paddle" else {}))
    images = _images(2, (3, 65, 65))
    assert_same_answer(predictor(images), _eager(model, images))
    # Controls: dividing by the full 2x2 window at the edges (counting the overhang as zeros) changes the logits,
    # and a floor-mode pool (8 pixels from 17) no longer fits the main path.
    class ZeroPaddedAverage(paddle.nn.Layer):  # pads odd sizes with zeros, then averages every full 2x2 window
        def forward(self, x):
            return paddle.nn.functional.avg_pool2d(
                paddle.nn.functional.pad(x, [0, x.shape[3] % 2, 0, x.shape[2] % 2]), 2, 2)

    overhang, floor = copy.deepcopy(model), copy.deepcopy(model)
    for stage in overhang.stages[1:]:
        stage[0].downsample[0] = ZeroPaddedAverage()
    assert max_relative_difference(_eager(overhang, images), _eager(model, images)) > 100 * RELATIVE_TOLERANCE
    floor.layer2[0].downsample[0].ceil_mode = False
    with pytest.raises(ValueError):
        _eager(floor, images)


def _report(others, cpus=2):
    """A benchmark report with one measured row, as run_benchmark returns it."""
    row = {"path": "ours eager", "batch": 1, "runs": 3, "images_per_s": 10.0, "p50_ms": 100.0, "p90_ms": 110.0,
           "gflops": 1.0, "fraction_of_peak": 0.1, "max_rel_diff": None}
    machine = {"cpu": "test CPU", "cpu_family": "1", "available_cpus": cpus, "logical_cpus": cpus, "paddle": "x",
               "onnxruntime": None, "paddle2onnx": None, "peak_formula": "..."}
    return {"model": "resnet20", "input_size": [3, 32, 32], "gflop_per_image": 0.08, "threads": cpus, "date": "d",
            "machine": machine, "load_before": [0, 0, 0], "load_after": [0, 0, 0], "other_processes_cores": others,
            "rows": [row], "ratios": {"1": {"fastest path": "ours eager"}}}


def test_benchmark_warns_above_the_ratios_when_other_processes_were_busy():
    from paddle_resnet.benchmark.report import BUSY_SHARE, format_report

    busy = format_report(_report(others=0.5)).splitlines()
    warning = next(i for i, line in enumerate(busy) if line.startswith("warning: "))
    assert "0.5 of 2 CPUs busy" in busy[warning] and "cannot be trusted" in busy[warning]
    assert busy[warning + 2].startswith("| ratio (throughput)"), "the warning stands right above the ratios"
    just_below = _report(others=round(2 * BUSY_SHARE - 0.01, 2))
    assert not [line for line in format_report(just_below).splitlines() if line.startswith("warning")]
    assert not [line for line in format_report(_report(others=None)).splitlines() if line.startswith("warning")]


def test_benchmark_times_the_tools_only_when_asked(capsys, monkeypatch):
    import paddle_resnet.benchmark as benchmark

    asked = []

    def fake_run(*args, tools, say):
        asked.append(tools)
        return {**_report(others=0.0), "seconds": 1.0}

    monkeypatch.setattr(benchmark, "run_benchmark", fake_run)
    assert run_cli(capsys, "benchmark")[0] == 0 and run_cli(capsys, "benchmark", "--time-tools")[0] == 0
    assert asked == [False, True]
