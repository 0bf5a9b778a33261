"""The value fingerprint (verification/values.py) and the golden file's format: what a check compares, that it
says so, that a damaged or hostile golden file is an error naming the file, entry and key, and that changes no
rule describes are found by their values at the first row they change."""

from __future__ import annotations

import json

import numpy as np
import paddle
import pytest
from paddle import nn
from paddle.nn import functional as F

from paddle_resnet import resnet18
from paddle_resnet.verification import fingerprint as fingerprint_module
from paddle_resnet.verification import golden as golden_module
from paddle_resnet.verification import values as values_module
from paddle_resnet.verification.golden import GoldenFileError, load_golden
from paddle_resnet.verification.structure import check_structure, record_structure
from paddle_resnet.verification.values import RTOL, close, digest, seeded_value, value_pass
from helpers import run_cli

SIZE = (1, 3, 16, 16)


class SplitNet(nn.Layer):
    """A stem, a split in two, each half through its own conv, the halves concatenated (ShuffleNet-like)."""

    def __init__(self, swap=False, clip_max=1.0):
        super().__init__()
        self.stem = nn.Conv2D(3, 8, 3, padding=1)
        self.left = nn.Conv2D(4, 4, 1)
        self.right = nn.Conv2D(4, 4, 1)
        self.head = nn.Linear(8, 2)
        self.swap, self.clip_max = swap, clip_max

    def forward(self, x):
        x = self.stem(x)
        a, b = paddle.split(x, 2, axis=1)
        if self.swap:
            a, b = b, a
        x = paddle.concat([self.left(a), self.right(b)], axis=1)
        x = paddle.clip(x, min=0.0, max=self.clip_max)
        return self.head(x.mean(axis=[2, 3]))


class AdaptiveAvgPool2D(nn.AdaptiveAvgPool2D):
    """A Paddle layer subclass of the same name that overrides forward (PaddleClas's MobileNetV3 has one), here
    changed from average to max."""

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self._output_size)


class PoolNet(nn.Layer):
    def __init__(self, pool=None, dropout=False):
        super().__init__()
        self.conv = nn.Conv2D(3, 4, 3)
        self.bn = nn.BatchNorm2D(4)
        self.pool = pool or nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(4, 3)
        self.dropout = dropout

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv(x)))).flatten(1)
        if self.dropout:
            x = F.dropout(x, 0.5, training=self.training)
        return self.fc(x)


def small_resnet():
    with paddle.LazyGuard():  # no weights to initialise: the value pass brings its own
        return resnet18(num_classes=2)


def value_line(result) -> str:
    lines = [line for line in result.report().splitlines() if line.strip().startswith("values:")]
    assert len(lines) == 1, result.report()
    return lines[0]


def test_seeded_values_depend_on_the_name_and_shape_only():
    a, b = seeded_value("layer1.0.conv1.weight", [8, 4, 3, 3]), seeded_value("layer1.0.conv1.weight", [8, 4, 3, 3])
    assert np.array_equal(a, b) and not np.array_equal(a, seeded_value("layer1.0.conv2.weight", [8, 4, 3, 3]))
    assert (seeded_value("bn._variance", [64]) > 0).all()
    channels = seeded_value("conv.weight", [256, 64, 3, 3]).reshape(256, -1)
    assert len({row.tobytes() for row in channels}) == 256  # every channel its own weights
    bound = np.sqrt(6 / (64 * 9))  # He's bound for the fan-in
    assert np.abs(channels).max() <= bound and np.abs(channels).max() > 0.9 * bound
    # float32 values are the float64 ones rounded, so a float32 pass computes what a float64 pass does
    rounded = seeded_value("fc.weight", [8, 3]).astype(np.float32)
    assert np.array_equal(seeded_value("fc.weight", [8, 3], "float32"), rounded)


def test_seeded_values_do_not_depend_on_what_else_draws_from_their_sequence():
    alone = seeded_value("layer2.0.conv1.weight", [16, 8, 3, 3])
    with values_module.seeded_weights_kept():  # sequences shared (and lengthened) across models
        seeded_value("big.weight", [64, 8, 3, 3])
        assert np.array_equal(seeded_value("layer2.0.conv1.weight", [16, 8, 3, 3]), alone)
        assert values_module._KEPT
    assert not values_module._KEPT  # freed when the block ends


def test_the_value_pass_is_the_same_with_weights_shared_kept_or_copied():
    model = small_resnet()
    shared = value_pass(model, SIZE).digests
    with values_module.seeded_weights_kept():
        value_pass(PoolNet(), SIZE)  # another model draws from the kept sequences first
        kept = value_pass(model, SIZE).digests
    copied = values_module._value_pass(model, list(SIZE), "eval", "float64", share=False).digests
    assert shared == kept == copied


class InPlace(nn.Layer):
    """A forward that writes its own weight in place (a stateful model): with weights sharing memory, the write
    would reach the sequence the weight is a window of, and every later pass drawing from it."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2D(3, 4, 3)
        self.b = nn.Conv2D(3, 4, 3)

    def forward(self, x):
        with paddle.no_grad():
            self.a.weight.scale_(2.0)
        return self.a(x) + self.b(x)


def test_a_forward_writing_a_shared_weight_is_run_again_on_copies():
    copied = values_module._value_pass(InPlace(), list(SIZE), "eval", "float64", share=False).digests
    with values_module.seeded_weights_kept():
        assert value_pass(InPlace(), SIZE).digests == copied
        # the sequence the first pass wrote was dropped: a second pass does not start from doubled weights
        assert value_pass(InPlace(), SIZE).digests == copied
    assert value_pass(InPlace(), SIZE).digests == copied


def test_the_value_pass_never_touches_the_models_weights_or_mode():
    model = PoolNet()
    model.train()
    model.bn.eval()  # a frozen part of a training model keeps its own mode
    before = {name: tensor.numpy().copy() for name, tensor in model.state_dict().items()}
    value_pass(model, SIZE, "train")
    value_pass(model, SIZE, "eval")
    assert model.training and not model.bn.training
    assert all(np.array_equal(before[name], tensor.numpy()) for name, tensor in model.state_dict().items())


# The row that differs first: the changed operation's own row where the tracer records it, else the first recorded
# row that consumes its output (the tracer may have no rule for split, clip or mean: the values still see them).
@pytest.mark.parametrize("change, rows", [
    ({"swap": True}, ("split", "left", "concat")),  # the order of split's outputs
    ({"clip_max": 6.0}, ("clip", "mean", "head")),
])
def test_changes_no_rule_describes_are_found_at_the_first_row_they_change(tmp_path, change, rows):
    path = tmp_path / "golden.json"
    record_structure(SplitNet(), path, SIZE, name="net")
    assert check_structure(SplitNet(), path).ok
    result = check_structure(SplitNet(**change), path)
    assert not result.ok
    first = value_line(result).split("the first row whose values differ is ", 1)[1].split(" ", 1)[0]
    assert first.rsplit(":", 1)[-1].split("#")[0] in rows, result.report()


def test_an_overridden_forward_is_traced_into_and_checked_by_its_values(tmp_path):
    path = tmp_path / "golden.json"
    record_structure(PoolNet(), path, SIZE, name="net", mode="eval")
    result = check_structure(PoolNet(pool=AdaptiveAvgPool2D(1)), path)
    report = result.report()
    # The tracer follows the override (its max pooling is a row inside `pool`), and the first row both models
    # have that consumes the pooled values differs by value.
    assert not result.ok and "pool: added (AdaptiveAvgPool2D" in report, report
    assert "differ is :flatten " in value_line(result), report


def test_the_mode_is_recorded_and_the_check_runs_in_it(tmp_path):
    path = tmp_path / "golden.json"
    model = PoolNet()
    record_structure(model, path, SIZE, name="net")  # a freshly built model is in train mode: BN on batch stats
    assert json.loads(path.read_text())["architectures"]["net"]["mode"] == "train"
    model.eval()
    result = check_structure(model, path)
    assert result.ok and "(train mode)" in result.report() and not model.training
    shifted = PoolNet()
    shifted.bn._mean.set_value(paddle.full([4], 5.0))  # running statistics do not matter in train mode ...
    assert check_structure(shifted, path).ok
    shifted.bn._epsilon = 0.5  # ... the epsilon does
    assert not check_structure(shifted, path).ok


def test_random_layers_are_compared_by_settings_and_the_report_says_so(tmp_path):
    path = tmp_path / "golden.json"
    record_structure(PoolNet(dropout=True), path, SIZE, name="net", mode="train")
    for _ in range(2):  # other noise each time: never a false alarm
        result = check_structure(PoolNet(dropout=True), path)
        assert result.ok, result.report()
    assert "NOT checked: the values of 2 rows at or after a random layer" in result.report()
    result = check_structure(PoolNet(dropout=False), path)
    assert not result.ok  # the dropout's row is gone: the structure says so


class Downscaled(nn.Layer):
    """A dropout that scales by ``1 - p`` in inference instead of in training (paddle.vision's Inception v3)."""

    def __init__(self, p=0.2):
        super().__init__()
        self.conv = nn.Conv2D(3, 4, 3)
        self.dropout = nn.Dropout(p, mode="downscale_in_infer")
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.dropout(self.conv(x).mean(axis=[2, 3])))


def test_a_dropout_that_only_scales_in_inference_is_compared_by_value():
    assert value_pass(Downscaled(), SIZE, "eval").random_rows == []  # x * 0.8: no noise, its values are checked
    assert value_pass(Downscaled(), SIZE, "train").random_rows == [":dropout"]
    eval_pass = value_pass(Downscaled(), SIZE, "eval")
    assert eval_pass.digests[":dropout"] != value_pass(Downscaled(p=0.5), SIZE, "eval").digests[":dropout"]


class NeedsForty(nn.Layer):
    """A convolution with a 40x40 kernel (``kernel``): at the default value size (32x32) it has no output."""

    def __init__(self, kernel=40):
        super().__init__()
        self.conv = nn.Conv2D(3, 4, kernel)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean(axis=[2, 3]))


@pytest.mark.parametrize("model, size", [(NeedsForty, [1, 3, 48, 48]), (PoolNet, [1, 3, 48, 48])])
def test_the_value_pass_runs_at_the_small_size_only_where_the_shapes_allow_it(monkeypatch, model, size):
    """Where the shapes (a symbolic trace, no kernel) show a model cannot run at the small value size, or leaves
    a row empty there, the pass runs at the model's own size directly: kernels on empty tensors are never run
    (MKL prints errors of its own for a convolution without output pixels)."""
    sizes = []
    real = fingerprint_module.value_pass
    monkeypatch.setattr(fingerprint_module, "value_pass", lambda m, at, *a: sizes.append(list(at)) or real(m, at, *a))
    measured = fingerprint_module.measure(model(), size, "eval")
    expected = size if model is NeedsForty else fingerprint_module.default_value_size(size)
    assert sizes == [expected] and measured.outputs.input_size == expected


def test_a_window_grown_past_the_value_size_is_a_mismatch_not_a_crash(tmp_path, monkeypatch):
    """Recorded with a 3x3 kernel (values at 32x32), checked with a 40x40 one: the structure runs at 48x48, the
    values cannot run at 32x32. Paddle's kernel is never called on it (it would return a negative shape and
    corrupt memory): the report says the values do not run there."""
    path = tmp_path / "golden.json"
    record_structure(NeedsForty(kernel=3), path, [1, 3, 48, 48], name="net", mode="eval")
    real = nn.Conv2D.forward

    def guarded(layer, x):
        assert x.shape[2] >= layer._kernel_size[0], "Paddle's conv ran on an input smaller than its window"
        return real(layer, x)

    monkeypatch.setattr(nn.Conv2D, "forward", guarded)
    result = check_structure(NeedsForty(kernel=40), path)
    assert not result.ok
    assert any(metric == "values" and "does not fit an input of size 32" in str(actual)
               for metric, _, actual in result.mismatches), result.report()


def test_values_can_be_switched_off_and_the_report_says_they_were_not_checked(tmp_path):
    path = tmp_path / "golden.json"
    record_structure(PoolNet(), path, SIZE, name="net", values=False)
    result = check_structure(PoolNet(), path)
    assert result.ok and result.report().endswith("NOT checked: values (the entry records none)")


def test_a_check_at_another_size_compares_at_the_goldens_size_and_says_so(tmp_path):
    path = tmp_path / "golden.json"
    record_structure(small_resnet(), path, (1, 3, 32, 32), name="net")
    model = small_resnet()
    model.layer2[0].bn1._epsilon = 1e-3
    result = check_structure(model, path, input_size=(2, 3, 64, 64))
    assert not result.ok and result.input_size == [1, 3, 32, 32] and not result.skipped
    assert "layer2.0.bn1: epsilon 1e-05 -> 0.001" in result.report()
    assert "compared at the golden entry's input [1, 3, 32, 32]" in result.report()
    assert check_structure(small_resnet(), path, input_size=(2, 3, 64, 64)).ok


def test_the_result_line_says_what_was_compared(tmp_path):
    path = tmp_path / "golden.json"
    record_structure(small_resnet(), path, (1, 3, 32, 32), name="net")
    rows = len(json.loads(path.read_text())["architectures"]["net"]["values"]["layers"])
    assert check_structure(small_resnet(), path).report() == (
        f"net: matches at input [1, 3, 32, 32] (train mode): {rows} structure rows, {rows} value rows (float64 at "
        "[1, 3, 32, 32]), params, MACs, output shape, stage shapes, layer counts")


@pytest.fixture
def recorded(tmp_path):
    path = tmp_path / "golden.json"
    record_structure(PoolNet(), path, SIZE, name="net")
    return path


def damage(path, edit):
    data = json.loads(path.read_text())
    edit(data["architectures"]["net"])
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("edit, message", [
    (lambda e: e["values"].pop("layers"), "values has no layers table"),
    (lambda e: e["values"].pop("macs"), "values has no macs table"),
    (lambda e: e.pop("outputs"), "no outputs"),
    (lambda e: e.update(input_size=[1, 3, -32, 32]), "input_size is a list ([1, 3, -32, 32]), expected 4 positive"),
    (lambda e: e.update(input_size=[True, 3, 32, 32]), "input_size is a list ([true, 3, 32, 32]), expected 4 "),
    (lambda e: e.update(input_size=[1, 3, 10**6, 10**6]), "input_size [1, 3, 1000000, 1000000] asks for more than"),
    (lambda e: e["values"].update(macs="40551040"), 'values.macs is a string ("40551040"), which is not a '
                                                     "non-negative integer"),
    (lambda e: e.update(mode="training"), "mode is a string (\"training\"), expected one of 'eval', 'train'"),
    (lambda e: e["outputs"]["rows"][0].__setitem__(1, ["x"]), "outputs.rows[0] is a list"),
    (lambda e: e["values"]["layers"].__setitem__(0, "conv"), "values.layers[0] is a string (\"conv\")"),
])
def test_a_damaged_entry_is_an_error_naming_file_entry_and_key(recorded, edit, message):
    damage(recorded, edit)
    with pytest.raises(GoldenFileError) as error:
        check_structure(PoolNet(), recorded)
    assert f"golden entry 'net' in {recorded} is damaged (" in str(error.value) and message in str(error.value)


def test_a_damaged_entry_exits_2_on_the_command_line(capsys, recorded):
    damage(recorded, lambda e: e["values"].update(macs="40551040"))
    code, _, err = run_cli(capsys, "verify", "--model", "test_values:PoolNet", "--golden", str(recorded), "--name",
                           "net")
    assert code == 2 and "values.macs is a string" in err and "Traceback" not in err


def test_a_hostile_golden_file_is_refused_quickly(tmp_path, monkeypatch):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(GoldenFileError, match="nested too deeply"):
        load_golden(deep)
    monkeypatch.setattr(golden_module, "MAX_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"format": 4, "architectures": {}, "about": "x" * 2000}))
    with pytest.raises(GoldenFileError, match=r"is larger than"):
        load_golden(big)
