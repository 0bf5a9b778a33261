"""A catalogue of structural mutations, each of which verify_model must report.

Each mutation changes a correctly built model the way a bug would. Several leave every parameter count
unchanged (moved stride, changed padding, a removed ReLU, reordered layers): those are why verification
fingerprints shapes, settings and layer order, not just counts. A mutation that passes is a verifier bug.
"""

from __future__ import annotations

import types

import paddle
import pytest
from paddle import nn

from paddle_resnet import ZeroPadShortcut, count_params, create_model, verify_model


def build(name):
    with paddle.LazyGuard():  # structure only: fast, no weights needed
        return create_model(name)


def moved_stride_to_1x1(model):
    """v1.5 -> v1: the stride of layer2's first bottleneck moves from the 3x3 to the first 1x1 conv."""
    block = model.layer2[0]
    block.conv1._stride, block.conv2._stride = [2, 2], [1, 1]


def moved_stride_in_basic_block(model):
    block = model.layer2[0]
    block.conv1._stride, block.conv2._stride = [1, 1], [2, 2]


def changed_maxpool_padding(model):
    model.maxpool = nn.MaxPool2D(kernel_size=3, stride=2, padding=0)


def dilated_3x3_same_shapes(model):
    """Padding 1 -> 2 with dilation 2: same output shapes, same parameters, a different operation."""
    old = model.layer3[1].conv2
    model.layer3[1].conv2 = nn.Conv2D(old._in_channels, old._out_channels, 3, padding=2, dilation=2,
                                      groups=old._groups, bias_attr=False)


def removed_relu(model):
    model.layer1[1].relu2 = nn.Identity()


def swapped_relu_for_gelu(model):
    model.layer4[0].relu1 = nn.GELU()


def removed_batchnorm(model):
    model.layer2[1].bn1 = nn.Identity()


def projection_where_identity_belongs(model):
    model.layer1[1].downsample = nn.Sequential(nn.Conv2D(256, 256, 1, bias_attr=False), nn.BatchNorm2D(256))


def zero_pad_where_projection_belongs(model):
    model.layer1[0].downsample = ZeroPadShortcut(64, 256, 1)


def projection_instead_of_option_a(model):  # on resnet20
    model.layer2[0].downsample = nn.Sequential(nn.Conv2D(16, 32, 1, stride=2, bias_attr=False),
                                               nn.BatchNorm2D(32))


def block_missing_from_stage(model):
    model.layer3 = nn.Sequential(*list(model.layer3)[:-1])


def wrong_groups(model):  # on resnext50_32x4d
    old = model.layer1[0].conv2
    model.layer1[0].conv2 = nn.Conv2D(old._in_channels, old._out_channels, 3, padding=1, groups=16,
                                      bias_attr=False)


def resized_head(model):
    model.fc = nn.Linear(2048, 999)


def relu_before_batchnorm(model):
    """Same layers, same counts, a different order: relu(conv) then bn in one block's first unit."""
    block = model.layer2[2]

    def forward(self, x):
        out = self.bn1(self.relu1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(out + x)

    block.forward = types.MethodType(forward, block)


def extra_block(model):
    model.layer1.add_sublayer("3", type(model.layer1[1])(256, 256, inner_width=64))


# (mutation, architecture, metrics that must be among the mismatches, whether parameter counts stay equal)
CATALOGUE = [
    (moved_stride_to_1x1, "resnet50", {"digest", "macs"}, True),
    (moved_stride_in_basic_block, "resnet18", {"digest", "macs"}, True),
    (changed_maxpool_padding, "resnet50", {"digest", "macs", "stage_shapes.stem"}, True),
    (dilated_3x3_same_shapes, "resnet50", {"digest"}, True),
    (removed_relu, "resnet50", {"digest", "layer_counts.ReLU"}, True),
    (swapped_relu_for_gelu, "resnet50", {"digest", "layer_counts.ReLU", "layer_counts.GELU"}, True),
    (removed_batchnorm, "resnet50", {"digest", "params.total", "layer_counts.BatchNorm2D"}, False),
    (projection_where_identity_belongs, "resnet50", {"params.total", "layer_counts.Conv2D", "macs"}, False),
    (zero_pad_where_projection_belongs, "resnet50", {"params.total", "layer_counts.ZeroPadShortcut"}, False),
    (projection_instead_of_option_a, "resnet20", {"params.total", "layer_counts.ZeroPadShortcut"}, False),
    (block_missing_from_stage, "resnet50", {"params.total", "layer_counts.BottleneckBlock", "macs"}, False),
    (wrong_groups, "resnext50_32x4d", {"params.total", "macs", "digest"}, False),
    (resized_head, "resnet50", {"params.total", "output_shape", "stage_shapes.head"}, False),
    (relu_before_batchnorm, "resnet50", {"digest"}, True),
    (extra_block, "resnet50", {"params.total", "layer_counts.BottleneckBlock"}, False),
]


@pytest.mark.parametrize("mutate, name, flagged, same_params", CATALOGUE, ids=[m[0].__name__ for m in CATALOGUE])
def test_verify_model_reports_the_mutation(mutate, name, flagged, same_params):
    model = build(name)
    before = count_params(model)
    assert verify_model(model, name).ok  # the unmutated model passes: the failure below is the mutation's
    mutate(model)
    result = verify_model(model, name)
    assert not result.ok
    reported = {metric for metric, _, _ in result.mismatches}
    assert flagged <= reported, f"expected {flagged} among {reported}"
    assert (count_params(model) == before) == same_params


def test_a_mutation_that_breaks_the_forward_pass_is_reported_not_raised():
    model = build("resnet50")
    model.layer2[0].downsample = None  # 256 channels at 56x56 cannot be added to 512 at 28x28
    result = verify_model(model, "resnet50")
    assert not result.ok
    metric, expected, actual = result.mismatches[0]
    assert metric == "runs" and "cannot add tensors of shapes" in actual and "layer2.0" in actual
