"""A catalogue of structural mutations, each of which verify_model must report, and locate.

Each mutation changes a correctly built model the way a bug would. Several leave every parameter count
unchanged (moved stride, changed padding, a removed ReLU, reordered layers, a removed residual addition, a
changed BatchNorm epsilon, zero channels padded on the wrong side): those are why verification records every
layer and every operation between layers with its settings, not just counts. Each must be reported at the right
row and attribute (``LayerDifference.where`` and the attribute, or ``added``/``removed``/``moved``). A mutation
that passes, or is reported elsewhere, is a verifier bug.
"""

from __future__ import annotations

import functools
import types

import paddle
import pytest
from paddle import nn
from paddle.nn import functional as F

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


def inserted_layer(model):
    """A 1x1 convolution slipped in between two blocks of a stage (the blocks keep their names)."""
    blocks = list(model.layer2.named_children())
    model.layer2 = nn.Sequential(blocks[0], ("extra", nn.Conv2D(512, 512, 1, bias_attr=False)), *blocks[1:])


def removed_block(model):
    """A block dropped from the middle of a stage (the others keep their names)."""
    model.layer3 = nn.Sequential(*[(name, block) for name, block in model.layer3.named_children() if name != "2"])


def _replace_forward(block, forward):
    block.forward = types.MethodType(forward, block)


def removed_residual_addition(model):
    """A "residual" block without its shortcut: the output is the residual branch alone."""
    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        return self.relu3(self.bn3(self.conv3(out)))

    _replace_forward(model.layer2[1], forward)


def relu_before_addition(model):
    """The block's last ReLU applied to the residual branch before the addition instead of after it."""
    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        return self.relu3(self.bn3(self.conv3(out))) + x

    _replace_forward(model.layer2[1], forward)


def changed_batchnorm_epsilon(model):
    model.layer3[0].bn2._epsilon = 1e-3


def zero_channels_before_the_input(model):  # on resnet20: option A appends the zero channels after the input's
    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        n, _, h, w = x.shape
        return paddle.concat([paddle.zeros([n, self.out_channels - self.in_channels, h, w]), x], axis=1)

    _replace_forward(model.layer2[0].downsample, forward)


def zero_channels_on_both_sides(model):  # on resnet20, as a popular CIFAR ResNet pads: half before, half after
    def forward(self, x):
        half = (self.out_channels - self.in_channels) // 2
        return F.pad(x[:, :, ::self.stride, ::self.stride], [0, 0, half, half, 0, 0, 0, 0])

    _replace_forward(model.layer2[0].downsample, forward)


# (mutation, architecture, metrics that must be among the mismatches, whether parameter counts stay equal,
#  the (row, attribute or change) pairs the localised report must contain)
CATALOGUE = [
    (moved_stride_to_1x1, "resnet50", {"macs"}, True, {("layer2.0.conv1", "stride"), ("layer2.0.conv2", "stride")}),
    (moved_stride_in_basic_block, "resnet18", {"macs"}, True,
     {("layer2.0.conv1", "stride"), ("layer2.0.conv2", "stride")}),
    (changed_maxpool_padding, "resnet50", {"macs", "stage_shapes.stem"}, True, {(":max_pool2d", "padding")}),
    (dilated_3x3_same_shapes, "resnet50", set(), True,
     {("layer3.1.conv2", "dilation"), ("layer3.1.conv2", "padding")}),
    (removed_relu, "resnet50", {"layer_counts.ReLU"}, True,
     {("layer1.1:relu#2", "removed"), ("layer1.1.conv3", "inputs")}),
    (swapped_relu_for_gelu, "resnet50", {"layer_counts.ReLU", "layer_counts.GELU"}, True,
     {("layer4.0:relu", "type")}),
    (removed_batchnorm, "resnet50", {"params.total", "layer_counts.BatchNorm2D"}, False, {("layer2.1.bn1", "removed")}),
    (projection_where_identity_belongs, "resnet50", {"params.total", "layer_counts.Conv2D", "macs"}, False,
     {("layer1.1.downsample.0", "added"), ("layer1.1.downsample.1", "added"), ("layer1.1:add", "inputs")}),
    (zero_pad_where_projection_belongs, "resnet50", {"params.total", "layer_counts.ZeroPadShortcut"}, False,
     {("layer1.0.downsample.0", "removed"), ("layer1.0.downsample", "added")}),
    (projection_instead_of_option_a, "resnet20", {"params.total", "layer_counts.ZeroPadShortcut"}, False,
     {("layer2.0.downsample", "removed"), ("layer2.0.downsample.0", "added")}),
    (block_missing_from_stage, "resnet50", {"params.total", "layer_counts.BottleneckBlock", "macs"}, False,
     {("layer3.5", "removed"), ("layer3.5.conv1", "removed")}),
    (wrong_groups, "resnext50_32x4d", {"params.total", "macs"}, False, {("layer1.0.conv2", "groups")}),
    (resized_head, "resnet50", {"params.total", "output_shape", "stage_shapes.head"}, False, {("fc", "features")}),
    (relu_before_batchnorm, "resnet50", set(), True,
     {("layer2.2:relu", "moved"), ("layer2.2.bn1", "inputs"), ("layer2.2.conv2", "inputs")}),
    (extra_block, "resnet50", {"params.total", "layer_counts.BottleneckBlock"}, False, {("layer1.3", "added")}),
    (inserted_layer, "resnet50", {"params.total", "layer_counts.Conv2D", "macs"}, False,
     {("layer2.extra", "added"), ("layer2.1.conv1", "inputs")}),
    (removed_block, "resnet50", {"params.total", "layer_counts.BottleneckBlock", "macs"}, False,
     {("layer3.2", "removed"), ("layer3.3.conv1", "inputs")}),
    (removed_residual_addition, "resnet50", set(), True, {("layer2.1:add", "removed"), ("layer2.1:relu#3", "inputs")}),
    (relu_before_addition, "resnet50", set(), True, {("layer2.1:relu#3", "moved"), ("layer2.1:add", "inputs")}),
    (changed_batchnorm_epsilon, "resnet50", set(), True, {("layer3.0.bn2", "epsilon")}),
    (zero_channels_before_the_input, "resnet20", set(), True, {("layer2.0.downsample:concat", "inputs")}),
    (zero_channels_on_both_sides, "resnet20", set(), True,
     {("layer2.0.downsample:zeros", "removed"), ("layer2.0.downsample:concat", "type"),
      ("layer2.0.downsample:concat", "pad")}),
]


def located(result):
    """The ``(row, attribute)`` pairs of a result's layer differences (``(row, change)`` for whole rows)."""
    pairs = set()
    for difference in result.differences:
        if difference.change != "changed":
            pairs.add((difference.where, difference.change))
        pairs |= {(difference.where, attribute) for attribute in difference.attributes}
    return pairs


@functools.lru_cache(maxsize=None)
def unmutated_passes(name) -> bool:
    return verify_model(build(name), name).ok


#: The mutations the fast tier runs: one of each kind (a stride, a shortcut, groups, zero channels, a ReLU, a
#: BatchNorm, a block, the addition); the others run with --runslow.
FAST_MUTATIONS = {"moved_stride_in_basic_block", "projection_instead_of_option_a", "wrong_groups",
                  "zero_channels_before_the_input", "zero_channels_on_both_sides", "removed_residual_addition",
                  "relu_before_addition", "removed_batchnorm", "block_missing_from_stage"}


@pytest.mark.parametrize("mutate, name, flagged, same_params, where", [
    case if case[0].__name__ in FAST_MUTATIONS else pytest.param(*case, marks=pytest.mark.slow)
    for case in CATALOGUE], ids=[m[0].__name__ for m in CATALOGUE])
def test_verify_model_reports_and_locates_the_mutation(mutate, name, flagged, same_params, where):
    model = build(name)
    before = count_params(model)
    assert unmutated_passes(name)  # the failure below is the mutation's
    mutate(model)
    result = verify_model(model, name)
    assert not result.ok
    reported = {metric for metric, _, _ in result.mismatches}
    assert flagged <= reported, f"expected {flagged} among {reported}"
    assert where <= located(result), f"expected {where} among {located(result)}\n{result.report()}"
    first = result.report().splitlines()
    assert any(line.strip().startswith(next(iter(sorted(where)))[0]) for line in first), result.report()
    assert (count_params(model) == before) == same_params


def test_the_report_of_a_mutation_names_layers_and_counts_the_rest():
    model = build("resnet50")
    moved_stride_to_1x1(model)
    model.layer4[0].conv1._stride = [2, 2]
    model.layer4[0].conv2._stride = [1, 1]
    report = verify_model(model, "resnet50").report(limit=5).splitlines()
    assert report[0] == "resnet50: MISMATCH at input [1, 3, 224, 224] (eval mode)"
    assert "    layer2.0.conv1: stride [1, 1] -> [2, 2]; output shape [1, 128, 56, 56] -> [1, 128, 28, 28]" in report
    assert "    layer2.0.conv2: stride [2, 2] -> [1, 1]" in report
    # 8 rows differ: layer2.0 and layer4.0, 4 each, of them 2 each (bn1 and the ReLU after the moved stride) only
    # because the shape before them did: those are one line after the causes
    assert "    layer4.0.conv2: stride [2, 2] -> [1, 1]" in report
    assert report[-2] == "    ... and 4 rows after them whose output shape only follows from theirs"
    assert report[-1].startswith("  values: the first row whose values differ is layer2.0.conv1 ")


def test_a_mutation_that_breaks_the_forward_pass_is_reported_not_raised():
    model = build("resnet50")
    model.layer2[0].downsample = None  # 256 channels at 56x56 cannot be added to 512 at 28x28
    result = verify_model(model, "resnet50")
    assert not result.ok
    metric, expected, actual = result.mismatches[0]
    assert metric == "runs" and "cannot add tensors of shapes" in actual and "layer2.0" in actual


def test_a_stride_that_breaks_a_later_addition_is_reported_at_its_convolution():
    """The residual addition fails (its two inputs' shapes differ), but the report starts at the cause: the first
    row whose shape differs, with the failure after the rows as its consequence."""
    model = build("resnet50")
    model.layer2[1].conv2._stride = [2, 2]
    lines = verify_model(model, "resnet50").report().splitlines()
    assert lines[2] == "    layer2.1.conv2: stride [1, 1] -> [2, 2]; output shape [1, 128, 28, 28] -> [1, 128, 14, 14]"
    runs = [line for line in lines if line.startswith("  runs: ")]
    assert len(runs) == 1 and "layer2.1: cannot add tensors of shapes" in runs[0]
    assert lines.index(runs[0]) > 2


class _ThreeSums(nn.Layer):
    """Three independent additions in one forward, called in the order z, m + p, b: numbered by data flow, the
    call order's first (``z``'s) is ``add#2`` of the whole forward but ``add`` of a forward that stops at the
    second (the data-flow numbering of a repeated name depends on which calls ran, as in HRNet's fuse layers)."""

    def __init__(self):
        super().__init__()
        self.z, self.m, self.p, self.b = (nn.Conv2D(4, 4, 3, padding=1) for _ in range(4))

    def forward(self, x):
        z = paddle.add(self.z(x), x)
        mp = paddle.add(self.m(x), self.p(x))
        b = paddle.add(self.b(x), x)
        return paddle.concat([z, mp, b], axis=1)


def test_a_model_that_stops_reports_no_row_it_did_not_reach_as_removed(tmp_path):
    """The rows a stopped model reached are found through the pairing, not by id: the recorded ``add`` (here the
    call after the one that fails) is not reached because the partial trace also has a row named ``add``."""
    from paddle_resnet.verification.structure import check_structure, record_structure

    model = nn.Sequential(_ThreeSums())
    record_structure(model, tmp_path / "g.json", [1, 4, 8, 8], name="sums")
    model[0].p._updated_padding = model[0].p._padding = [2, 2]  # m + p then fails: 8x8 + 10x10
    result = check_structure(model, tmp_path / "g.json", "sums")
    lines = result.report(limit=None).splitlines()
    assert not result.ok and lines[2].startswith("    0.p: padding [1, 1, 1, 1] -> [2, 2, 2, 2]"), result.report()
    assert not [d for d in result.differences if d.change == "removed"], result.report()
