"""Pretrained weights, load_weights / save_weights, torchvision naming, and the safetensors reader/writer.

No network: downloads are served from a temporary HTTP server on 127.0.0.1 (the ``server`` fixture of
conftest.py) into a temporary cache.
"""

import hashlib
import io
import json
import os
import socket
import stat
import struct
import warnings

import numpy as np
import paddle
import pytest
from paddle.utils import download

from helpers import assert_close_to_scale
from helpers.tiers import representatives
from paddle_resnet import create_model, load_weights, resnet18, resnet20, save_weights
from paddle_resnet.weights import IncompatibleWeightsError, WeightsDownloadError, WeightsWarning, official
from paddle_resnet.weights import safetensors as safetensors_io
from paddle_resnet.weights.pytorch_cifar import from_pytorch_cifar
from references import akamaster_cifar


# ----------------------------------------------------------------------------------------------- helpers

def _state(model):
    return {key: value.numpy().copy() for key, value in model.state_dict().items()}


def _assert_same_state(model, expected, keys=None):
    actual = _state(model)
    for key in keys or expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def _outputs(model, size=32):
    model.eval()
    return model(paddle.to_tensor(np.random.RandomState(0).randn(2, 3, size, size).astype("float32"))).numpy()


def _torchvision_state(model):
    """The state dict PyTorch's torchvision / timm ResNet would have for ``model``, built here in numpy:
    BatchNorm statistics named running_mean / running_var plus a num_batches_tracked counter, and the
    classifier weight stored [out, in]."""
    state = {}
    for key, value in _state(model).items():
        if key.endswith("._mean"):
            state[key[:-len("._mean")] + ".running_mean"] = value
            state[key[:-len("._mean")] + ".num_batches_tracked"] = np.array(12345, dtype=np.int64)
        elif key.endswith("._variance"):
            state[key[:-len("._variance")] + ".running_var"] = value
        elif key == "fc.weight":
            state[key] = np.ascontiguousarray(value.T)
        else:
            state[key] = value
    return state


def _md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def _randomise(model, seed):
    """Random values everywhere, BN statistics included, so that a skipped or misplaced tensor shows."""
    rng = np.random.RandomState(seed)
    for value in model.state_dict().values():
        value.set_value((rng.rand(*value.shape) + 0.5).astype("float32"))
    return model


# ----------------------------------------------------------------------------------- the official table

def test_official_table_equals_paddle_vision():
    from paddle.vision.models import resnet as vision_resnet

    assert official.OFFICIAL_WEIGHTS == {name: tuple(entry) for name, entry in vision_resnet.model_urls.items()}


def test_architectures_without_official_weights_name_those_with_them():
    listed = "resnet18, resnet34, resnet50, .*wide_resnet101_2"
    with pytest.raises(ValueError, match=f"no official pretrained weights for 'resnet20'.*{listed}"):
        create_model("resnet20", pretrained=True)
    with pytest.raises(ValueError, match=f"no official pretrained weights for 'resnext101_32x8d'.*{listed}"):
        official.official_weights_path("resnext101_32x8d")  # what the builder calls (building it takes a while)


def test_official_weights_refuse_options_that_change_the_trained_architecture():
    with pytest.raises(ValueError, match="stride_on='3x3'.*stride_on='1x1'"):
        create_model("resnet50", pretrained=True, stride_on="1x1")
    with pytest.raises(ValueError, match="shortcut='B'.*shortcut='A'"):
        create_model("resnet18", pretrained=True, shortcut="A")
    # in_channels is not refused: the first conv's RGB kernel is adapted (tests/test_vd.py).


def test_official_weights_accept_an_option_that_changes_no_layer():
    """first_block_projection adds a layer only where a first block keeps its shape: in ResNet-34_vd, not in
    ResNet-50_vd, whose first blocks project anyway (checked before any download)."""
    with paddle.LazyGuard():
        same = create_model("resnet50_vd", first_block_projection=False)
        different = create_model("resnet34_vd", first_block_projection=False)
        assert same.state_dict().keys() == create_model("resnet50_vd").state_dict().keys()
    official.check_official(same, "resnet50_vd")
    with pytest.raises(ValueError, match="trained with first_block_projection=True"):
        official.check_official(different, "resnet34_vd")


def test_paddle_vision_state_dict_loads_unchanged_and_gives_the_same_outputs():
    paddle.seed(1)
    reference = _randomise(paddle.vision.models.resnet18(num_classes=10), seed=1)
    model = resnet18(num_classes=10)
    report = load_weights(model, reference.state_dict())
    assert report.ok and report.naming == "paddle" and len(report.loaded) == len(reference.state_dict())
    np.testing.assert_allclose(_outputs(model), _outputs(reference), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- download through HTTP

def _publish(server, monkeypatch, name="resnet20", md5=None):
    """Serve random resnet20 weights as the official file of ``name``; return their state dict."""
    paddle.seed(2)
    published = _randomise(resnet20(), seed=2)
    path = save_weights(published, server.root / f"{name}.pdparams")
    monkeypatch.setitem(official.OFFICIAL_WEIGHTS, name,
                        (f"{server.url}/{name}.pdparams", md5 or _md5(path)))
    return _state(published)


def test_pretrained_downloads_once_then_uses_the_cache(server, monkeypatch):
    expected = _publish(server, monkeypatch)
    model = resnet20(pretrained=True)
    _assert_same_state(model, expected)
    cached = os.path.join(download.WEIGHTS_HOME, "resnet20.pdparams")
    assert os.path.isfile(cached) and server.requests == ["/resnet20.pdparams"]

    _assert_same_state(create_model("resnet20", pretrained=True), expected)
    assert len(server.requests) == 1  # served from the cache


def test_a_corrupt_cached_file_is_fetched_again(server, monkeypatch):
    expected = _publish(server, monkeypatch)
    resnet20(pretrained=True)
    cached = os.path.join(download.WEIGHTS_HOME, "resnet20.pdparams")
    with open(cached, "r+b") as file:  # flip some bytes in the middle, as a bad disk or partial copy would
        file.seek(os.path.getsize(cached) // 2)
        file.write(b"\x00garbage\x00")
    _assert_same_state(resnet20(pretrained=True), expected)
    assert len(server.requests) == 2
    assert _md5(cached) == official.OFFICIAL_WEIGHTS["resnet20"][1]


def test_md5_mismatch_raises_naming_url_cache_path_and_checksums(server, monkeypatch):
    _publish(server, monkeypatch, md5="0" * 32)
    url = official.OFFICIAL_WEIGHTS["resnet20"][0]
    cached = os.path.join(download.WEIGHTS_HOME, "resnet20.pdparams")
    with pytest.raises(WeightsDownloadError) as error:
        resnet20(pretrained=True)
    message = str(error.value)
    assert url in message and cached in message and "0" * 32 in message
    assert _md5(cached) in message
    assert len(server.requests) >= 2  # Paddle fetched it again before giving up


def test_unreachable_server_names_url_and_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "WEIGHTS_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "DOWNLOAD_RETRY_LIMIT", 1)  # Paddle sleeps 1 s between tries
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/resnet20.pdparams"
    monkeypatch.setitem(official.OFFICIAL_WEIGHTS, "resnet20", (url, "0" * 32))
    with pytest.raises(WeightsDownloadError) as error:
        resnet20(pretrained=True)
    cached = os.path.join(str(tmp_path / "cache"), "resnet20.pdparams")
    assert url in str(error.value) and f"place it at {cached} with md5 {'0' * 32}" in str(error.value)

    # Following that advice works offline.
    published = _randomise(resnet20(), seed=3)
    save_weights(published, cached)
    monkeypatch.setitem(official.OFFICIAL_WEIGHTS, "resnet20", (url, _md5(cached)))
    _assert_same_state(resnet20(pretrained=True), _state(published))


def test_pretrained_url_of_any_file_is_cached_per_url(server, monkeypatch):
    (server.root / "a").mkdir(), (server.root / "b").mkdir()
    first, second = _randomise(resnet20(), 4), _randomise(resnet20(), 5)
    save_weights(first, server.root / "a" / "model.safetensors")
    save_weights(second, server.root / "b" / "model.safetensors")
    _assert_same_state(resnet20(pretrained=f"{server.url}/a/model.safetensors"), _state(first))
    _assert_same_state(resnet20(pretrained=f"{server.url}/b/model.safetensors"), _state(second))
    _assert_same_state(resnet20(pretrained=f"{server.url}/a/model.safetensors"), _state(first))
    assert server.requests == ["/a/model.safetensors", "/b/model.safetensors"]


# ------------------------------------------------------------------------------ heads and out_stages

def test_pretrained_with_another_num_classes_loads_the_backbone_and_warns_about_the_head(tmp_path):
    source = _randomise(resnet18(), 6)
    path = save_weights(source, tmp_path / "r18.pdparams")
    paddle.seed(0)
    fresh_head = resnet18(num_classes=3).fc.weight.numpy()
    paddle.seed(0)
    with pytest.warns(WeightsWarning, match=r"fc\.weight \(weights \[512, 1000\], model \[512, 3\]\).*fc\.bias"):
        model = resnet18(pretrained=str(path), num_classes=3)
    expected = _state(source)
    _assert_same_state(model, expected, keys=[k for k in expected if not k.startswith("fc.")])
    np.testing.assert_array_equal(model.fc.weight.numpy(), fresh_head)  # the head is untouched


def test_load_weights_non_strict_returns_the_report(tmp_path):
    source = _randomise(resnet18(), 6)
    model = resnet18(num_classes=3)
    with pytest.warns(WeightsWarning):
        report = load_weights(model, source.state_dict(), strict=False)
    assert report.mismatched == {"fc.weight": ((512, 1000), (512, 3)), "fc.bias": ((1000,), (3,))}
    assert report.missing == [] and report.unexpected == [] and not report.ok
    assert len(report.loaded) == len(source.state_dict()) - 2


def test_pretrained_feature_backbone_ignores_head_and_unbuilt_stages(tmp_path):
    source = _randomise(resnet18(), 7)
    path = save_weights(source, tmp_path / "r18.safetensors")
    with pytest.warns(WeightsWarning, match=r"ignored \(52\): layer3\.\* \(25 keys\), layer4\.\* \(25 keys\), "
                                            r"fc\.\* \(2 keys\)"):
        backbone = create_model("resnet18", pretrained=str(path), out_stages=(1, 2))
    _assert_same_state(backbone, _state(source), keys=list(backbone.state_dict()))


def test_pretrained_refuses_weights_that_do_not_fit_the_backbone(tmp_path):
    path = save_weights(resnet18(), tmp_path / "r18.pdparams")
    with pytest.raises(IncompatibleWeightsError, match=r"offending keys: layer1\.2\.conv1\.weight"):
        create_model("resnet34", pretrained=str(path))  # resnet34 has more blocks: missing keys


# ------------------------------------------------------------------------------------ strict loading

def test_strict_failure_lists_the_keys_and_leaves_the_model_unchanged():
    model = _randomise(resnet18(num_classes=10), 8)
    before = _state(model)
    bad = _state(_randomise(resnet18(num_classes=10), 9))
    del bad["layer2.1.bn2._variance"]
    bad["layer9.weight"] = np.zeros(3, "float32")
    bad["layer3.0.conv1.weight"] = bad["layer3.0.conv1.weight"][:, :, :1, :1]
    with pytest.raises(IncompatibleWeightsError) as error:
        load_weights(model, bad)
    message = str(error.value)
    for key in ("layer2.1.bn2._variance", "layer9.weight", "layer3.0.conv1.weight (weights [256, 128, 1, 1]"):
        assert key in message
    assert error.value.report.missing == ["layer2.1.bn2._variance"]
    assert error.value.report.unexpected == ["layer9.weight"]
    _assert_same_state(model, before)


@pytest.mark.parametrize("bad_value", [np.array(["a"] * 10), np.ones(10, complex), np.array([None] * 10)],
                         ids=["strings", "complex", "objects"])
def test_a_value_that_is_not_a_number_fails_before_anything_is_copied(bad_value):
    """fc.bias comes last: before, every earlier tensor had been copied when its cast failed."""
    model = _randomise(create_model("resnet20"), 8)  # a tiny net: the order of the keys is what matters
    before = _state(model)
    state = _state(_randomise(create_model("resnet20"), 9))
    state["fc.bias"] = bad_value
    with pytest.raises(IncompatibleWeightsError,
                       match=rf"<state dict>: .*nothing was loaded.*fc\.bias \({bad_value.dtype}\)"):
        load_weights(model, state)
    _assert_same_state(model, before)


def test_nan_and_infinite_weights_load_with_a_warning_naming_them():
    model = resnet20()
    state = _state(_randomise(resnet20(), 10))
    state["layer2.0.conv1.weight"][0, 0, 0, 0] = np.nan
    state["fc.bias"][3] = -np.inf
    state["bn1._variance"] = state["bn1._variance"].astype(np.float16)  # checked element by element
    state["bn1._variance"][1] = np.inf
    with pytest.warns(WeightsWarning,
                      match=r"NaN or infinite values \(3\): bn1\._variance, layer2\.0\.conv1\.weight, fc\.bias"):
        report = load_weights(model, state)
    assert report.nonfinite == ["bn1._variance", "layer2.0.conv1.weight", "fc.bias"] and report.ok
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # huge but finite values overflow the fast check: not a false alarm
        big = {key: np.full_like(value, 3e38) for key, value in _state(resnet20()).items()}
        assert load_weights(resnet20(), big).nonfinite == []


def test_prefixed_keys_get_a_hint():
    state = {"module." + key: value for key, value in _state(resnet20()).items()}
    with pytest.raises(IncompatibleWeightsError, match="every key of the weights starts with 'module'"):
        load_weights(resnet20(), state)


# ---------------------------------------------------------------------------------- torchvision naming

def test_torchvision_helper_produces_real_torchvision_key_names():
    keys = set(_torchvision_state(create_model("resnet50")))
    for key in ("conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.downsample.0.weight",
                "layer1.0.downsample.1.running_var", "layer4.2.bn3.running_var", "fc.weight", "fc.bias"):
        assert key in keys
    assert not any(key.endswith(("._mean", "._variance")) for key in keys)


@pytest.mark.parametrize("name", representatives(["resnet18", "resnet50"], fast=["resnet18"]))
def test_torchvision_safetensors_convert_to_identical_outputs(tmp_path, name):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    paddle.seed(10)
    source = _randomise(create_model(name, num_classes=10), 10)  # a non-square head shows a bad transpose
    path = str(tmp_path / "torch.safetensors")
    safetensors_numpy.save_file(_torchvision_state(source), path)  # written by the reference library

    model = create_model(name, num_classes=10)
    report = load_weights(model, path)
    assert report.naming == "torchvision" and report.ok
    _assert_same_state(model, _state(source))
    np.testing.assert_allclose(_outputs(model), _outputs(source), rtol=1e-5, atol=1e-5)


def test_torchvision_file_without_batchnorm_statistics_is_recognised_by_its_transposed_classifier():
    """Only the parameters (torch's ``named_parameters``): no running_mean keys to recognise the naming by, but
    fc.weight is [out, in] where ours is [in, out]."""
    source = _randomise(resnet18(num_classes=10), 11)
    parameters = {key: value for key, value in _torchvision_state(source).items()
                  if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    model = resnet18(num_classes=10)
    with pytest.warns(WeightsWarning):
        report = load_weights(model, parameters, strict=False)
    assert report.naming == "torchvision" and report.mismatched == {}
    assert sorted(report.missing) == sorted(key for key in _state(source) if key.endswith(("_mean", "_variance")))
    np.testing.assert_array_equal(model.fc.weight.numpy(), source.fc.weight.numpy())
    # Paddle-named statistics outweigh a transposed-looking classifier (a square head proves nothing anyway).
    mixed = dict(_state(source), **{"fc.weight": source.fc.weight.numpy().T})
    with pytest.raises(IncompatibleWeightsError, match=r"fc\.weight \(weights \[10, 512\], model \[512, 10\]\)"):
        load_weights(resnet18(num_classes=10), mixed)


def test_torchvision_weights_with_another_head_load_the_backbone_only():
    source = _randomise(resnet18(), 11)
    model = resnet18(num_classes=2)
    with pytest.raises(IncompatibleWeightsError, match=r"fc\.weight \(weights \[512, 1000\], model \[512, 2\]\)"):
        load_weights(model, _torchvision_state(source))
    with pytest.warns(WeightsWarning):
        report = load_weights(model, _torchvision_state(source), strict=False)
    assert sorted(report.mismatched) == ["fc.bias", "fc.weight"] and report.naming == "torchvision"
    _assert_same_state(model, _state(source), keys=[k for k in _state(source) if not k.startswith("fc.")])


# ------------------------------------------------------------------------ PyTorch CIFAR ResNets (akamaster)

@pytest.mark.parametrize("name, blocks", [("resnet20", 3), ("resnet32", 5)])
def test_pytorch_cifar_weights_give_their_logits_after_reordering(tmp_path, name, blocks):
    """Their option-A shortcut pads zeros on both sides, ours appends them: loaded as they are, the weights
    compute something else, with a warning; through from_pytorch_cifar, the reference network's logits."""
    state = akamaster_cifar.random_state(blocks, seed=16)
    x = paddle.to_tensor(np.random.RandomState(1).randn(4, 3, 32, 32).astype("float32"))
    expected = akamaster_cifar.forward(state, x, blocks).numpy()
    path = tmp_path / "akamaster.safetensors"
    with open(path, "wb") as file:
        safetensors_io.dump(state, file)

    model = create_model(name)
    load_weights(model, from_pytorch_cifar(str(path), model))
    model.eval()
    assert_close_to_scale(model(x).numpy(), expected)  # logits of ~600: the naive load below is off by > 60

    renamed = {key[len("module."):].replace("linear.", "fc."): value for key, value in state.items()}
    naive = create_model(name)
    with pytest.warns(WeightsWarning, match="pad both sides.*from_pytorch_cifar"):
        assert load_weights(naive, renamed).ok  # every key fits: only the logits show the difference
    naive.eval()
    assert np.abs(naive(x).numpy() - expected).max() > 0.1 * np.abs(expected).max()


def test_pytorch_cifar_conversion_refuses_a_model_without_padding_shortcuts():
    with pytest.raises(ValueError, match="no option-A shortcut that pads"):
        from_pytorch_cifar(akamaster_cifar.random_state(), create_model("resnet20", shortcut="B"))


# ------------------------------------------------------------------------------------------ saving

@pytest.mark.parametrize("suffix", [".pdparams", ".safetensors"])
def test_save_then_load_round_trips(tmp_path, suffix):
    source = _randomise(resnet20(), 12)
    path = save_weights(source, tmp_path / f"w{suffix}")
    model = resnet20()
    assert load_weights(model, path).ok
    _assert_same_state(model, _state(source))
    assert os.listdir(tmp_path) == [f"w{suffix}"]  # no temporary file left behind


def test_saved_safetensors_read_by_the_reference_library(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    source = _randomise(resnet20(), 13)
    path = save_weights(source, tmp_path / "w.safetensors")
    loaded = safetensors_numpy.load_file(str(path))
    expected = _state(source)
    assert sorted(loaded) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(loaded[key], expected[key])


def test_save_rejects_unknown_suffix_and_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"'\.pt'; use one of \.pdparams, \.safetensors"):
        save_weights(resnet20(), tmp_path / "w.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_weights(resnet20(), tmp_path / "nowhere" / "w.safetensors")


def test_saving_a_model_built_under_lazy_guard_is_refused(tmp_path):
    with paddle.LazyGuard():
        model = resnet20()
    with pytest.raises(ValueError, match=r"tensors of the model have no values yet .*LazyGuard.*nothing was written"):
        save_weights(model, tmp_path / "w.safetensors")
    assert os.listdir(tmp_path) == []
    for parameter in model.parameters():
        parameter.initialize()
    assert load_weights(resnet20(), save_weights(model, tmp_path / "w.safetensors")).ok


def test_saving_through_a_symlink_keeps_the_link_and_the_file_mode(tmp_path):
    real = save_weights(resnet20(), tmp_path / "real.safetensors")
    os.chmod(real, 0o600)
    link = tmp_path / "link.safetensors"
    link.symlink_to("real.safetensors")
    source = _randomise(resnet20(), 15)
    save_weights(source, link)
    assert link.is_symlink() and stat.S_IMODE(os.stat(real).st_mode) == 0o600
    model = resnet20()
    load_weights(model, real)
    _assert_same_state(model, _state(source))


def test_saving_over_a_directory_fails_before_writing(tmp_path, monkeypatch):
    (tmp_path / "w.safetensors").mkdir()
    monkeypatch.setattr(safetensors_io, "dump", lambda *args: pytest.fail("wrote the file"))
    with pytest.raises(IsADirectoryError, match="w.safetensors is a directory"):
        save_weights(resnet20(), tmp_path / "w.safetensors")
    assert os.listdir(tmp_path) == ["w.safetensors"]


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_weights(_randomise(resnet20(), 14), tmp_path / "w.safetensors")
    good = open(path, "rb").read()

    def crash(tensors, file, metadata=None):
        file.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors_io, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        save_weights(resnet20(), path)
    assert open(path, "rb").read() == good
    assert os.listdir(tmp_path) == ["w.safetensors"]


# --------------------------------------------------------------------------------- reading bad input

def test_unknown_format_and_missing_file_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown weights format '\.bin'; accepted: \.pdparams, \.safetensors"):
        load_weights(resnet20(), str(tmp_path / "w.bin"))
    with pytest.raises(FileNotFoundError, match="w.pdparams does not exist"):
        load_weights(resnet20(), str(tmp_path / "w.pdparams"))


def test_a_directory_or_fifo_given_as_weights_is_named_for_what_it_is(tmp_path):
    (tmp_path / "folder.pdparams").mkdir()
    with pytest.raises(IsADirectoryError, match="folder.pdparams is a directory"):
        load_weights(resnet20(), tmp_path / "folder.pdparams")
    os.mkfifo(tmp_path / "pipe.safetensors")  # opening it would wait for a writer for ever
    with pytest.raises(ValueError, match="pipe.safetensors is not a regular file"):
        load_weights(resnet20(), tmp_path / "pipe.safetensors")


@pytest.mark.parametrize("suffix, cut, error, message", [
    (".pdparams", "half", ValueError, "cannot be read as a .pdparams file"),
    (".safetensors", "last 4 bytes", safetensors_io.SafetensorsError, "truncated"),
])
def test_truncated_files_get_clear_errors(tmp_path, suffix, cut, error, message):
    path = save_weights(resnet20(), tmp_path / f"w{suffix}")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2] if cut == "half" else data[:-4])
    with pytest.raises(error, match=message):
        load_weights(resnet20(), path)


# --------------------------------------------------------------------------- the safetensors format

def _raw_file(header, data):
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def test_safetensors_round_trip_against_the_reference_in_both_directions(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    tensors = {"f32": np.arange(6, dtype=np.float32).reshape(2, 3), "f64": np.array([1.5, -2.0]),
               "f16": np.ones((2, 2), np.float16), "i64": np.array([[7]], np.int64),
               "u8": np.arange(5, dtype=np.uint8), "flag": np.array([True, False]),
               "empty": np.zeros((0, 3), np.float32), "big_endian": np.arange(3, dtype=">i4")}
    ours = tmp_path / "ours.safetensors"
    with open(ours, "wb") as file:
        safetensors_io.dump(tensors, file, metadata={"format": "np"})
    theirs = safetensors_numpy.load_file(str(ours))
    reference = tmp_path / "reference.safetensors"
    safetensors_numpy.save_file(tensors, str(reference), metadata={"made_by": "reference"})
    read, metadata = safetensors_io.load(str(reference))
    assert metadata == {"made_by": "reference"}
    assert safetensors_io.load(str(ours))[1] == {"format": "np"}
    for key, value in tensors.items():
        for other in (theirs[key], read[key]):
            assert other.shape == value.shape and other.dtype == value.dtype.newbyteorder("=")
            np.testing.assert_array_equal(other, value)


def test_safetensors_reads_bfloat16_as_float32(tmp_path):
    values = np.array([1.0, -2.5, 3.140625], np.float32)  # exactly representable in bfloat16
    upper_halves = (values.view(np.uint32) >> 16).astype("<u2")
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(_raw_file({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}},
                               upper_halves.tobytes()))
    read = safetensors_io.load(str(path))[0]["x"]
    assert read.dtype == np.float32
    np.testing.assert_array_equal(read, values)


@pytest.mark.parametrize("header, data, message", [
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "truncated"),
    ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "needs 12 bytes"),
    ({"x": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "dtype 'F8_E4M3'; supported"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "gap"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8, "4 bytes after the last"),
    ({"x": {"dtype": "F32"}}, b"", "malformed entry"),
    ({"x": ["F32", [1], [0, 4]]}, b"\0" * 4, "malformed entry"),
    ({"x": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, r"dtype \['F32'\]; supported"),
    ({"x": {"dtype": "F32", "shape": [2 ** 70], "data_offsets": [0, 4]}}, b"\0" * 4,
     r"has shape \[an int of 71 bits\]; expected .* multiply to at most"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4.0]}}, b"\0" * 4, r"data_offsets \[0\.0, 4\.0\]"),
    ({"x": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}, b"\0" * 4, "shape '1'; expected a list"),
    ({"x": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"\0" * 4, r"shape \[True\]"),
    ({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, r"shape \[-1\]"),
    ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, b"\0" * 4, r"data_offsets \[0\]"),
    ({"__metadata__": ["odd"]}, b"", "__metadata__ must be a JSON object of strings"),
    ({"__metadata__": {"epoch": 3}}, b"", "__metadata__ must be a JSON object of strings"),
])
def test_safetensors_rejects_inconsistent_files(tmp_path, header, data, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(_raw_file(header, data))
    with pytest.raises(safetensors_io.SafetensorsError, match=f"^{tmp_path / 'bad.safetensors'}: .*{message}"):
        safetensors_io.load(str(path))


def test_safetensors_rejects_a_file_that_is_not_safetensors(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x80\x04 this is a pickle, not safetensors")
    with pytest.raises(safetensors_io.SafetensorsError, match="does not fit"):
        safetensors_io.load(str(path))
    deep = b"[" * 100_000 + b"]" * 100_000  # valid JSON that Python's parser cannot nest so deep
    path.write_bytes(struct.pack("<Q", len(deep)) + deep)
    with pytest.raises(safetensors_io.SafetensorsError, match="not valid JSON"):
        safetensors_io.load(str(path))
    with pytest.raises(safetensors_io.SafetensorsError, match="cannot store"):
        safetensors_io.dump({"c": np.array([1j])}, io.BytesIO())


# ---------------------------------------------------------------------------------- pretrained weight sets (records)

def test_every_downloadable_weight_set_has_one_record_named_as_timm_names_them():
    from paddle_resnet import list_pretrained
    from paddle_resnet.weights.pretrained import PRETRAINED, get_pretrained_cfg

    downloadable = {(name, True) for name in official.official_names(True)} | \
        {(name, "ssld") for name in official.official_names("ssld")}
    assert {(record.architecture, record.variant) for record in PRETRAINED.values()} == downloadable
    assert len(PRETRAINED) == len(downloadable)  # one record each
    assert list_pretrained("resnet50*") == ["resnet50.paddle", "resnet50_vd.paddleclas", "resnet50_vd.ssld"]
    assert list_pretrained() == sorted(PRETRAINED) and list_pretrained("nothing*") == []
    ssld = get_pretrained_cfg("resnet50_vd.ssld")
    assert ssld.url == official.PADDLECLAS_WEIGHTS["resnet50_vd"]["ssld"]
    assert ssld.checksum == "sha256 recorded at first download" and ssld.license == "Apache-2.0"
    # PaddleClas's model zoo (docs/en/algorithm_introduction/ImageNet_models_en.md, ResNet series): 0.8300
    assert (ssld.top1, ssld.input_size, ssld.crop_pct, ssld.interpolation) == (83.0, (3, 224, 224), 0.875, "bilinear")
    vision = get_pretrained_cfg("resnet50.paddle")
    assert (vision.url, vision.checksum) == (official.OFFICIAL_WEIGHTS["resnet50"][0],
                                             "md5:" + official.OFFICIAL_WEIGHTS["resnet50"][1])
    assert vision.top1 is None and "publishes no accuracy" in vision.top1_source
    with pytest.raises(ValueError, match=r"'resnet50\.ssld' \(did you mean resnet50_vd\.ssld.*resnet50 has "
                                         r"resnet50\.paddle$"):
        get_pretrained_cfg("resnet50.ssld")


def test_a_weight_set_by_name_loads_what_the_old_spelling_loads_and_is_recorded_on_the_model(monkeypatch):
    """Which weights each spelling asks the loader for (the loading itself is tested above), on models built
    without weights (LazyGuard: fast)."""
    from paddle_resnet import builders

    asked = []
    monkeypatch.setattr(builders, "load_pretrained", lambda model, name, source: asked.append((name, source)))
    with paddle.LazyGuard():
        by_name = create_model("resnet34_vd.ssld", pretrained=True)
        old = create_model("resnet34_vd", pretrained="ssld")
        assert asked == [("resnet34_vd", "ssld"), ("resnet34_vd", "ssld")]
        assert by_name.pretrained_cfg.name == old.pretrained_cfg.name == "resnet34_vd.ssld"
        assert create_model("resnet18_vd", pretrained=True).pretrained_cfg.name == "resnet18_vd.paddleclas"
        assert create_model("resnet18.paddle", pretrained=True).pretrained_cfg.name == "resnet18.paddle"
        assert asked[2:] == [("resnet18_vd", True), ("resnet18", True)]
        unloaded = create_model("resnet18_vd.paddleclas")  # as timm: the record, but no weights loaded
        assert unloaded.pretrained_cfg.name == "resnet18_vd.paddleclas" and len(asked) == 4
        assert create_model("resnet20").pretrained_cfg is None
        with pytest.raises(ValueError, match=r"a named weight set takes pretrained=True .* or False"):
            create_model("resnet34_vd.ssld", pretrained="ssld")
        with pytest.raises(ValueError, match=r"no pretrained weights named 'resnet20\.paddle'"):
            create_model("resnet20.paddle")


def test_export_records_the_preprocessing_of_the_models_weights(tmp_path):
    import dataclasses

    from paddle_resnet import export
    from paddle_resnet.deploy.export import read_metadata
    from paddle_resnet.weights.pretrained import get_pretrained_cfg

    from paddle_resnet.deploy.preprocess import describe_preprocess

    model = create_model("resnet20")
    default = describe_preprocess(32)  # what an export of a model without a record writes
    model.pretrained_cfg = dataclasses.replace(get_pretrained_cfg("resnet18_vd.paddleclas"), crop_pct=1.0,
                                               interpolation="bicubic", mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    export(model, tmp_path / "weights", (3, 32, 32))
    recorded = read_metadata(str(tmp_path / "weights"))["preprocess"]
    assert (default["resize_short"], default["interpolation"]) == (37, "bilinear")  # round(32 / 0.875)
    assert (recorded["resize_short"], recorded["interpolation"]) == (32, "bicubic")
    assert recorded["mean"] == [127.5, 127.5, 127.5] and recorded["std"] == [63.75, 127.5, 255.0]
