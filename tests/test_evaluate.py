"""evaluate (single view, 10-crop, multi-scale) and layer_responses, on tiny models and generated data."""

import importlib.util
import json

import numpy as np
import paddle
import pytest
from PIL import Image

from helpers import run_cli
from helpers.cifar import make_cifar_archive
from helpers.images import make_image_folder
from paddle_resnet import create_model, evaluate, layer_responses, save_weights
from paddle_resnet.deploy.preprocess import describe_preprocess, eval_transform, load_images
from paddle_resnet.evaluation import EvaluationError
from paddle_resnet.evaluation.accuracy import _whole_image, ten_crops, write_reports

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("data") / "val", per_class=4, size=40, seed=3)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    paddle.seed(1)
    model = create_model("resnet20", num_classes=3)
    return save_weights(model, str(tmp_path_factory.mktemp("w") / "resnet20.safetensors"))


def _probabilities(model, arrays):
    model.eval()
    with paddle.no_grad():
        return paddle.nn.functional.softmax(model(paddle.to_tensor(np.stack(arrays)))).numpy()


def _model(weights):
    from paddle_resnet import load_weights

    model = create_model("resnet20", num_classes=3)
    load_weights(model, weights)
    return model


def test_single_view_is_predicts_preprocessing_and_counts_right(folder, weights):
    result = evaluate(weights, str(folder), architecture="resnet20", batch_size=5)
    paths = sorted(str(p) for p in folder.glob("*/*.png"))
    labels = np.array([sorted(["horizontal", "vertical", "checks"]).index(p.split("/")[-2]) for p in paths])
    probabilities = _probabilities(_model(weights), load_images(paths, eval_transform(32)))
    expected = probabilities.argmax(axis=1)
    np.testing.assert_array_equal(result.predictions, expected)
    np.testing.assert_array_equal(result.labels, labels)
    assert result.images == 12 and result.top1_error == pytest.approx(np.mean(expected != labels))
    assert result.top5_error is None  # 3 classes: every class is in the top 5
    assert result.confusion.sum() == 12 and result.confusion.trace() == int(np.sum(expected == labels))
    assert [row["images"] for row in result.per_class()] == [4, 4, 4]
    assert result.classes == ["checks", "horizontal", "vertical"]


def test_top5_error(folder, tmp_path):
    paddle.seed(2)
    model = create_model("resnet20", num_classes=10)
    weights = save_weights(model, str(tmp_path / "ten.safetensors"))
    result = evaluate(weights, str(folder), architecture="resnet20")
    paths = sorted(str(p) for p in folder.glob("*/*.png"))
    probabilities = _probabilities(model, load_images(paths, eval_transform(32)))
    top5 = np.argsort(-probabilities, axis=1, kind="stable")[:, :5]
    assert result.top5_error == pytest.approx(np.mean(~(top5 == result.labels[:, None]).any(axis=1)))


def test_ten_crops_are_the_corners_and_centre_and_their_mirrors():
    preprocess = describe_preprocess(32)  # resize to 37, crop 32: the 224-of-256 rule scaled
    assert preprocess["resize_short"] == 37
    pixels = np.random.default_rng(0).integers(0, 256, size=(37, 45, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)  # already 37 on its short side: the resize keeps it
    crops = ten_crops(preprocess)(image)
    assert crops.shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(crops[0], eval_transform(32)(image))  # the centre crop is the single view
    mean, std = np.array(preprocess["mean"])[:, None, None], np.array(preprocess["std"])[:, None, None]
    crop = lambda top, left: ((pixels[top:top + 32, left:left + 32].transpose(2, 0, 1) - mean) / std)  # noqa: E731
    for index, (top, left) in enumerate([(0, 0), (0, 13), (5, 0), (5, 13)], start=1):
        np.testing.assert_allclose(crops[index], crop(top, left), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(crops[5:], crops[:5, :, :, ::-1])


def test_ten_crop_scores_are_the_mean_over_the_crops(folder, weights):
    result = evaluate(weights, str(folder), views="10crop", architecture="resnet20", limit=3)
    paths = sorted(str(p) for p in folder.glob("*/*.png"))[:3]
    model = _model(weights)
    stacks = load_images(paths, ten_crops(describe_preprocess(32)))
    expected = np.stack([_probabilities(model, list(crops)).mean(axis=0) for crops in stacks]).argmax(axis=1)
    np.testing.assert_array_equal(result.predictions, expected)


def test_multiscale_runs_the_whole_image_at_each_scale(folder, weights, tmp_path):
    wide = tmp_path / "wide" / "checks"
    wide.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 80, 3), dtype=np.uint8)).save(wide / "0.png")
    array = _whole_image(describe_preprocess(32), 55)(Image.open(wide / "0.png").convert("RGB"))
    assert array.shape == (3, 55, 110)  # the aspect ratio kept: no crop
    result = evaluate(weights, str(folder), views="multiscale", architecture="resnet20", limit=2)
    assert result.scales == [32, 37, 55, 69, 91]  # {224, 256, 384, 480, 640} x 32 / 224
    model = _model(weights)
    paths = sorted(str(p) for p in folder.glob("*/*.png"))[:2]
    per_scale = [np.concatenate([_probabilities(model, [a]) for a in load_images(paths, _whole_image(
        describe_preprocess(32), scale))]) for scale in result.scales]
    np.testing.assert_array_equal(result.predictions, np.mean(per_scale, axis=0).argmax(axis=1))
    with pytest.raises(ValueError, match="scales"):
        evaluate(weights, str(folder), views="multiscale", architecture="resnet20", scales=[32, 5000])
    with pytest.raises(ValueError, match="only multi-scale"):
        evaluate(weights, str(folder), architecture="resnet20", scales=[32])


def test_cifar_test_set_from_a_run_matches_classes_by_name(tmp_path):
    from helpers.training import TINY, run_training

    archive = make_cifar_archive(tmp_path, per_batch=4, test=12)
    run_training(**TINY, data=f"cifar10:{archive}", epochs=1, out=str(tmp_path / "run"))
    result = evaluate(str(tmp_path / "run"), f"cifar10:{archive}", limit=10)
    assert result.images == 10 and result.classes[0] == "airplane"
    np.testing.assert_array_equal(result.labels, [(3 + i) % 10 for i in range(10)])  # test labels from 3 on
    assert result.top5_error is not None
    with pytest.raises(EvaluationError, match="leave it out"):
        evaluate(str(tmp_path / "run"), f"cifar10:{archive}", architecture="resnet20")
    folder = make_image_folder(tmp_path / "folder", per_class=1, classes=("checks",))
    with pytest.raises(EvaluationError, match=r"class\(es\) checks are not among the model's classes \(airplane"):
        evaluate(str(tmp_path / "run"), str(folder))


def test_bad_requests_are_named(folder, weights, tmp_path):
    with pytest.raises(EvaluationError, match="--model"):
        evaluate(weights, str(folder))
    with pytest.raises(ValueError, match="batch_size=1000"):
        evaluate(weights, str(folder), architecture="resnet20", batch_size=1000)
    with pytest.raises(ValueError, match="views='5crop'"):
        evaluate(weights, str(folder), views="5crop", architecture="resnet20")
    paddle.seed(0)
    two = save_weights(create_model("resnet20", num_classes=2), str(tmp_path / "two.safetensors"))
    with pytest.raises(EvaluationError, match="3 classes, but the model has 2 outputs"):
        evaluate(two, str(folder), architecture="resnet20")
    (folder.parent / "broken" / "checks").mkdir(parents=True)
    (folder.parent / "broken" / "checks" / "x.png").write_bytes(b"not a png")
    with pytest.raises(EvaluationError, match="x.png: cannot read image"):
        evaluate(weights, str(folder.parent / "broken"), architecture="resnet20")


def test_reports_are_written(folder, weights, tmp_path):
    result = evaluate(weights, str(folder), architecture="resnet20")
    written = write_reports(result, str(tmp_path / "r.json"), "json", str(tmp_path / "cm.csv"))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["top1_error"] == result.top1_error and len(report["per_class"]) == 3
    rows = (tmp_path / "cm.csv").read_text().splitlines()
    assert rows[0] == "true \\ predicted,checks,horizontal,vertical"
    assert sum(int(v) for row in rows[1:] for v in row.split(",")[1:]) == 12
    assert (str(tmp_path / "cm.png") in written) == HAS_MATPLOTLIB


def test_evaluate_command_on_weights(folder, weights, tmp_path, capsys):
    code, out, err = run_cli(capsys, "evaluate", weights, str(folder), "--model", "resnet20", "--format", "json",
                             "--output", str(tmp_path / "r.json"), "--confusion", str(tmp_path / "cm.csv"))
    assert code == 0, err
    assert json.loads(out) == json.loads((tmp_path / "r.json").read_text())
    code, out, err = run_cli(capsys, "evaluate", weights, str(folder))
    assert code == 2 and "--model" in err
    code, out, err = run_cli(capsys, "evaluate", weights, str(folder), "--model", "resnet20", "--output",
                             str(tmp_path / "missing" / "r.txt"))
    assert code == 2 and "not an existing directory" in err


@pytest.mark.slow
def test_evaluate_agrees_with_predict_on_a_run_and_its_export(tmp_path, capsys):
    """Single-view top-1 of evaluate (the run's model, and its export) = predict's top class, image by image."""
    from helpers.training import TINY, run_training

    data = make_image_folder(tmp_path / "train", per_class=16, size=24)
    val = make_image_folder(tmp_path / "val", per_class=4, size=24, seed=9)
    run_training(**TINY, data=str(data), epochs=2, out=str(tmp_path / "run"))
    code, out, err = run_cli(capsys, "predict", str(tmp_path / "run"), str(val), "--format", "json", "--top-k", "1")
    assert code == 0, err
    predicted = [item["top"][0]["class"] for item in json.loads(out)]
    for source in (tmp_path / "run", tmp_path / "run" / "export"):
        code, out, err = run_cli(capsys, "evaluate", str(source), str(val), "--format", "json")
        assert code == 0, err
        result = evaluate(str(source), str(val))
        assert [result.classes[i] for i in result.predictions] == predicted
    code, out, err = run_cli(capsys, "evaluate", str(tmp_path / "run" / "export"), str(val), "--views", "multiscale")
    assert code == 2 and "multi-scale testing needs the model itself" in err
    for views in ("10crop", "multiscale"):
        code, out, err = run_cli(capsys, "evaluate", str(tmp_path / "run"), str(val), "--views", views)
        assert code == 0, err


# ---- layer responses -------------------------------------------------------------------------------------------

def test_layer_responses_are_the_bn_outputs_of_3x3_convolutions():
    paddle.seed(0)
    model = create_model("resnet20")
    model.eval()
    images = np.random.default_rng(0).normal(size=(3, 3, 32, 32)).astype("float32")
    responses = layer_responses(model, images, batch_size=2)
    assert len(responses) == 19  # the stem's 3x3 conv and 2 per block of 9 basic blocks (20 = 19 + the classifier)
    assert [r.name for r in responses[:3]] == ["bn1", "layer1.0.bn1", "layer1.0.bn2"]
    with paddle.no_grad():  # independently: the first block's second BN output, before the addition
        x = paddle.nn.functional.relu(model.bn1(model.conv1(paddle.to_tensor(images))))
        block = model.layer1[0]
        inner = block.bn2(block.conv2(paddle.nn.functional.relu(block.bn1(block.conv1(x)))))
    assert responses[2].std == pytest.approx(float(np.std(inner.numpy().astype(np.float64))), rel=1e-6)


@pytest.mark.parametrize("name, count", [("resnet18", 16), ("resnet50", 16), ("resnet32", 31)])
def test_layer_responses_count_each_3x3_layer(name, count):
    model = create_model(name, num_classes=4, **({} if name == "resnet32" else {}))
    size = 32
    responses = layer_responses(model, np.zeros((1, 3, size, size), "float32"))
    assert len(responses) == count  # resnet18: 8 blocks x 2 (its stem is 7x7); resnet50: 16 bottlenecks x 1


def test_responses_command(weights, folder, tmp_path, capsys):
    code, out, err = run_cli(capsys, "responses", weights, str(folder), "--model", "resnet20", "--compare", weights,
                             "--compare-model", "resnet20", "--images", "4", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert [run["model"] for run in report] == [weights, weights]
    assert [len(run["layers"]) for run in report] == [19, 19] and report[0] == report[1]
    code, out, err = run_cli(capsys, "responses", weights, str(folder), "--model", "resnet20", "--images", "2",
                             "--plot", str(tmp_path / "fig7.png"))
    if HAS_MATPLOTLIB:
        assert code == 0 and (tmp_path / "fig7.png").is_file()
    else:
        assert code == 2 and "needs matplotlib" in err


def test_a_he2015_cifar10_run_is_evaluated_with_its_own_validation_view(tmp_path):
    """The paper's CIFAR recipe subtracts the training images' mean image and tests on the 32x32 image as it is:
    evaluate applies exactly that view (``training.data.validation_transform`` with the run's recorded mean), not
    predict's ImageNet resize-crop-normalise, and refuses views a mean image of one size does not define."""
    from PIL import Image

    from paddle_resnet.training.data import validation_transform
    from paddle_resnet.training.recipes import recipe_config
    from paddle_resnet.training import train
    from paddle_resnet.training.checkpoint import load_model_weights, load_trainer

    archive = make_cifar_archive(tmp_path, per_batch=4, test=6)
    config = recipe_config("he2015-cifar10", model="resnet20", batch_size=4, max_steps=2, milestones=(1,),
                           num_workers=0, data=f"cifar10:{archive}", out=str(tmp_path / "run"))
    train(config, stream=__import__("io").StringIO())
    run = tmp_path / "run"
    result = evaluate(str(run), f"cifar10:{archive}")
    trainer = load_trainer(run / "last")
    assert trainer["config"]["normalize"] == "pixel-mean"
    model = create_model("resnet20", num_classes=10)
    load_model_weights(model, run / "last")
    view = validation_transform(32, "cifar", np.asarray(trainer["pixel_mean"], dtype=np.float32))
    from paddle_resnet.training.cifar import read_cifar

    test = read_cifar(f"cifar10:{archive}", "test")
    expected = _probabilities(model, [np.asarray(view(Image.fromarray(p)), np.float32) for p in test.images])
    np.testing.assert_array_equal(result.predictions, np.argmax(expected, axis=1))
    with pytest.raises(EvaluationError, match="mean image.*single view"):
        evaluate(str(run), f"cifar10:{archive}", views="10crop")
