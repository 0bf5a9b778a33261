"""The tracer and MAC counter: symbolic shape rules agree with Paddle's kernels, the operations between layers
are recorded alike in both modes, and tracing leaves no trace."""

from __future__ import annotations

import importlib
import json
import importlib.util

import numpy as np
import paddle
import pytest
from paddle import nn
from paddle.nn import functional as F
from paddle.vision import models as vision_models
from paddle.vision.models import resnet as vision

from helpers.paddleclas import paddleclas_backbone, paddleclas_reference
from helpers.user_models import Detector, FunctionalInception, GroupNormNet
from paddle_resnet import ResNetConfig, ResNet, count_macs, create_model
from paddle_resnet._checks import normalize_input_size
from paddle_resnet.analysis.trace import TraceError, UnsupportedLayer, trace, trace_graph


def _comparable(calls):
    return [(c.name, c.type, c.input_shapes, c.output_shape, c.params, c.trainable_params, c.macs, c.settings)
            for c in calls]


def _rows(model, size, mode):
    return [row.as_list() + [row.op, row.sources, row.name] for row in trace_graph(model, size, mode).rows]


@pytest.mark.parametrize("name, options, size", [
    ("resnet18", {}, (1, 3, 64, 64)),
    ("resnet18", {"in_channels": 1, "num_classes": 0, "with_pool": False}, (2, 1, 57, 45)),  # odd sizes round
    ("resnet50", {"stride_on": "1x1", "shortcut": "A"}, (1, 3, 75, 64)),
    ("resnext50_32x4d", {"out_stages": (2, 4)}, (1, 3, 64, 64)),
    ("resnet20", {}, (1, 3, 31, 33)),
    ("resnet20", {"shortcut": "B"}, (1, 3, 32, 32)),
    ("resnet18_vd", {}, (1, 3, 65, 63)),  # deep stem; ceil-mode average pools on odd maps (17x16, 9x8, 5x4)
])
def test_symbolic_trace_equals_the_eager_run(name, options, size):
    """The shape rules against Paddle's own kernels, on options and odd sizes where rounding matters."""
    model = create_model(name, **options)
    assert _comparable(trace(model, size, "symbolic")) == _comparable(trace(model, size, "eager"))
    assert _rows(model, size, "symbolic") == _rows(model, size, "eager")


class Operations(nn.Layer):
    """Every kind of operation between layers the rules know, written the ways model code writes them."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(4, 8, 3, padding=1, padding_mode="reflect")
        self.scale = self.create_parameter([1, 8, 1, 1])

    def forward(self, x):
        y = self.conv(x)
        y = F.relu(y) * self.scale + 1.0
        y = paddle.concat([y, F.pad(x, [0, 0, 2, 2, 0, 0, 0, 0])], axis=1)  # channels: 8 + 4 + 2 + 2
        y = F.max_pool2d(y, 3, stride=2, padding="SAME")
        y = F.avg_pool2d(y, 2, ceil_mode=True, exclusive=False) - y.mean(axis=[2, 3], keepdim=True)[:, :, :1, :1]
        z = F.interpolate(y, scale_factor=2) + F.adaptive_avg_pool2d(y, 1)
        z = paddle.transpose(z.flatten(2), [0, 2, 1])
        z = paddle.matmul(z, paddle.ones([16, 5])) / 2
        return F.softmax(paddle.reshape(z[:, 1:, ...], [0, -1]), axis=-1), paddle.stack([y, y], axis=1)


@pytest.mark.parametrize("build, size", [
    (Operations, (2, 4, 13, 11)),
    (lambda: nn.Sequential(nn.Conv2D(3, 8, 5, padding=2, padding_mode="reflect"), nn.ReLU()), (1, 3, 9, 16)),
    (lambda: Detector(classes=3), (1, 3, 64, 96)),
    (lambda: vision_models.mobilenet_v2(scale=0.25), (1, 3, 65, 65)),
    pytest.param(lambda: vision_models.vgg11(batch_norm=True, num_classes=7), (1, 3, 32, 32),
                 marks=pytest.mark.slow),  # 130M parameters: the same layers as the others, only big
    (vision.resnet18, (1, 3, 64, 64)),
], ids=["operations", "reflect padding", "user detector", "mobilenet_v2", "vgg11", "vision resnet18"])
def test_operations_are_recorded_alike_in_both_modes(build, size):
    """The rules of the operations between layers (and of reflect-padded convolutions) against Paddle's kernels:
    the same rows, inputs and settings whether the model runs or not."""
    model = build()
    symbolic = _rows(model, size, "symbolic")
    assert symbolic == _rows(model, size, "eager")
    assert any(row[6] in ("add", "concat", "relu", "flatten") and not row[7] == [] for row in symbolic)


def test_paddleclas_resnet_vd_traces_symbolically_and_agrees_with_its_kernels():
    """PaddleClas's ResNet50_vd (SAME-padded average pools in ceil mode, the legacy BatchNorm class, paddle.add),
    at an odd size where the pools' rounding matters."""
    resnet = paddleclas_reference().load_resnet_module()
    with paddle.LazyGuard():
        lazy = resnet.ResNet50_vd(pretrained=False)
    assert trace_graph(lazy, (1, 3, 75, 65)).mode == "symbolic"
    model = resnet.ResNet50_vd(pretrained=False)
    assert _rows(model, (1, 3, 75, 65), "symbolic") == _rows(model, (1, 3, 75, 65), "eager")


def test_the_residual_addition_and_the_relus_are_rows_of_their_block():
    rows = {row.id: row for row in trace_graph(create_model("resnet18"), (1, 3, 64, 64)).rows}
    assert rows["layer2.0:add"].inputs == ["layer2.0.bn2", "layer2.0.downsample.1"]
    assert rows["layer2.0:relu#2"].inputs == ["layer2.0:add"] and rows["layer2.0:relu#2"].name == "layer2.0.relu2"
    assert rows["layer2.1.conv1"].inputs == ["layer2.0"]  # a block's output is named after the block
    assert rows["layer2.1.conv1"].sources == ["layer2.0:relu#2"]  # ... and comes from its last ReLU
    assert rows[":flatten"].settings == {"start_axis": 1, "stop_axis": 3}



@pytest.mark.parametrize("mode", ["symbolic", "eager"])
def test_a_name_used_again_is_numbered_by_data_flow_not_by_call_order(mode):
    """``block:relu#2`` is the same call whatever order the forward computes independent branches in (and however
    it orders a commutative add's operands): every row comes out the same, only their order differs. Calls that
    depend on each other keep their order (branch b's second ReLU after its first), and calls with the same input
    are told apart by their settings (the two max_pool2d of the stem's output)."""
    def rows(**options):
        return trace_graph(FunctionalInception(**options), (1, 3, 8, 8), mode).rows

    def described(traced):
        return sorted(json.dumps(row.as_list()) for row in traced)

    original = rows()
    by_id = {row.id: row for row in original}
    assert by_id["block:relu"].inputs == ["block.conv_a"] and by_id["block:relu#3"].inputs == ["block.conv_b2"]
    assert by_id["block:relu#2"].inputs == ["block.conv_b1"] and by_id["block:relu#4"].inputs == ["block.conv_c"]
    assert by_id["block:max_pool2d"].settings["kernel"] == [3, 3]
    for order in ["edcba", "cebad", "bdeac"]:
        reordered = rows(order=order, add="ca")
        assert [row.id for row in reordered] != [row.id for row in original]  # the calls did run in another order
        assert described(reordered) == described(original), order
    # a concat given its operands in another order renames nothing: the change is at the concat
    swapped = {row.id: row for row in rows(concat="bstf")}
    assert {i: r.inputs for i, r in swapped.items() if i != "block:concat"} == \
        {i: r.inputs for i, r in by_id.items() if i != "block:concat"}
    assert swapped["block:concat"].inputs[:2] == ["block:relu#3", "block:add"]

def test_option_a_zero_padding_is_traced_inside_the_shortcut():
    """The zero channels are appended after the input's: the concatenation's inputs say in which order."""
    rows = {row.id: row for row in trace_graph(create_model("resnet20"), (1, 3, 32, 32)).rows}
    assert rows["layer2.0.downsample:getitem"].settings == {"index": ":, :, ::2, ::2"}
    assert rows["layer2.0.downsample:zeros"].shape == [1, 16, 16, 16]
    assert rows["layer2.0.downsample:concat"].inputs == ["layer2.0.downsample:getitem", "layer2.0.downsample:zeros"]
    assert rows["layer2.0.downsample"].type == "ZeroPadShortcut"


def test_a_parameter_free_layer_and_its_function_give_the_same_row():
    class AsLayers(nn.Layer):
        def __init__(self):
            super().__init__()
            self.act, self.pool, self.flat = nn.ReLU(), nn.MaxPool2D(3, 2, 1), nn.Flatten()

        def forward(self, x):
            return self.flat(self.pool(self.act(x)))

    class AsFunctions(nn.Layer):
        def forward(self, x):
            return paddle.flatten(F.max_pool2d(F.relu(x), 3, 2, 1), 1)

    rows = [[row.as_list() for row in trace_graph(model, (1, 2, 8, 8), mode).rows]
            for model in (AsLayers(), AsFunctions()) for mode in ("symbolic", "eager")]
    assert rows[0] == rows[1] == rows[2] == rows[3]
    assert [row[0] for row in rows[0]] == [":relu", ":max_pool2d", ":flatten"]


def test_tracing_puts_paddles_functions_back():
    originals = (paddle.add, paddle.concat, F.relu, paddle.Tensor.__add__, paddle.Tensor.__getitem__, paddle.flatten)
    trace_graph(Operations(), (1, 4, 8, 8), "eager")
    with pytest.raises(TraceError):
        trace_graph(Operations(), (1, 3, 8, 8))  # fails inside: the functions must be put back all the same
    assert (paddle.add, paddle.concat, F.relu, paddle.Tensor.__add__, paddle.Tensor.__getitem__,
            paddle.flatten) == originals
    assert paddle.add(paddle.ones([1]), paddle.ones([1])).numpy().tolist() == [2.0]


def test_symbolic_trace_runs_no_kernels_and_needs_no_weights():
    with paddle.LazyGuard():
        model = create_model("wide_resnet101_2")
    assert round(count_macs(model, (1, 3, 224, 224)) / 1e9, 3) == 22.753  # torchvision's published _ops


def test_macs_are_per_image():
    model = create_model("resnet18")
    per_image = count_macs(model, (1, 3, 224, 224))
    assert count_macs(model, (8, 3, 224, 224)) == per_image and round(per_image / 1e9, 3) == 1.814


def test_trace_leaves_the_model_as_it_was():
    model = create_model("resnet18")
    model.train()
    model.layer1.eval()  # a mixed state, as freeze() leaves it
    patched = model.layer2[0]
    patched.forward = patched.forward  # an instance-level forward must survive too
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    for mode in ("symbolic", "eager"):
        trace(model, (1, 3, 32, 32), mode)
    assert model.training and not model.layer1.training and model.layer1[0].conv1.training is False
    assert model.layer2.training
    assert "forward" in patched.__dict__ and "forward" not in model.layer3[0].__dict__
    assert all(np.array_equal(before[k], v.numpy()) for k, v in model.state_dict().items())


def test_paddle_vision_models_built_under_lazy_guard_trace_without_running():
    with paddle.LazyGuard():
        official = vision.resnet18()  # its forward calls paddle.flatten: a function with a rule
    traced = trace_graph(official, (1, 3, 32, 32))
    assert traced.mode == "symbolic" and traced.calls[-1].output_shape == [1, 1000]


def test_auto_falls_back_to_eager_for_a_layer_without_rules():
    model = GroupNormNet()
    with pytest.raises(UnsupportedLayer, match="no shape rule for GroupNorm"):
        trace(model, (1, 3, 16, 16), "symbolic")
    traced = trace_graph(model, (1, 3, 16, 16))
    assert traced.mode == "eager" and traced.calls[-1].output_shape == [1, 5]
    norm = next(row for row in traced.rows if row.id == "norm")
    assert norm.type == "GroupNorm" and "num_groups=4" in norm.settings["config"]


def test_a_lazy_model_that_only_runs_eagerly_gets_a_clear_message():
    with paddle.LazyGuard():
        model = GroupNormNet()
    with pytest.raises(UnsupportedLayer, match=r"no shape rule for GroupNorm \(norm\).*built under paddle.LazyGuard"):
        trace(model, (1, 3, 16, 16))


def test_a_layer_of_its_own_with_a_shape_rule_is_one_opaque_row():
    class Squash(nn.Layer):
        def forward(self, x):
            return paddle.tanh(x).sum(axis=1, keepdim=True)

        def shape_rule(self, input_shape):
            return [input_shape[0], 1, *input_shape[2:]], 0, {"reduces": "channels"}

    model = nn.Sequential(nn.Conv2D(3, 4, 1), Squash())
    for mode in ("symbolic", "eager"):
        rows = trace_graph(model, (1, 3, 5, 5), mode).rows
        assert [(r.id, r.type, r.shape, r.settings) for r in rows][1:] == [("1", "Squash", [1, 1, 5, 5],
                                                                             {"reduces": "channels"})]


def test_a_shape_mismatch_inside_names_the_layer():
    model = create_model("resnet18")
    model.layer3[0].conv2 = nn.Conv2D(128, 256, 3, padding=1, bias_attr=False)  # expects 128 channels, gets 256
    for mode in ("symbolic", "eager"):
        with pytest.raises(TraceError, match="layer3.0"):
            trace(model, (1, 3, 64, 64), mode)


def test_wrong_input_is_a_trace_error():
    with pytest.raises(TraceError, match=r"expected an input of shape \[batch, 3, height, width\]"):
        trace(create_model("resnet18"), (1, 1, 64, 64))


@pytest.mark.parametrize("bad", [(3, 224), (1, 3, 0, 224), "224", (1, 3, 224.0, 224), (None, None, 224, 224)])
def test_input_size_errors(bad):
    with pytest.raises(ValueError, match="expected \\(batch, channels, height, width\\)"):
        normalize_input_size(bad)


def test_input_size_forms():
    assert normalize_input_size((3, 224, 224)) == normalize_input_size((None, 3, 224, 224)) == [1, 3, 224, 224]


def test_custom_configuration_traces():
    config = ResNetConfig("bottleneck", (1, 2), (64, 128), groups=4, width_per_group=16, num_classes=5)
    model = ResNet(config)
    calls = trace(model, (1, 3, 64, 64), "symbolic")
    assert _comparable(calls) == _comparable(trace(model, (1, 3, 64, 64), "eager"))
    assert calls[-1].output_shape == [1, 5]


@pytest.mark.parametrize("pool", [
    lambda: nn.AvgPool2D(2, 2, ceil_mode=True),  # ResNet-D's shortcut pool
    lambda: nn.AvgPool2D(2, 2, ceil_mode=True, exclusive=False),
    lambda: nn.AvgPool2D(3, 2, padding=1, ceil_mode=True),  # a last window that starts in the padding
    lambda: nn.AvgPool2D(2, 2, padding="SAME", ceil_mode=True),  # PaddleClas's spelling of ResNet-D's pool
    lambda: nn.AvgPool2D(3, 2, padding="SAME"),
    lambda: nn.AvgPool2D(3, 1, padding="VALID"),
    lambda: nn.AvgPool2D(2, 2, divisor_override=3),
    lambda: nn.MaxPool2D(3, 2, padding=[0, 1], ceil_mode=True),
])
@pytest.mark.parametrize("size", [(5, 8), (7, 6), (9, 9)])
def test_pool_shape_rules_equal_paddles_kernels(pool, size):
    layer = pool()
    model = nn.Sequential(layer)
    symbolic, eager = (trace(model, (1, 2, *size), mode) for mode in ("symbolic", "eager"))
    assert _comparable(symbolic) == _comparable(eager)
    settings = symbolic[0].settings
    assert len(settings["padding"]) == 4 and settings["ceil_mode"] == bool(layer.ceil_mode)
    assert ("exclusive" in settings) == isinstance(layer, nn.AvgPool2D)


# ------------------------------------------------------------------------ every operation is a row (issue 17)


def _traced_rows(model, size, modes=("symbolic", "eager")):
    """The rows of ``model`` (``id, type, inputs, shape, params, settings, op, sources, name``), the same in
    every mode of ``modes``."""
    rows = [_rows(model, size, mode) for mode in modes]
    assert all(other == rows[0] for other in rows[1:])
    return rows[0]


class Halves(nn.Layer):
    """ShuffleNetV2's unit in small: split the channels, convolve one half, concatenate (``swap``: the halves
    read the other way round, the mutation the issue found unrecorded)."""

    def __init__(self, swap=False, sections=2, clip_max=1.0):
        super().__init__()
        self.conv = nn.Conv2D(2, 2, 1)
        self.swap, self.sections, self.clip_max = swap, sections, clip_max

    def forward(self, x):
        left, right = paddle.split(x, self.sections, axis=1)
        if self.swap:
            left, right = right, left
        return paddle.clip(paddle.concat([left, self.conv(right)], axis=1), min=0, max=self.clip_max)


def test_split_outputs_are_rows_whose_consumers_name_the_part_they_read():
    rows = {row[0]: row for row in _traced_rows(Halves(), (1, 4, 5, 5))}
    assert rows[":split"][5] == {"sections": [2, 2], "axis": 1} and rows[":split"][3] == [[1, 2, 5, 5]] * 2
    assert rows["conv"][2] == [":split[1]"] and rows[":concat"][2] == [":split[0]", "conv"]
    assert rows[":concat"][7] == [":split[0]", "conv"]  # sources too: which output of the split
    swapped = {row[0]: row for row in _traced_rows(Halves(swap=True), (1, 4, 5, 5))}
    assert swapped["conv"][2] == [":split[0]"] and swapped[":concat"][2] == [":split[1]", "conv"]
    # Sizes and a number of equal parts are the same split.
    assert _traced_rows(Halves(sections=[2, -1]), (1, 4, 5, 5)) == list(rows.values())


def test_a_clip_bound_is_a_setting():
    rows = {row[0]: row for row in _traced_rows(Halves(clip_max=6), (1, 4, 5, 5))}
    assert rows[":clip"][5] == {"min": 0.0, "max": 6.0} and rows[":clip"][2] == [":concat"]


class Parts(nn.Layer):
    def forward(self, x):
        first, second = x.chunk(2, axis=2)
        rows = paddle.unbind(first, axis=3)
        return paddle.stack([rows[2], rows[0]], axis=1) * F.hardsigmoid(second[:, :, :, 0], slope=0.2)


def test_chunk_unbind_and_stack_name_their_parts():
    rows = {row[0]: row for row in _traced_rows(Parts(), (1, 2, 4, 3))}
    assert rows[":chunk"][3] == [[1, 2, 2, 3]] * 2 and rows[":chunk"][5] == {"sections": [2, 2], "axis": 2}
    assert rows[":unbind"][2] == [":chunk[0]"] and rows[":unbind"][3] == [[1, 2, 2]] * 3
    assert rows[":stack"][2] == [":unbind[2]", ":unbind[0]"]
    assert rows[":hardsigmoid"][5] == {"slope": 0.2, "offset": 0.5}


def test_the_hardsigmoid_layer_and_function_give_the_same_row():
    as_layer = nn.Sequential(nn.Hardsigmoid())
    as_function = type("AsFunction", (nn.Layer,), {"forward": lambda self, x: F.hardsigmoid(x)})()
    assert [row[:7] for row in _traced_rows(as_layer, (1, 2, 3, 3))] == \
        [row[:7] for row in _traced_rows(as_function, (1, 2, 3, 3))]


class MaxInside(nn.AdaptiveAvgPool2D):
    """A subclass of a Paddle layer whose own ``forward`` computes something else than its base class."""

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self._output_size)


def test_a_paddle_layer_subclass_that_overrides_forward_is_traced_into():
    model = nn.Sequential(nn.Conv2D(3, 4, 1), MaxInside(1))
    rows = {row[0]: row for row in _traced_rows(model, (1, 3, 6, 6))}
    assert rows["1:adaptive_max_pool2d"][2] == ["0"] and rows["1"][1] == "MaxInside"


def test_paddleclas_mobilenet_v3_pool_is_followed_into_its_own_forward():
    """PaddleClas's ``AdaptiveAvgPool2D`` overrides ``forward`` (the issue's "average -> max matches")."""
    mobilenet = paddleclas_backbone("legendary_models.mobilenet_v3")
    with paddle.utils.unique_name.guard():
        model = mobilenet.MobileNetV3_small_x0_35(class_num=3)
    rows = {row[0]: row for row in _traced_rows(model, (1, 3, 32, 32))}
    assert rows["avg_pool:adaptive_avg_pool2d"][5] == {"output_size": [1, 1], "data_format": "NCHW"}


def _user_package(root, name, activation):
    """A user's package whose model calls its activation through a helper module that imported it by name."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(f"from paddle.nn.functional import {activation}\n\n\n"
                                        f"def activate(x):\n    return {activation}(x)\n")
    (package / "net.py").write_text("from paddle import nn\nfrom .helpers import activate\n\n\n"
                                    "class Net(nn.Layer):\n    def __init__(self):\n        super().__init__()\n"
                                    "        self.conv = nn.Conv2D(3, 2, 1)\n\n"
                                    "    def forward(self, x):\n        return activate(self.conv(x))\n")


@pytest.mark.parametrize("activation", ["relu", "relu6"])
def test_an_activation_called_through_a_helper_module_is_a_row(tmp_path, monkeypatch, activation):
    import importlib

    package = f"user_helpers_{activation}"
    _user_package(tmp_path, package, activation)
    monkeypatch.syspath_prepend(str(tmp_path))
    net = importlib.import_module(f"{package}.net")
    rows = _traced_rows(net.Net(), (1, 3, 4, 4))
    assert [row[0] for row in rows] == ["conv", f":{activation}"]
    assert vars(importlib.import_module(f"{package}.helpers"))[activation] is getattr(F, activation)  # put back


class Unruled(nn.Layer):
    """Operations without a rule: a Paddle function, a tensor method, an operator and an assignment."""

    def forward(self, x):
        y = paddle.cumsum(x, axis=2)
        y = y.cumprod(dim=1) ** 2
        y[:, 0] = 0.0
        return -y


def test_a_function_without_a_rule_is_recorded_by_name_with_its_settings():
    with pytest.raises(UnsupportedLayer, match="no rule for cumsum"):
        trace_graph(Unruled(), (1, 2, 3, 3), "symbolic")
    traced = trace_graph(Unruled(), (1, 2, 3, 3))
    assert traced.mode == "eager"
    rows = {row.id: row for row in traced.rows}
    assert list(rows) == [":cumsum", ":cumprod", ":pow", ":setitem", ":neg"]
    assert rows[":cumsum"].settings == {"axis": 2} and rows[":cumsum"].inputs == ["input"]
    assert rows[":cumprod"].settings["dim"] == 1 and rows[":pow"].inputs == [":cumprod"]
    assert rows[":setitem"].inputs == [":pow"] and rows[":neg"].inputs == [":setitem"]
    assert all(row.shape == [1, 2, 3, 3] for row in traced.rows)


def test_what_is_not_a_computation_makes_no_row():
    class Asks(nn.Layer):
        def forward(self, x):
            assert paddle.is_tensor(x) and x.dim() == 4
            return F.relu(x)

    assert [row.id for row in trace_graph(Asks(), (1, 2, 3, 3), "eager").rows] == [":relu"]


@pytest.mark.parametrize("module, build, size", [
    ("legendary_models.mobilenet_v3", "MobileNetV3_small_x0_35", (1, 3, 32, 32)),
    ("legendary_models.pp_lcnet", "PPLCNet_x0_25", (1, 3, 32, 32)),
    ("model_zoo.ghostnet", "GhostNet_x0_5", (1, 3, 32, 32)),  # SE gate: paddle.clip(max=1)
    ("model_zoo.shufflenet_v2", "ShuffleNetV2_x0_25", (1, 3, 32, 32)),  # from paddle import split, ...
    pytest.param("model_zoo.res2net", "Res2Net50_26w_4s", (1, 3, 32, 32),  # paddle.split into scales (3 s)
                 marks=pytest.mark.slow),
])
def test_paddleclas_models_trace_symbolically_under_lazy_guard_and_agree_with_their_kernels(module, build, size):
    """The issue's models that needed an eager trace (``Hardsigmoid``, ``split``, ``clip``): now symbolic, so a
    model built under ``paddle.LazyGuard`` checks like any other, with the rows an eager run records."""
    constructor = getattr(paddleclas_backbone(module), build)
    with paddle.utils.unique_name.guard(), paddle.LazyGuard():
        lazy = constructor(class_num=3)
    symbolic = trace_graph(lazy, size)
    assert symbolic.mode == "symbolic"
    with paddle.utils.unique_name.guard():
        model = constructor(class_num=3)
    eager = trace_graph(model, size, "eager")
    assert [r.as_list() + [r.op, r.sources, r.name] for r in symbolic.rows] == \
        [r.as_list() + [r.op, r.sources, r.name] for r in eager.rows]
    assert {"split", "clip", "hardsigmoid", "adaptive_avg_pool2d"} & {row.op for row in eager.rows}


def test_paddle_vision_shufflenet_records_which_half_each_branch_reads():
    """``x1, x2 = paddle.split(...)``: the first half passes on, the second is convolved; then the channel shuffle
    (reshape, transpose, reshape)."""
    rows = {row[0]: row for row in _traced_rows(vision_models.shufflenet_v2_x0_25(num_classes=3), (1, 3, 32, 32))}
    assert rows["2_2:split"][5] == {"sections": [12, 12], "axis": 1} and rows["2_2:split"][2] == ["2_1"]
    assert rows["2_2._conv_pw.0"][2] == ["2_2:split[1]"]
    assert rows["2_2:concat"][2] == ["2_2:split[0]", "2_2._conv_linear:relu"]
    assert [rows[name][5] for name in ("2_2:reshape", "2_2:transpose", "2_2:reshape#2")] == [
        {"shape": [1, 2, 12, 4, 4]}, {"perm": [0, 2, 1, 3, 4]}, {"shape": [1, 24, 4, 4]}]


# ---------------------------------------------------------------------------------- the tracer contained (issue 17)


def _paddles_functions():
    """Every attribute of the namespaces the tracer replaces functions in, and of ``paddle.Tensor``."""
    from paddle_resnet.analysis import trace as tracer

    places = [importlib.import_module(name) for name in tracer._NAMESPACES
              if importlib.util.find_spec(name) is not None] + [paddle.Tensor]
    return {(place.__name__, name): value for place in places for name, value in list(vars(place).items())}


class FailsInside(nn.Layer):
    """Runs a few operations, then fails in the middle of its forward."""

    def __init__(self, error):
        super().__init__()
        self.conv, self.error = nn.Conv2D(3, 3, 1), error

    def forward(self, x):
        y = paddle.split(F.relu(self.conv(x)) + 1, 3, axis=1)[0]
        raise self.error


@pytest.mark.parametrize("mode", ["symbolic", "eager", "auto"])
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), UnsupportedLayer("no rule")])
def test_an_exception_mid_forward_leaves_every_paddle_function_as_it_was(mode, error):
    before = _paddles_functions()
    model = FailsInside(error)
    with pytest.raises((type(error), TraceError)):
        trace_graph(model, (1, 3, 4, 4), mode)
    after = _paddles_functions()
    assert after.keys() == before.keys()
    assert [key for key, value in after.items() if value is not before[key]] == []
    assert "forward" not in model.__dict__ and "forward" not in model.conv.__dict__
    assert trace_graph(create_model("resnet18"), (1, 3, 32, 32)).mode == "symbolic"  # the next trace works


def test_another_thread_calling_paddle_during_a_trace_is_unaffected():
    import threading

    results, errors = {}, []

    def other_thread():
        try:
            x = paddle.to_tensor([[-1.0, 2.0]])
            results["add"] = paddle.add(x, x).numpy().tolist()
            results["relu"] = F.relu(x).numpy().tolist()
            results["operators"] = ((x + 1) * x)[0].numpy().tolist()
            results["split"] = [part.numpy().tolist() for part in paddle.split(x, 2, axis=1)]
        except BaseException as error:  # noqa: BLE001  reported by the assertion below
            errors.append(error)

    class CallsOtherThread(nn.Layer):
        def forward(self, x):
            y = F.relu(x)
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()  # runs entirely while this trace is active
            return paddle.add(y, y)

    for mode in ("symbolic", "eager"):
        results.clear()
        rows = trace_graph(CallsOtherThread(), (1, 2, 3, 3), mode).rows
        assert errors == []
        assert results == {"add": [[-2.0, 4.0]], "relu": [[0.0, 2.0]], "operators": [0.0, 6.0],
                           "split": [[[-1.0]], [[2.0]]]}
        assert [row.id for row in rows] == [":relu", ":add"]


def test_one_trace_at_a_time():
    class TracesItself(nn.Layer):
        def forward(self, x):
            trace_graph(nn.Sequential(nn.ReLU()), (1, 2, 2, 2))
            return x

    with pytest.raises(RuntimeError, match="one trace at a time"):
        trace_graph(TracesItself(), (1, 2, 2, 2))
    assert trace_graph(nn.Sequential(nn.ReLU()), (1, 2, 2, 2)).mode == "symbolic"


def test_paddle_calls_made_while_a_row_is_made_are_not_rows(monkeypatch):
    """What reads a row's real output while the row is made (a value fingerprint) is not part of the model."""
    from paddle_resnet.analysis import trace as tracer

    label = tracer._Recorder.label

    def reading(self, output, ref, source):
        for value in tracer._flat([output]):
            if isinstance(value, paddle.Tensor):
                paddle.mean(value.astype("float64")) * 2
        return label(self, output, ref, source)

    expected = [row.id for row in trace_graph(Unruled(), (1, 2, 3, 3), "eager").rows]
    monkeypatch.setattr(tracer._Recorder, "label", reading)
    assert [row.id for row in trace_graph(Unruled(), (1, 2, 3, 3), "eager").rows] == expected


class NineByNine(nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(3, 2, 9)

    def forward(self, x):
        return self.conv(x)


def test_the_eager_trace_never_runs_a_window_larger_than_its_input():
    """Paddle's convolution returns a negative shape for a window larger than its input (and corrupts memory):
    the eager trace refuses it from the layer's rule, before the kernel, as the symbolic trace does."""
    from paddle_resnet.analysis.shape_rules import WindowTooLarge

    assert trace_graph(NineByNine(), (1, 3, 9, 9), "eager").rows[-1].shape == [1, 2, 1, 1]
    with pytest.raises(WindowTooLarge, match="a window of 9 .* does not fit an input of size 8"):
        trace_graph(NineByNine(), (1, 3, 8, 8), "eager")
