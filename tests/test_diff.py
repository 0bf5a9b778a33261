"""Model against model: ``diff_models`` and ``python -m paddle_resnet diff``, by path and by computation, against
paddle.vision's and PaddleClas's implementations built side by side."""

from __future__ import annotations

import json

import paddle
import pytest
from paddle.vision.models import resnet as vision

from helpers import run_cli
from helpers.paddleclas import paddleclas_reference
from paddle_resnet import create_model, diff_models, resnet18, resnet50, resnext50_32x4d
from paddle_resnet.analysis.trace import trace_graph
from paddle_resnet.verification.compare import BY, compare_rows, render_differences


def lazily(build, *args, **kwargs):
    with paddle.LazyGuard():
        return build(*args, **kwargs)


def test_ours_and_paddle_vision_have_no_structural_difference():
    result = diff_models(lazily(resnet50), lazily(vision.resnet50), (1, 3, 224, 224))
    assert result.same and result.same_computation
    assert result.a.params == result.b.params and result.a.macs == result.b.macs == 4_089_184_256


def test_v1_against_v1_5_names_the_moved_strides():
    result = diff_models(lazily(resnet50), lazily(resnet50, stride_on="1x1"), (1, 3, 224, 224))
    assert not result.same and not result.same_computation
    lines = result.render().splitlines()
    assert "  layer2.0.conv1: stride [1, 1] -> [2, 2]; output shape [1, 128, 56, 56] -> [1, 128, 28, 28]" in lines
    assert "  layer4.0.conv2: stride [2, 2] -> [1, 1]" in lines
    assert any(line.startswith("B - A") and "-231,211,008" in line for line in lines)


def test_resnet50_against_resnext50_differs_in_widths_and_groups():
    result = diff_models(lazily(resnet50), lazily(resnext50_32x4d), (1, 3, 224, 224))
    conv2 = next(d for d in result.differences if d.where == "layer1.0.conv2")
    assert conv2.attributes["groups"] == (1, 32) and conv2.attributes["channels"] == ([64, 64], [128, 128])
    assert result.b.params["total"] - result.a.params["total"] == 25_097_128 - 25_610_152


def test_alignment_reports_an_added_block_once_and_pairs_the_rows_after_it():
    rows = trace_graph(lazily(resnet18), (1, 3, 64, 64)).rows
    longer = lazily(resnet18)
    longer.layer1.add_sublayer("2", type(longer.layer1[1])(64, 64))
    differences = compare_rows(rows, trace_graph(longer, (1, 3, 64, 64)).rows)
    lines = render_differences(differences, limit=None)
    assert lines[0].startswith("layer1.2: added (BasicBlock [1, 64, 16, 16], and the 7 rows inside it)")
    assert all(d.where.startswith(("layer1.2", "layer2.0")) for d in differences)  # nothing later is "changed"


def test_by_computation_ignores_names():
    renamed = lazily(resnet18)
    renamed.add_sublayer("stage_one", renamed.layer1)  # the same layers under a second name: paths differ
    del renamed._sub_layers["layer1"]
    renamed.__dict__["layer1"] = renamed.stage_one  # forward still reaches it as self.layer1
    a, b = trace_graph(lazily(resnet18), (1, 3, 64, 64)).rows, trace_graph(renamed, (1, 3, 64, 64)).rows
    assert compare_rows(a, b, "path") and not compare_rows(a, b, "computation")


def test_ours_and_paddleclas_resnet50_compute_the_same_network():
    """PaddleClas's ResNet50 names and nests everything differently (``blocks.3.conv1.conv``, its legacy
    ``BatchNorm`` class, ``paddle.add``); by computation it is our ResNet-50."""
    resnet = paddleclas_reference().load_resnet_module()
    theirs = lazily(resnet.ResNet50, pretrained=False)
    by_path = diff_models(lazily(resnet50), theirs, (1, 3, 224, 224))
    assert not by_path.same and by_path.same_computation and "only the names differ" in by_path.verdict()
    by_computation = diff_models(lazily(resnet50), theirs, (1, 3, 224, 224), by="computation")
    assert by_computation.same and by_computation.a.params == by_computation.b.params


def test_paddleclas_resnet18_differs_by_its_first_projection():
    """PaddleClas's plain ResNet18 projects the first block's shortcut with a 1x1 convolution (64 to 64) where
    ours, torchvision's and paddle.vision's pass the identity: that is its one difference."""
    resnet = paddleclas_reference().load_resnet_module()
    result = diff_models(lazily(resnet18), lazily(resnet.ResNet18, pretrained=False), (1, 3, 224, 224),
                         by="computation")
    assert [(d.change, d.where) for d in result.differences] == [
        ("added", "blocks.0.short.conv"), ("added", "blocks.0.short.bn"), ("changed", "layer1.0:add")]
    assert result.differences[2].attributes == {"inputs": ([":max_pool2d", "layer1.0.bn2"],
                                                           ["blocks.0.conv1", "blocks.0.short"])}
    assert result.b.params["total"] - result.a.params["total"] == 64 * 64 + 4 * 64  # conv + BatchNorm


def test_a_plain_net_against_its_residual_twin_shows_the_additions(capsys):
    """plain20 vs resnet20: the same layers; the twin adds one addition per block and its option-A shortcuts."""
    result = diff_models(lazily(create_model, "plain20"), lazily(create_model, "resnet20"), (1, 3, 32, 32))
    assert not result.same and result.a.params == result.b.params and result.a.macs == result.b.macs
    added = [d.where for d in result.differences if d.change == "added"]
    assert sum(where.endswith(":add") for where in added) == 9  # one per block
    assert "layer2.0.downsample" in added and not [d for d in result.differences if d.change == "removed"]
    code, out, _ = run_cli(capsys, "diff", "plain20", "resnet20")
    assert code == 1 and "layer1.0:add: added" in out


@pytest.mark.slow
def test_diff_command_plain34_against_resnet34_shows_the_additions(capsys):
    code, out, _ = run_cli(capsys, "diff", "plain34", "resnet34", "--limit", "0")
    assert code == 1 and "layer1.0:add: added" in out and "layer4.2:add: added" in out
    assert "layer2.0.downsample.0: added" in out


def test_diff_command(capsys):
    code, out, _ = run_cli(capsys, "diff", "resnet50", "paddle.vision.models:resnet50")
    assert code == 0 and "compared by path: no structural difference" in out
    code, out, _ = run_cli(capsys, "diff", "resnet50", "resnet50:stride_on=1x1", "--limit", "2")
    assert code == 1 and "  layer2.0.conv1: stride [1, 1] -> [2, 2]" in out and "... and 4 more rows differ" in out
    # the bn1 and ReLU after each moved stride only follow from it: one line, not six
    assert "... and 6 rows after them whose output shape only follows from theirs" in out
    code, out, _ = run_cli(capsys, "diff", "resnet20", "resnet20:shortcut=B", "--format", "markdown")
    assert code == 1 and "| A     | resnet20" in out and "- `layer2.0.downsample`: removed (ZeroPadShortcut" in out
    code, out, _ = run_cli(capsys, "diff", "resnet18", "paddle.vision.models:resnet18:num_classes=10",
                           "--input-size", "64", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["input_size"] == [1, 3, 64, 64] and data["delta"]["params"] == -(513_000 - 5_130)
    assert data["differences"][0]["where"] == "fc" and data["differences"][0]["attributes"]["features"] == [
        [512, 1000], [512, 10]]


def test_diff_command_against_paddleclas_by_computation(capsys):
    paddleclas_reference()
    code, out, _ = run_cli(capsys, "diff", "resnet50", "references.paddleclas:build:row=resnet50",
                           "--by", "computation")
    assert code == 0 and "compared by computation: no structural difference" in out


@pytest.mark.parametrize("argv, message", [
    (["resnet5", "resnet50"], "Did you mean"),
    (["resnet50", "helpers.user_models:failing_factory"], "the factory needs a config file"),
    (["resnet50", "resnet50", "--by", "name"], "invalid choice"),
])
def test_diff_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run_cli(capsys, "diff", *argv)
    assert code == 2 and message in err


@pytest.mark.parametrize("argv, message", [
    (["--limit", "-1"], "'-1': expected a whole number of rows"),
    (["--output", "no/such/folder/diff.txt"], "is not an existing directory"),
])
def test_diff_refuses_bad_options_before_building_anything(capsys, argv, message):
    code, _, err = run_cli(capsys, "diff", "resnet18", "no.such.module:build", *argv)
    assert code == 2 and message in err and "usage: python -m paddle_resnet diff" in err


class _Inception(paddle.nn.Layer):
    """An Inception-like block: four branches from one input, concatenated. ``order`` is the order the forward
    computes the branches in (a pure refactor), ``concat`` the order it concatenates them in (a change),
    ``halves`` the order of the two outputs of a ``paddle.split`` it adds back together after a 1x1 conv
    (a change: only the first half is convolved), ``shortcut`` the operand added to the last branch."""

    def __init__(self, order=(0, 1, 2, 3), concat=(0, 1, 2, 3), halves=(0, 1), shortcut="branch"):
        super().__init__()
        self.order, self.concat, self.halves, self.shortcut = order, concat, halves, shortcut
        conv, relu = paddle.nn.Conv2D, paddle.nn.ReLU
        self.b1 = paddle.nn.Sequential(conv(4, 2, 1), relu())
        self.b2 = paddle.nn.Sequential(conv(4, 2, 1), relu(), conv(2, 2, 3, padding=1), relu())
        self.b3 = paddle.nn.Sequential(conv(4, 2, 1), relu(), conv(2, 2, 5, padding=2), relu())
        self.b4 = paddle.nn.Sequential(paddle.nn.MaxPool2D(3, 1, 1), conv(4, 2, 1), relu())
        self.mix = conv(8, 4, 1)

    def forward(self, x):
        branches, outputs = [self.b1, self.b2, self.b3, self.b4], [None] * 4
        for index in self.order:
            outputs[index] = branches[index](x)
        outputs[3] = outputs[3] + (outputs[2] if self.shortcut == "branch" else outputs[1])
        y = paddle.concat([outputs[index] for index in self.concat], axis=1)
        halves = paddle.split(y, 2, axis=1)
        first, second = halves[self.halves[0]], halves[self.halves[1]]
        return self.mix(paddle.concat([first, second * 2], axis=1))


def _inception_rows(**kwargs):
    paddle.seed(0)
    return trace_graph(_Inception(**kwargs), (1, 4, 8, 8)).rows


@pytest.mark.parametrize("by", ["path", "computation"])
def test_independent_branches_computed_in_another_order_match(by):
    """Rows are aligned by data flow: a refactor that runs the branches in another order is no difference."""
    expected = _inception_rows()
    for order in [(3, 1, 0, 2), (2, 3, 0, 1), (3, 2, 1, 0)]:
        actual = _inception_rows(order=order)
        assert [r.id for r in actual] != [r.id for r in expected]  # the forward order did change
        assert compare_rows(expected, actual, by) == [], order


@pytest.mark.parametrize("by", ["path", "computation"])
@pytest.mark.parametrize("change, where", [
    (dict(concat=(1, 0, 2, 3)), ":concat"),
    (dict(halves=(1, 0)), ":multiply"),
    (dict(shortcut="other"), ":add"),
])
def test_a_changed_operand_order_is_still_caught(by, change, where):
    """Whatever order the branches run in, a changed concat order, split order or addition operand is one line at
    the row that consumes it."""
    expected = _inception_rows()
    for order in [(0, 1, 2, 3), (3, 1, 0, 2)]:
        differences = compare_rows(expected, _inception_rows(order=order, **change), by)
        lines = render_differences(differences)
        assert differences and len(lines) <= 2, lines
        assert where in differences[0].where and "inputs" in differences[0].attributes, lines


def test_a_golden_check_passes_a_refactor_that_reorders_branches_and_catches_a_swapped_concat(tmp_path):
    """The same through the golden-file check, values included: the reordered forward matches, with a note
    saying so; the swapped concat is a mismatch named at the concat."""
    from paddle_resnet.verification.structure import check_structure, record_structure

    golden = tmp_path / "inception.json"
    record_structure(_Inception(), golden, [1, 4, 8, 8], name="inception", mode="eval")
    result = check_structure(_Inception(order=(3, 1, 0, 2)), golden, "inception")
    assert result.ok and "another order" in result.report(), result.report()
    swapped = check_structure(_Inception(order=(3, 1, 0, 2), concat=(1, 0, 2, 3)), golden, "inception")
    assert not swapped.ok and swapped.differences[0].where == ":concat", swapped.report()



def test_diff_of_a_refactor_reordering_functional_branches_is_empty_and_a_swapped_concat_is_one_line():
    """``diff_models`` on a block that calls ``F.relu``/``F.max_pool2d``/``paddle.add`` in its own forward: its
    repeated calls are named by data flow, so computing the branches in another order is no difference by path
    or by computation; concatenating them in another order is one line, at the concat, both ways."""
    from helpers.user_models import FunctionalInception

    size = (1, 3, 8, 8)
    for by in BY:
        same = diff_models(FunctionalInception(), FunctionalInception(order="edcba", add="ca"), size, by=by)
        assert same.same and same.same_computation, same.render()
        swapped = diff_models(FunctionalInception(), FunctionalInception(order="edcba", concat="sbft"), size, by=by)
        lines = render_differences(swapped.differences)
        assert len(lines) == 1 and lines[0].startswith("block:concat: inputs"), lines

def test_a_layer_removed_before_the_model_stops_is_the_first_line(tmp_path):
    """A convolution replaced by Identity: the next BatchNorm cannot run; the report names the removed convolution
    (the cause) before the failure, and not the rows the model never reached."""
    from paddle_resnet.verification.structure import check_structure, record_structure

    def net():
        paddle.seed(0)
        return paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.ReLU(), paddle.nn.Conv2D(4, 8, 1),
                                    paddle.nn.BatchNorm2D(8), paddle.nn.Conv2D(8, 2, 1))

    golden = tmp_path / "net.json"
    record_structure(net(), golden, [1, 3, 8, 8], name="net", mode="eval")
    model = net()
    model._sub_layers["2"] = paddle.nn.Identity()
    result = check_structure(model, golden, "net")
    assert not result.ok and [(d.where, d.change) for d in result.differences] == [("2", "removed")], \
        result.report()
    assert "runs: " in result.report()


def test_a_golden_file_numbering_repeated_calls_otherwise_checks_the_same(tmp_path):
    """A golden file whose repeated functional calls are numbered otherwise (as one recorded before they were
    numbered by data flow: by call order) pairs its rows with the model's by data flow, structure and values:
    no false alarm, and a swapped concat is still the one line."""
    from helpers.user_models import FunctionalInception
    from paddle_resnet.verification.structure import check_structure, record_structure

    golden = tmp_path / "functional.json"
    record_structure(FunctionalInception(), golden, [1, 3, 8, 8], name="functional", mode="eval")
    text = golden.read_text()
    assert '"block:relu"' in text and '"block:relu#4"' in text
    golden.write_text(text.replace('"block:relu"', '"swap"').replace('"block:relu#4"', '"block:relu"')
                      .replace('"swap"', '"block:relu#4"'))
    for order in ["abcde", "edcba"]:
        result = check_structure(FunctionalInception(order=order), golden, "functional")
        assert result.ok and "value rows" in result.report(), result.report()
        swapped = check_structure(FunctionalInception(order=order, concat="bstf"), golden, "functional")
        assert not swapped.ok and render_differences(swapped.differences) == [
            'block:concat: inputs ["block:add", "block:relu#3", "block:subtract", "block:split[1]"] -> '
            '["block:relu#3", "block:add", "block:subtract", "block:split[1]"]'], swapped.report()
        assert "values differ is block:concat" in swapped.report(), swapped.report()


def test_the_verdict_counts_one_differing_row_in_the_singular():
    def tiny(stride=1, activation=paddle.nn.ReLU):
        return paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3, stride=stride), activation())

    one = diff_models(tiny(), tiny(activation=paddle.nn.ReLU6), (1, 3, 8, 8))
    assert [d.where for d in one.differences] == [":relu"]  # the activation row: ReLU -> ReLU6
    assert one.verdict() == "compared by path: 1 row differs (2 and 2 rows)"
    two = diff_models(tiny(), tiny(stride=2), (1, 3, 8, 8))  # the ReLU's output shape follows the stride
    assert two.verdict() == "compared by path: 2 rows differ (2 and 2 rows)"


def test_a_golden_entry_of_one_value_row_is_described_in_the_singular():
    from paddle_resnet.verification.golden import _describe_outputs

    outputs = {"rows": [[0, [0.5, 1.0]]], "dtype": "float32", "input_size": [1, 3, 8, 8]}
    assert _describe_outputs(outputs) == "1 value row (float32, at [1, 3, 8, 8])"
    assert _describe_outputs({**outputs, "rows": outputs["rows"] * 2}).startswith("2 value rows")
