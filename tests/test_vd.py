"""ResNet-D (``resnet*_vd``, ``resnet18d/34d/200d``): the table rows against PaddleClas and timm, their weights
(PaddleClas's files in both of its namings, timm's), pretrained weights for other input channels, downloads,
and the per-part views (freeze, summary, verify, train) on the new rows.

PaddleClas's own model code is the main reference (tests/references/paddleclas.py; the tests that need it skip
with the install command when the wheel is missing). timm's models are described by their published parameter
counts and their state-dict keys and shapes (tests/references/timm_resnetd_keys.json): no PyTorch is needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import paddle
import pytest
from paddle.utils import download

from helpers import assert_close_to_scale, constant_init, run_cli
from helpers.tiers import representatives
from references import closed_form, paddleclas
from references.published import PADDLECLAS_PUBLISHED, TIMM_PUBLISHED_PARAMS_M
from paddle_resnet import (ResNetConfig, count_params, create_model, freeze, load_weights, resnet18_vd, save_weights)
from paddle_resnet.weights import IncompatibleWeightsError, WeightsDownloadError, WeightsWarning, official
from paddle_resnet.weights.adapt import adapt_conv_weight
from paddle_resnet.weights.naming import to_paddle_naming

RESNET_D = sorted(closed_form.RESNET_D)
TIMM = json.loads((Path(__file__).parent / "references" / "timm_resnetd_keys.json").read_text())["models"]
#: timm's model -> our row with the same network.
TIMM_ROWS = {"resnet18d": "resnet18d", "resnet34d": "resnet34d", "resnet50d": "resnet50_vd"}

_MISSING_PADDLECLAS = paddleclas.unavailable_reason()
needs_paddleclas = pytest.mark.skipif(_MISSING_PADDLECLAS is not None, reason=str(_MISSING_PADDLECLAS))


def _lazy(name, **options):
    """Our model with its structure only (no weights: fast)."""
    with paddle.LazyGuard():
        return create_model(name, **options)


def _shapes(model):
    return {key: list(value.shape) for key, value in model.state_dict().items()}


def _stand_ins(model):
    """A state dict of zero-memory stand-ins with the tensor shapes of ``model`` (for naming and layout checks)."""
    return {key: np.broadcast_to(np.float32(0), value.shape) for key, value in model.state_dict().items()}


def _randomise_statistics(model, seed):
    """BatchNorm statistics and affine parameters made random too (they are constants after init), so that a
    misplaced or skipped BatchNorm tensor changes the output; convolutions keep their random init."""
    rng = np.random.RandomState(seed)
    for key, value in model.state_dict().items():
        if value.ndim == 1 and not key.startswith(("fc.", "out.")):
            low, high = (0.5, 1.5) if key.endswith(("_variance", "weight")) else (-0.2, 0.2)
            value.set_value(rng.uniform(low, high, value.shape).astype("float32"))
    return model


def _logits(model, images):
    model.eval()
    with paddle.no_grad():
        return model(paddle.to_tensor(images)).numpy()


def _images(size, channels=3, seed=0):
    return np.random.RandomState(seed).standard_normal((2, channels, size, size)).astype("float32")


# --------------------------------------------------------------------------------------- structure

@pytest.mark.parametrize("name", RESNET_D)
def test_parameter_counts_match_the_published_ones(name):
    trainable = count_params(_lazy(name)).trainable
    if name in PADDLECLAS_PUBLISHED:
        assert round(trainable / 1e6, 2) == PADDLECLAS_PUBLISHED[name][0]
    if name in TIMM_PUBLISHED_PARAMS_M:
        assert round(trainable / 1e6, 2) == TIMM_PUBLISHED_PARAMS_M[name][1]
    assert name in PADDLECLAS_PUBLISHED or name in TIMM_PUBLISHED_PARAMS_M


def test_the_two_layouts_differ_exactly_where_the_libraries_do():
    counts = {name: count_params(_lazy(name)).trainable for name in ("resnet18_vd", "resnet18d", "resnet34_vd",
                                                                       "resnet34d", "resnet200_vd", "resnet200d",
                                                                       "resnet50_vd", "resnet50")}
    # PaddleClas's extra 64 -> 64 projection on layer1's first block: a 1x1 conv and a BatchNorm's weight and bias.
    assert counts["resnet18_vd"] - counts["resnet18d"] == 64 * 64 + 2 * 64 == 4_224
    assert counts["resnet34_vd"] - counts["resnet34d"] == 4_224
    assert counts["resnet18d"] == TIMM["resnet18d"]["params"] and counts["resnet34d"] == TIMM["resnet34d"]["params"]
    # Same MACs (a bottleneck block costs the same in every stage) but 12 blocks moved from layer2 to layer3.
    assert counts["resnet200_vd"] - counts["resnet200d"] == 10_045_440
    # The deep stem (3x3 convs 3->32->32->64 and two more BatchNorms) against the 7x7 conv; the average pool has
    # no parameters.
    assert counts["resnet50_vd"] - counts["resnet50"] == (27 * 32 + 9 * 32 * 32 + 9 * 32 * 64 + 4 * 32) - 49 * 3 * 64
    assert counts["resnet50_vd"] == TIMM["resnet50d"]["params"]


def test_layers_are_named_as_timm_names_them():
    model = _lazy("resnet50_vd")
    assert [name for name, _ in model.named_children()][:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert type(model.layer1[0].downsample[0]).__name__ == "Identity"  # stride 1: nothing to pool
    pool = model.layer2[0].downsample[0]
    assert type(pool).__name__ == "AvgPool2D" and pool.ceil_mode and pool.exclusive
    assert [model.layer2[0].downsample[i].__class__.__name__ for i in (1, 2)] == ["Conv2D", "BatchNorm2D"]
    assert model.layer2[0].downsample[1]._stride == [1, 1]
    assert model.layer2[0].conv2._stride == [2, 2] and model.layer2[0].conv1._stride == [1, 1]  # ResNet-B
    assert _lazy("resnet18_vd").layer1[0].downsample is not None and _lazy("resnet18d").layer1[0].downsample is None


def test_the_shortcut_pool_rounds_up_and_averages_only_pixels_inside_the_input():
    pool = create_model("resnet18_vd").layer2[0].downsample[0]
    x = np.arange(25, dtype="float32").reshape(1, 1, 5, 5)
    out = pool(paddle.to_tensor(x)).numpy()[0, 0]
    expected = np.array([[x[0, 0, i:i + 2, j:j + 2].mean() for j in range(0, 5, 2)] for i in range(0, 5, 2)])
    np.testing.assert_allclose(out, expected, rtol=1e-6)  # 5 -> 3; the last row and column average 2 or 1 pixels
    assert out[2, 2] == x[0, 0, 4, 4]


def test_options_combine_with_other_rows():
    """ResNet-C and ResNet-D tweaks on any ImageNet row: Bag of Tricks' ResNet-50-C, a ResNeXt-D."""
    stem_difference = count_params(_lazy("resnet50_vd")).total - count_params(_lazy("resnet50")).total
    resnext_d = create_model("resnext50_32x4d", stem="deep", downsample="avgpool")
    assert count_params(resnext_d).total - count_params(_lazy("resnext50_32x4d")).total == stem_difference
    assert list(resnext_d(paddle.rand([1, 3, 33, 33])).shape) == [1, 1000]
    resnet50_c = _lazy("resnet50", stem="deep")
    assert count_params(resnet50_c) == count_params(_lazy("resnet50_vd"))  # C and D differ in MACs only
    assert type(resnet50_c.layer2[0].downsample[0]).__name__ == "Conv2D"
    plain_paddleclas_18 = _lazy("resnet18", first_block_projection=True)
    assert count_params(plain_paddleclas_18).trainable - count_params(_lazy("resnet18")).trainable == 4_224
    cifar_resnet18 = create_model("resnet18", stem="cifar", num_classes=10)  # the usual CIFAR adaptation
    assert list(cifar_resnet18(paddle.rand([1, 3, 32, 32])).shape) == [1, 10]


@pytest.mark.parametrize("call, message", [
    (lambda: create_model("resnet20", stem="deep"), "stem='deep' for resnet20: resnet20 is a CIFAR-10 network"),
    (lambda: create_model("resnet56", stem="imagenet"), "CIFAR rows accept only stem='cifar'"),
    (lambda: create_model("resnet50", stem="stacked"), "'imagenet', 'deep', 'cifar'"),
    (lambda: create_model("resnet50", downsample="maxpool"), "'conv', 'avgpool'"),
    (lambda: create_model("resnet50_vd", shortcut="A"), "shortcut='A' with downsample='avgpool'"),
    (lambda: create_model("resnet20", first_block_projection=True), "option A shortcuts are parameter-free"),
    (lambda: create_model("resnet18", first_block_projection=1), "first_block_projection=1: expected True or False"),
    (lambda: ResNetConfig("basic", (1,), (64,), stem="deep", stem_width=63), "stem_width=63"),
])
def test_combinations_that_make_no_sense_are_refused(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_summary_verify_and_freeze_see_the_deep_stem_as_the_stem(capsys):
    code, out, _ = run_cli(capsys, "summary", "resnet50_vd", "--depth", "stages", "--input-size", "64")
    stem_params = sum(r.params for r in closed_form.describe("resnet50_vd").rows if r.stage == "stem")
    assert code == 0 and f"{stem_params:,}" in out  # the three stem convs and their BatchNorms, one row
    code, out, _ = run_cli(capsys, "verify", "--only", "resnet18_vd,resnet200d")
    assert code == 0, out
    model = resnet18_vd(num_classes=2)
    assert freeze(model, "stem") == ["stem"]
    assert model.conv1[0].weight.stop_gradient and model.conv1[1]._use_global_stats is True
    assert model.bn1.weight.stop_gradient and not model.layer1[0].conv1.weight.stop_gradient
    freeze(model, "layer4")
    assert count_params(model).trainable == 512 * 2 + 2


@pytest.mark.slow  # fast sibling: test_train.py's tiny runs and this file's resnet18_vd forward tests
def test_training_runs_on_a_resnet_d_row(tmp_path):
    from helpers.images import make_image_folder
    from paddle_resnet.training import TrainConfig, train

    data = make_image_folder(tmp_path / "data", per_class=4, size=24)
    result = train(TrainConfig(data=str(data), model="resnet18_vd", epochs=1, warmup_epochs=0, batch_size=4,
                               input_size=24, num_workers=0, val_split=0.25, out=str(tmp_path / "run")),
                   stream=open(os.devnull, "w"))
    assert (tmp_path / "run" / "last" / "model.safetensors").is_file()
    assert np.isfinite(result.history[-1]["train_loss"])


# ------------------------------------------------------------------------------------ PaddleClas weights

def test_the_paddleclas_reference_is_there_when_ci_requires_it():
    """.ci/run installs PaddleClas and sets PADDLE_RESNET_REQUIRE_PADDLECLAS, so that the equivalence tests below
    cannot silently skip in CI; elsewhere they skip with the install command."""
    if os.environ.get("PADDLE_RESNET_REQUIRE_PADDLECLAS") and _MISSING_PADDLECLAS:
        pytest.fail(_MISSING_PADDLECLAS)


@needs_paddleclas
@pytest.mark.parametrize("name", representatives(["resnet18_vd", "resnet50_vd", "resnet18d", "resnet50"],
                                                  fast=["resnet18_vd"]))
def test_paddleclas_weights_give_identical_logits(name, tmp_path):
    paddle.seed(3)
    theirs = _randomise_statistics(paddleclas.build(name), seed=3)
    path = str(tmp_path / "paddleclas.pdparams")
    paddle.save(theirs.state_dict(), path)  # the file PaddleClas's own save/load writes and reads
    ours = create_model(name, pretrained=path)
    report = load_weights(create_model(name), path)
    assert report.ok and report.naming == "paddleclas" and len(report.loaded) == len(theirs.state_dict())
    for size in (64, 65):  # 65: odd maps in every stage, where the pools' rounding matters
        expected = _logits(theirs, _images(size))
        assert_close_to_scale(_logits(ours, _images(size)), expected)  # measured: identical
    other = create_model(name)  # control: other weights, visibly other logits
    assert np.abs(_logits(other, _images(65)) - expected).max() > 1e-2 * np.abs(expected).max()


@needs_paddleclas
@pytest.mark.parametrize("name", representatives(sorted(paddleclas.ROWS) + ["resnet200d"]))
def test_every_paddleclas_network_has_our_keys_and_shapes(name):
    with paddle.LazyGuard():
        theirs = paddleclas.build(name)
    converted, naming = to_paddle_naming(_stand_ins(theirs), _lazy(name))
    assert naming == "paddleclas"
    assert {key: list(value.shape) for key, value in converted.items()} == _shapes(_lazy(name))


GOLDEN = json.loads((Path(__file__).parent / "golden" / "architectures.json").read_text())["architectures"]
_LAYERS_WITH_SETTINGS = ("Conv2D", "AvgPool2D", "MaxPool2D", "Linear")


@needs_paddleclas
@pytest.mark.parametrize("name", representatives(RESNET_D))
def test_golden_and_closed_form_match_paddleclas_built_side_by_side(name):
    """The golden parameter counts against PaddleClas's paddle.summary, and every convolution, pool and linear
    layer of the closed form (kernel, stride, padding, groups, output shape, parameters, in order: what the
    layer rows record) against PaddleClas's network traced with its kernels running."""
    from references.published import summary_params
    from paddle_resnet.analysis.trace import trace

    with constant_init():
        theirs = paddleclas.build(name)
    assert summary_params(theirs, (1, 3, 64, 64)) == GOLDEN[name]["values"]["params"]
    traced = [(c.type, c.output_shape, c.params, c.settings) for c in trace(theirs, (1, 3, 64, 64), "eager")
              if c.type in _LAYERS_WITH_SETTINGS]
    described = [(r.layer, r.output_shape, r.params, r.settings) for r in closed_form.describe_resnet_d(name, 64).rows
                 if r.layer in _LAYERS_WITH_SETTINGS]
    assert traced == described


@needs_paddleclas
def test_paddleclas_weights_table_is_paddleclas_own():
    urls = paddleclas.load_resnet_module().MODEL_URLS
    for name, (constructor, _) in paddleclas.ROWS.items():
        if name in official.PADDLECLAS_WEIGHTS and name.endswith("_vd"):
            assert official.PADDLECLAS_WEIGHTS[name]["imagenet"] == urls[constructor]
            if "ssld" in official.PADDLECLAS_WEIGHTS[name]:  # PaddleClas's use_ssld=True rewrites the name so
                assert official.PADDLECLAS_WEIGHTS[name]["ssld"] == urls[constructor].replace("_pretrained",
                                                                                              "_ssld_pretrained")


@needs_paddleclas
def test_paddleclas_resnet18_into_our_resnet18_says_what_does_not_fit(tmp_path):
    paddle.seed(4)
    theirs = _randomise_statistics(paddleclas.load_resnet_module().ResNet18(), seed=4)  # not a row of ours
    with pytest.raises(IncompatibleWeightsError) as error:
        load_weights(create_model("resnet18"), theirs.state_dict())
    message = str(error.value)
    assert "layer1.0.downsample.0.weight" in message and "first_block_projection=True" in message
    ours = create_model("resnet18", first_block_projection=True)
    assert load_weights(ours, theirs.state_dict()).ok
    np.testing.assert_allclose(_logits(ours, _images(33)), _logits(theirs, _images(33)), rtol=1e-5, atol=1e-5)


@needs_paddleclas
def test_paddleclas_resnet200_vd_is_not_timms_resnet200d():
    with paddle.LazyGuard():
        theirs = paddleclas.build("resnet200_vd")
    with constant_init():
        ours = create_model("resnet200d")
    with pytest.raises(IncompatibleWeightsError, match=r"blocks per stage differ: layer2 blocks 12\.\.23 .*; "
                                                       r"layer3 blocks 36\.\.47"):
        load_weights(ours, _stand_ins(theirs))


def _paddleclas_2_0_names(state, block_depth, deep_stem, depth):
    """PaddleClas 2.0's names (ppcls/arch/backbone/model_zoo/resnet_vd.py and resnet.py of PaddleClas 2.0) for a
    state dict in PaddleClas >= 2.1's names, written from that source: ``conv1_1`` ... (vd stem) or ``conv``
    (7x7 stem), blocks ``bb_<stage>_<i>`` (vd) or ``res<stage+2><a, b, ...>`` (plain; ``res4a, res4b1 ...`` in
    stage 3 of 101/152), ``_conv`` / ``_batch_norm`` for ``conv`` / ``bn``, the classifier ``out``."""
    position = [(stage, i) for stage, count in enumerate(block_depth) for i in range(count)]
    renamed = {}
    for key, value in state.items():
        parts = key.split(".")
        leaf = {"conv": "_conv", "bn": "_batch_norm"}
        if parts[0] == "stem":
            name = f"conv1_{int(parts[1]) + 1}" if deep_stem else "conv"
            key = ".".join([name, leaf[parts[2]], *parts[3:]])
        elif parts[0] == "blocks":
            stage, i = position[int(parts[1])]
            if deep_stem:
                block = f"bb_{stage}_{i}"
            elif depth in (101, 152) and stage == 2:
                block = "res4a" if i == 0 else f"res4b{i}"
            else:
                block = f"res{stage + 2}{chr(97 + i)}"
            key = ".".join([block, parts[2], leaf[parts[3]], *parts[4:]])
        elif parts[0] == "fc":
            key = "out." + parts[1]
        renamed[key] = value
    return renamed


@pytest.mark.slow  # fast sibling: test_paddleclas_2_0_naming_of_every_depth_has_our_keys
@needs_paddleclas
def test_paddleclas_2_0_naming_gives_identical_logits():
    paddle.seed(5)
    theirs = _randomise_statistics(paddleclas.build("resnet50_vd"), seed=5)
    state = _paddleclas_2_0_names(theirs.state_dict(), theirs.block_depth, deep_stem=True, depth=50)
    assert "bb_3_2.conv2._batch_norm._variance" in state and "conv1_3._conv.weight" in state
    ours = create_model("resnet50_vd")
    report = load_weights(ours, state)
    assert report.ok and report.naming == "paddleclas-2.0"
    np.testing.assert_allclose(_logits(ours, _images(65)), _logits(theirs, _images(65)), rtol=1e-5, atol=1e-5)


@needs_paddleclas
@pytest.mark.parametrize("name, depth, deep_stem", [("resnet101", 101, False),
                                                    pytest.param("resnet200_vd", 200, True, marks=pytest.mark.slow),
                                                    ("resnet18_vd", 18, True)])  # resnet18_vd: the deep stem, fast
def test_paddleclas_2_0_naming_of_every_depth_has_our_keys(name, depth, deep_stem):
    with paddle.LazyGuard():
        theirs = paddleclas.build(name)
    state = _paddleclas_2_0_names(_stand_ins(theirs), theirs.block_depth, deep_stem, depth)
    converted, naming = to_paddle_naming(state, _lazy(name))
    assert naming == "paddleclas-2.0"
    assert {key: list(value.shape) for key, value in converted.items()} == _shapes(_lazy(name))


# ------------------------------------------------------------------------------------------ timm weights

def _timm_state(name, seed):
    """Random tensors with exactly the keys and shapes of timm's ``name`` (PyTorch layout)."""
    rng = np.random.RandomState(seed)
    return {key: (np.array(7, dtype=np.int64) if key.endswith("num_batches_tracked")
                  else rng.standard_normal(shape).astype("float32")) for key, shape in TIMM[name]["keys"]}


@pytest.mark.parametrize("timm_name", representatives(sorted(TIMM)))
def test_timm_resnet_d_safetensors_load_into_the_matching_row(timm_name, tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    state = _timm_state(timm_name, seed=6)
    path = str(tmp_path / "model.safetensors")
    safetensors_numpy.save_file(state, path)  # as timm publishes them on the Hugging Face Hub
    with constant_init():
        model = create_model(TIMM_ROWS[timm_name])
    report = load_weights(model, path)
    assert report.ok and report.naming == "torchvision"
    ours = {key: value.numpy() for key, value in model.state_dict().items()}
    paddle_key = {"running_mean": "_mean", "running_var": "_variance"}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        prefix, _, leaf = key.rpartition(".")
        expected = value.T if key == "fc.weight" else value  # timm's Linear is [out, in]
        np.testing.assert_array_equal(ours[f"{prefix}.{paddle_key.get(leaf, leaf)}"], expected, err_msg=key)


def test_timm_resnet18d_into_resnet18_vd_names_the_option():
    with constant_init():
        model = create_model("resnet18_vd")
    with pytest.raises(IncompatibleWeightsError, match=r"first_block_projection=False \(rows resnet18d"):
        load_weights(model, _timm_state("resnet18d", seed=7))


def test_plain_weights_into_a_resnet_d_row_name_the_options():
    with constant_init():
        source, model = create_model("resnet50"), create_model("resnet50_vd")
    with pytest.raises(IncompatibleWeightsError) as error:
        load_weights(model, source.state_dict())
    assert "build with stem='imagenet'" in str(error.value) and "build with downsample='conv'" in str(error.value)


# ------------------------------------------------------------------------------ other input channels

@pytest.mark.parametrize("channels, row", [
    # timm's adapt_input_conv (timm 1.0.31, _manipulate.py) run on the kernel rows [1, 2, 3] and [10, 20, 30]
    (2, [1.5, 3.0]), (5, [0.6, 1.2, 1.8, 0.6, 1.2]), (6, [0.5, 1.0, 1.5, 0.5, 1.0, 1.5]),
])
def test_kernel_adaptation_is_timms(channels, row):
    weight = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]], dtype="float32").reshape(2, 3, 1, 1)
    adapted = adapt_conv_weight(weight, channels)
    np.testing.assert_allclose(adapted[0, :, 0, 0], row, rtol=1e-6)
    np.testing.assert_allclose(adapted[1, :, 0, 0], np.array(row) * 10, rtol=1e-6)
    assert adapted.dtype == weight.dtype


@pytest.mark.parametrize("name", representatives(["resnet18_vd", "resnet18"], fast=["resnet18_vd"]))
def test_rgb_weights_load_into_a_grayscale_model_that_sees_gray_as_rgb_did(name, tmp_path):
    paddle.seed(8)
    rgb = _randomise_statistics(create_model(name), seed=8)
    path = save_weights(rgb, tmp_path / "rgb.safetensors")
    with pytest.warns(WeightsWarning, match=r"adapted to the model's input channels: conv1(\.0)?\.weight "
                                            r"\[\d+, 3, \d, \d\] -> \[\d+, 1, \d, \d\]: the RGB kernel summed"):
        gray = create_model(name, in_channels=1, pretrained=str(path))
    images = _images(33, channels=1)
    assert_close_to_scale(_logits(gray, images), _logits(rgb, np.repeat(images, 3, axis=1)))
    with pytest.warns(WeightsWarning):
        report = load_weights(create_model(name, in_channels=4), str(path))
    assert report.ok and list(report.adapted) == [f"conv1{'.0' if name.endswith('_vd') else ''}.weight"]


# ------------------------------------------------------------------------------------------- downloads

def _publish_paddleclas(server, monkeypatch, variant="imagenet", seed=9):
    """Serve random resnet18_vd weights as PaddleClas's ``variant`` file; return their state dict."""
    paddle.seed(seed)
    published = _randomise_statistics(create_model("resnet18_vd"), seed)
    filename = f"ResNet18_vd_{'ssld_' if variant == 'ssld' else ''}pretrained.pdparams"
    save_weights(published, server.root / filename)
    urls = dict(official.PADDLECLAS_WEIGHTS["resnet18_vd"], **{variant: f"{server.url}/{filename}"})
    monkeypatch.setitem(official.PADDLECLAS_WEIGHTS, "resnet18_vd", urls)
    return {key: value.numpy() for key, value in published.state_dict().items()}, filename


def _same(model, expected):
    actual = {key: value.numpy() for key, value in model.state_dict().items()}
    return all(np.array_equal(actual[key], expected[key]) for key in expected)


def test_pretrained_fetches_paddleclas_weights_once_and_records_their_sha256(server, monkeypatch):
    expected, filename = _publish_paddleclas(server, monkeypatch)
    assert _same(resnet18_vd(pretrained=True), expected)
    cached = os.path.join(download.WEIGHTS_HOME, "paddleclas", filename)
    record = open(cached + ".sha256").read().split()
    assert record == [official._sha256(cached), filename]
    assert _same(resnet18_vd(pretrained=True), expected) and server.requests == [f"/{filename}"]


@pytest.mark.slow  # fast sibling: test_pretrained_fetches_paddleclas_weights_once_and_records_their_sha256
def test_a_changed_cached_paddleclas_file_is_fetched_again(server, monkeypatch):
    expected, filename = _publish_paddleclas(server, monkeypatch)
    resnet18_vd(pretrained=True)
    cached = os.path.join(download.WEIGHTS_HOME, "paddleclas", filename)
    with open(cached, "r+b") as file:  # a bad disk or a partial copy
        file.seek(os.path.getsize(cached) // 2)
        file.write(b"\x00garbage\x00")
    assert _same(resnet18_vd(pretrained=True), expected) and len(server.requests) == 2

    (server.root / filename).write_bytes(b"PaddleClas replaced the file")  # now the server disagrees too
    with open(cached, "r+b") as file:
        file.write(b"\x00garbage\x00")
    with pytest.raises(WeightsDownloadError, match=r"the first download \(recorded in .*sha256\) had [0-9a-f]{64}.*"
                                                   r"delete .*\.sha256 to accept the new one"):
        resnet18_vd(pretrained=True)


@pytest.mark.slow  # fast sibling: test_pretrained_fetches_paddleclas_weights_once_and_records_their_sha256
def test_ssld_weights_where_paddleclas_publishes_them(server, monkeypatch):
    expected, filename = _publish_paddleclas(server, monkeypatch, variant="ssld")
    assert "ssld" in filename and _same(resnet18_vd(pretrained="ssld"), expected)
    monkeypatch.setitem(official.PADDLECLAS_WEIGHTS, "resnet18_vd", {"imagenet": "unused"})
    with pytest.raises(ValueError, match=r"no SSLD weights for 'resnet18_vd': PaddleClas publishes them for "
                                         r"resnet34_vd, resnet50_vd, resnet101_vd"):
        resnet18_vd(pretrained="ssld")
    with pytest.raises(ValueError, match="no SSLD weights for 'resnet50'"):
        create_model("resnet50", pretrained="ssld")


@pytest.mark.slow  # fast sibling: test_weights.py::test_unreachable_server_names_url_and_where_to_put_the_file
def test_offline_paddleclas_download_says_where_to_put_the_file(tmp_path, monkeypatch):
    import socket

    monkeypatch.setattr(download, "WEIGHTS_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "DOWNLOAD_RETRY_LIMIT", 1)
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/ResNet18_vd_pretrained.pdparams"
    monkeypatch.setitem(official.PADDLECLAS_WEIGHTS, "resnet18_vd", {"imagenet": url})
    cached = os.path.join(str(tmp_path / "cache"), "paddleclas", "ResNet18_vd_pretrained.pdparams")
    with pytest.raises(WeightsDownloadError) as error:
        resnet18_vd(pretrained=True)
    assert url in str(error.value) and f"place it at {cached}" in str(error.value)
    assert "PaddleClas publishes no checksum" in str(error.value)
    published = _randomise_statistics(create_model("resnet18_vd"), 10)
    save_weights(published, cached)  # following that advice works offline
    assert _same(resnet18_vd(pretrained=True), {k: v.numpy() for k, v in published.state_dict().items()})
    assert os.path.isfile(cached + ".sha256")


def test_training_config_accepts_the_paddleclas_weights():
    from paddle_resnet.training import TrainConfig

    TrainConfig(model="resnet50_vd", pretrained=True)
    TrainConfig(model="resnet50_vd", pretrained="ssld")
    with pytest.raises(ValueError, match=r"pretrained='ssld': there are no official weights for resnet18_vd, only "
                                         r"for resnet34_vd, resnet50_vd, resnet101_vd"):
        TrainConfig(model="resnet18_vd", pretrained="ssld")
