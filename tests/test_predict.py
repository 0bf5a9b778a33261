"""From a trained run to a prediction: the export's metadata, Predictor.from_run and classify, the predict command.

The run is a tiny one (resnet20 at 16x16 on synthetic textures, tests/helpers/images.py), trained once for the
module. Expected probabilities come from the eager model of the same checkpoint on the same prepared images,
never from recorded numbers.
"""

from __future__ import annotations

import io
import json
import os
import shutil

import numpy as np
import paddle
import pytest
from helpers import run_cli
from helpers.images import make_image_folder
from PIL import Image

from paddle_resnet import Predictor, create_model, export, load_weights
from paddle_resnet.deploy.predictor import find_images
from paddle_resnet.deploy.preprocess import describe_preprocess, transform_from
from paddle_resnet.training import TrainConfig, export_run, needs_export, train
from paddle_resnet.training.data import eval_transform

SIZE = 16


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished training run (no --export) and a folder of images to classify, a corrupt one among them."""
    root = tmp_path_factory.mktemp("predict")
    data = make_image_folder(root / "data", per_class=8, size=24)
    train(TrainConfig(data=str(data), model="resnet20", input_size=SIZE, batch_size=8, epochs=2, num_workers=0,
                      lr=0.05, out=str(root / "run")), stream=io.StringIO())
    photos = make_image_folder(root / "photos", per_class=2, size=24, seed=5)
    (photos / "vertical" / "broken.png").write_bytes(b"\x89PNG not really")  # an image name, unreadable content
    (photos / "notes.txt").write_text("not an image, and not named like one: a folder listing leaves it out")
    return root / "run", photos


def _eager_probabilities(run_dir, paths):
    """Softmax of the best checkpoint's eager model on the images prepared by training's own eval transform."""
    model = create_model("resnet20", num_classes=3)
    load_weights(model, str(run_dir / "best" / "model.safetensors"))
    model.eval()
    transform = eval_transform(SIZE)
    batch = np.stack([transform(Image.open(path).convert("RGB")) for path in paths]).astype("float32")
    with paddle.no_grad():
        return paddle.nn.functional.softmax(model(paddle.to_tensor(batch)), axis=1).numpy()


def test_the_export_carries_the_class_names_and_the_evaluation_transform(run):
    run_dir, photos = run
    assert needs_export(run_dir) and not (run_dir / "export").exists()
    model_file = export_run(run_dir)
    assert not needs_export(run_dir)
    meta = json.loads((run_dir / "export" / "model_meta.json").read_text())
    trainer = json.loads((run_dir / "best" / "trainer.json").read_text())
    assert meta["classes"] == trainer["classes"] == ["checks", "horizontal", "vertical"]
    assert meta["input_shape"] == [None, 3, SIZE, SIZE] and meta["outputs"] == [[None, 3]]
    assert meta["preprocess"] == describe_preprocess(SIZE)
    # The recorded description rebuilds exactly the transform validation used.
    image = Image.open(photos / "checks" / "000.png").convert("RGB")
    assert np.array_equal(transform_from(meta["preprocess"])(image), eval_transform(SIZE)(image))
    assert Predictor.from_run(str(run_dir)).model_file == model_file


def test_classify_reports_a_corrupt_image_and_classifies_the_others(run):
    run_dir, photos = run
    if needs_export(run_dir):
        export_run(run_dir)
    predictor = Predictor.from_run(str(run_dir), device="cpu")
    results = predictor.classify([str(photos), str(photos / "missing.png"), str(photos / "*" / "001.png")],
                                 top_k=2, batch_size=3)
    good = sorted(str(p) for p in photos.glob("*/*.png") if p.name != "broken.png")
    paths = [r.path for r in results]
    assert paths == sorted(good + [str(photos / "vertical" / "broken.png")]) + [
        str(photos / "missing.png"), *sorted(str(p) for p in photos.glob("*/001.png"))]
    broken, missing = results[paths.index(str(photos / "vertical" / "broken.png"))], results[len(good) + 1]
    assert broken.error.startswith("cannot read image (UnidentifiedImageError") and broken.top == []
    assert missing.error == "no such file, folder or matching file"
    assert "error: cannot read image" in str(broken)

    classified = [r for r in results if r.error is None]
    expected = _eager_probabilities(run_dir, [r.path for r in classified])
    for result, probabilities in zip(classified, expected):
        assert len(result.top) == 2
        best = np.argsort(-probabilities, kind="stable")[:2]
        assert [name for name, _ in result.top] == [predictor.classes[i] for i in best]
        np.testing.assert_allclose([p for _, p in result.top], probabilities[best], rtol=1e-4, atol=1e-6)
    assert str(classified[0]).startswith(f"{classified[0].path}: {classified[0].top[0][0]} ")


def test_predict_command_on_a_run_exports_it_once_and_keeps_going_past_a_bad_image(run, tmp_path, capsys):
    run_dir, photos = run
    fresh = tmp_path / "run"
    shutil.copytree(run_dir, fresh, ignore=shutil.ignore_patterns("export"))
    code, out, err = run_cli(capsys, "predict", str(fresh), str(photos), "--top-k", "1")
    assert code == 1, "an unreadable image makes the exit status 1"
    assert f"{fresh}: exporting the run's best model to its export/ folder first" in err
    assert "1 of 7 image(s) could not be classified" in err
    lines = out.splitlines()
    assert len(lines) == 7 and f"{photos / 'vertical' / 'broken.png'}: error: cannot read image" in out
    assert all(line.count("%") == 1 for line in lines if "error" not in line)

    code, out, err = run_cli(capsys, "predict", str(fresh), str(photos / "checks"), "--format", "json")
    assert code == 0 and "exporting" not in err  # exported once
    report = json.loads(out)
    assert [r["path"] for r in report] == [str(photos / "checks" / f"00{i}.png") for i in range(2)]
    assert all(len(r["top"]) == 3 and r["error"] is None for r in report)
    assert abs(sum(entry["probability"] for entry in report[0]["top"]) - 1) < 1e-5

    code, _, err = run_cli(capsys, "predict", str(tmp_path / "nowhere"), str(photos))
    assert code == 2 and f"error: {tmp_path / 'nowhere'} does not exist" in err


def test_predict_names_a_run_that_does_not_exist(capsys, tmp_path):
    code, out, err = run_cli(capsys, "predict", str(tmp_path / "runs" / "nope"), str(tmp_path))
    assert code == 2 and out == "" and err.startswith(f"error: {tmp_path / 'runs' / 'nope'} does not exist: expected "
                                                      "a training run, an export folder, or the prefix of an export")


def test_find_images_lists_folders_and_patterns_in_order(tmp_path):
    for name in ("b.jpg", "a.PNG", ".hidden.png", "notes.txt", "sub/c.png", ".cache/d.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert find_images(str(tmp_path)) == [(str(tmp_path / n), None) for n in ("a.PNG", "b.jpg", "sub/c.png")]
    assert find_images([str(tmp_path / "*.jpg"), str(tmp_path / "notes.txt")]) == [
        (str(tmp_path / "b.jpg"), None), (str(tmp_path / "notes.txt"), None)]  # a named file is always tried
    (tmp_path / "empty").mkdir()
    assert find_images(str(tmp_path / "empty"))[0][1].startswith("a folder without image files (accepted")


def test_classify_needs_the_metadata_and_a_classifier(tmp_path):
    backbone = str(tmp_path / "backbone")
    export(create_model("resnet20", out_stages=(2, 3)), backbone, input_size=(3, 32, 32))
    with pytest.raises(ValueError, match="returns 2 outputs .*classify needs a classifier"):
        Predictor(backbone, device="cpu").classify(str(tmp_path))
    plain = str(tmp_path / "plain")
    export(create_model("resnet20"), plain, input_size=(3, 32, 32))
    os.remove(plain + "_meta.json")  # an export made before the metadata existed
    predictor = Predictor(plain, device="cpu")
    assert predictor.metadata is None and predictor.classes is None
    with pytest.raises(ValueError, match=r"no image preprocessing is recorded next to the model .*plain_meta\.json"):
        predictor.classify(str(tmp_path))
    (tmp_path / "results.json").write_text("{}")  # a JSON file that is no model program
    with pytest.raises(ValueError, match=rf"holds several exported models \({backbone}, {plain}\); give the prefix"):
        Predictor.from_run(str(tmp_path))
    with pytest.raises(ValueError, match=r"classes: 2 names given, but the model's output is \[None, 10\]"):
        export(create_model("resnet20"), str(tmp_path / "named"), input_size=(3, 32, 32), classes=["a", "b"])


def test_from_run_names_what_is_missing(tmp_path):
    (tmp_path / "run" / "last").mkdir(parents=True)
    (tmp_path / "run" / "last" / "trainer.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"training run without an exported model .*export_run"):
        Predictor.from_run(str(tmp_path / "run"))
    with pytest.raises(FileNotFoundError, match="no exported model in"):
        Predictor.from_run(str(tmp_path))


@pytest.mark.slow  # fast sibling: test_predict_command_on_a_run_exports_it_once_and_keeps_going_past_a_bad_image
def test_export_command_takes_class_names_and_input_size_from_a_training_run(run, tmp_path, capsys):
    run_dir, photos = run
    code, out, _ = run_cli(capsys, "export", "resnet20", "--weights", str(run_dir / "best" / "model.safetensors"),
                           "--out", str(tmp_path / "deploy"))
    assert code == 0 and "the weights' classifier has 3 outputs: exporting with --num-classes 3" in out
    assert f"from the training run in {run_dir / 'best'}: class names ['checks', 'horizontal', 'vertical'], " \
           f"input size {SIZE}" in out
    meta = json.loads((tmp_path / "deploy" / "resnet20_meta.json").read_text())
    assert meta["classes"] == ["checks", "horizontal", "vertical"] and meta["input_shape"] == [None, 3, SIZE, SIZE]
    code, out, _ = run_cli(capsys, "predict", str(tmp_path / "deploy"), str(photos / "checks" / "000.png"))
    assert code == 0 and out.startswith(f"{photos / 'checks' / '000.png'}: ")
    code, _, _ = run_cli(capsys, "export", "resnet20", "--weights", str(run_dir / "best" / "model.safetensors"),
                         "--classes", "a,b,c", "--out", str(tmp_path / "deploy"))
    assert code == 0 and json.loads((tmp_path / "deploy" / "resnet20_meta.json").read_text())["classes"] == \
        ["a", "b", "c"]
    code, _, err = run_cli(capsys, "export", "resnet20", "--weights", str(run_dir / "best" / "model.safetensors"),
                           "--classes", "a,b", "--out", str(tmp_path / "other"))
    assert code == 2 and "classes: 2 names given, but the model's output is [None, 3]" in err


# ------------------------------------------------------------------ hostile input (issue 18, docs/reliability.md)

def _exported(run):
    run_dir, _ = run
    if needs_export(run_dir):
        export_run(run_dir)
    return run_dir / "export" / "model"


@pytest.mark.parametrize("images, problem", [
    (np.zeros((1, 3, SIZE, SIZE), np.uint8), "images of dtype uint8: expected floating-point numbers"),
    (np.zeros((1, 3, SIZE, SIZE), np.int64), "images of dtype int64"),
    (np.zeros((1, 3, SIZE, SIZE), bool), "images of dtype bool"),
    (np.zeros((1, 3, SIZE, SIZE), object), "images of dtype object"),
    (np.full((1, 3, SIZE, SIZE), np.nan, np.float32), rf"images hold {3 * SIZE * SIZE} NaN or infinite value"),
    (np.pad(np.zeros((1, 3, SIZE, SIZE - 1)), [(0, 0)] * 3 + [(0, 1)], constant_values=np.inf),
     rf"images hold {3 * SIZE} NaN or infinite value"),
])
def test_the_predictor_refuses_arrays_that_are_not_normalised_pixels(run, images, problem):
    predictor = Predictor(str(_exported(run)), device="cpu")
    with pytest.raises(ValueError, match=problem):
        predictor(images)
    assert predictor(np.zeros((1, 3, SIZE, SIZE), np.float64)).shape == (1, 3)  # any float dtype is fine


def test_classify_reads_images_as_training_does(run, tmp_path):
    """One reader: 16-bit grayscale scaled (not clipped to white), 32-bit float refused, a FIFO named *.png
    refused without being opened (it would block for ever), as training's check does."""
    predictor = Predictor(str(_exported(run)), device="cpu")
    pixels = np.linspace(0, 65535, SIZE * SIZE * 4).reshape(2 * SIZE, 2 * SIZE).round()
    Image.fromarray(pixels.astype(np.uint16)).save(tmp_path / "deep.png")
    Image.fromarray(np.round(pixels * 255 / 65535).astype(np.uint8)).convert("RGB").save(tmp_path / "eight.png")
    Image.fromarray(np.ones((SIZE, SIZE), np.float32)).save(tmp_path / "float.tif")
    os.mkfifo(tmp_path / "pipe.png")
    results = {os.path.basename(r.path): r for r in predictor.classify(str(tmp_path), top_k=3)}
    assert results["deep.png"].top == results["eight.png"].top
    assert results["float.tif"].error.startswith("unsupported pixel format: 32-bit float pixels")
    assert results["pipe.png"].error == "not a regular file (a directory, pipe, socket or device)"


@pytest.mark.parametrize("key, value, problem", [
    ("preprocess.resize_short", 100000, r"preprocess.resize_short 100000: expected an int 1 to 8192"),
    ("preprocess.std", [58.4, 0, 57.4], r"preprocess.std \[58.4, 0, 57.4\]: expected 3 finite positive numbers"),
    ("preprocess.mean", [float("nan"), 1, 2], r"preprocess.mean \[NaN, 1, 2\]: expected 3 finite numbers"),
    ("preprocess.layout", "HWC", r'preprocess.layout "HWC": expected one of CHW'),
    ("preprocess.color", "BGR", r'preprocess.color "BGR": expected one of RGB'),
    ("classes", ["a", "b"], r"classes: 2 names, but the model's output is \[\[null, 3\]\]"),
    ("classes", ["a", 2, "c"], r"classes: 1 of the 3 names are not non-empty strings \(2\)"),
    ("input_shape", [None, 3, -16, 16], r"input_shape \[null, 3, -16, 16\]: expected"),
])
def test_damaged_export_metadata_is_refused_naming_the_file_and_key(run, tmp_path, key, value, problem):
    prefix = _exported(run)
    for suffix in (".json", ".pdmodel", ".pdiparams", "_meta.json"):
        if os.path.exists(str(prefix) + suffix):
            shutil.copy(str(prefix) + suffix, tmp_path / f"model{suffix}")
    meta_file = tmp_path / "model_meta.json"
    meta = json.loads(meta_file.read_text())
    *parents, leaf = key.split(".")
    target = meta
    for parent in parents:
        target = target[parent]
    target[leaf] = value
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=rf"{meta_file}: {problem}"):
        Predictor(str(tmp_path / "model"), device="cpu")


def test_export_refuses_empty_class_names_and_huge_input_sizes(tmp_path, capsys):
    model = create_model("resnet20", num_classes=2)
    with pytest.raises(ValueError, match=r"classes: 2 of the 2 names are not non-empty strings"):
        export(model, str(tmp_path / "m"), input_size=(3, 16, 16), classes=["", ""])
    with pytest.raises(ValueError, match=r"input_size=\(3, 100000, 100000\): expected sizes of at most 4096"):
        export(model, str(tmp_path / "m"), input_size=(3, 100000, 100000))
    code, _, err = run_cli(capsys, "export", "resnet20", "--num-classes", "2", "--classes", ",", "--out",
                           str(tmp_path / "m"))
    assert code == 2 and "not non-empty strings" in err
    assert not list(tmp_path.iterdir())
