"""The tracer and MAC counter: symbolic shape rules agree with Paddle's kernels, the operations between layers
are recorded alike in both modes, and tracing leaves no trace."""

from __future__ import annotations

import numpy as np
import paddle
import pytest
from paddle import nn
from paddle.nn import functional as F
from paddle.vision import models as vision_models
from paddle.vision.models import resnet as vision

from helpers.paddleclas import paddleclas_reference
from helpers.user_models import Detector, GroupNormNet
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
