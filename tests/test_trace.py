"""The tracer and MAC counter: symbolic shape rules agree with Paddle's kernels, and tracing leaves no trace."""

from __future__ import annotations

import numpy as np
import paddle
import pytest
from paddle import nn
from paddle.vision.models import resnet as vision

from paddle_resnet import ResNetConfig, ResNet, count_macs, create_model
from paddle_resnet._checks import normalize_input_size
from paddle_resnet.analysis.trace import TraceError, UnsupportedLayer, trace


def _comparable(calls):
    return [(c.name, c.type, c.input_shapes, c.output_shape, c.params, c.trainable_params, c.macs, c.settings)
            for c in calls]


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


def test_auto_falls_back_to_eager_for_code_without_rules():
    official = vision.resnet18()  # its forward calls paddle.flatten, which a shape-only stand-in cannot enter
    with pytest.raises(UnsupportedLayer):
        trace(official, (1, 3, 32, 32), "symbolic")
    calls = trace(official, (1, 3, 32, 32))
    assert calls[-1].output_shape == [1, 1000]


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
