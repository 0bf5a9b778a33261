"""The summary: paddle.summary's rows and footer, reproduced without running the convolutions."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re

import paddle
import pytest

from paddle_resnet import BasicBlock, create_model, summarize
from paddle_resnet.analysis.summary import with_units

from references import closed_form
from helpers import constant_init, run_cli

# A row of paddle.summary's table (label, input shapes, output shape, parameters), and our Mult-Adds and module
# path after it.
ROW = re.compile(r"^\s*(\S+)\s+(\[\[.*?\]\])\s+(\[.*?\])\s+([\d,]+)(?:\s+([\d,]+|--))?(?:\s+(\S+))?\s*$")

# The BasicBlock(64, 128, 2) printout of the source reproduction (a 2021 PaddlePaddle ResNet write-up the
# project started from; see docs/architecture.md), Paddle 2.1. Its
# trainable/non-trainable split is the old convention (see docs/architecture.md); everything else is current.
SOURCE_BASIC_BLOCK = """\
---------------------------------------------------------------------------
 Layer (type)       Input Shape          Output Shape         Param #    
===========================================================================
   Conv2D-1     [[1, 64, 224, 224]]   [1, 128, 112, 112]      73,728     
 BatchNorm2D-1  [[1, 128, 112, 112]]  [1, 128, 112, 112]        512      
    ReLU-1      [[1, 128, 112, 112]]  [1, 128, 112, 112]         0       
   Conv2D-2     [[1, 128, 112, 112]]  [1, 128, 112, 112]      147,456    
 BatchNorm2D-2  [[1, 128, 112, 112]]  [1, 128, 112, 112]        512      
   Conv2D-3     [[1, 64, 224, 224]]   [1, 128, 112, 112]       8,192     
 BatchNorm2D-3  [[1, 128, 112, 112]]  [1, 128, 112, 112]        512      
    ReLU-2      [[1, 128, 112, 112]]  [1, 128, 112, 112]         0       
===========================================================================
Total params: 230,912
Trainable params: 229,376
Non-trainable params: 1,536
---------------------------------------------------------------------------
Input size (MB): 12.25
Forward/backward pass size (MB): 98.00
Params size (MB): 0.88
Estimated Total Size (MB): 111.13
---------------------------------------------------------------------------
"""


def paddle_summary_text(model, size):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        paddle.summary(model, size)
    return out.getvalue()


def rows_and_footer(text):
    """The layer rows (input, output, params) and the footer lines; our rows of operations between layers (their
    module path is ``owner:op``) are none of paddle.summary's."""
    rows = [m.groups()[1:4] for m in map(ROW.match, text.splitlines()) if m and ":" not in (m.group(6) or "")]
    footer = [line for line in text.splitlines()
              if re.match(r"^(Total params|Trainable params|Non-trainable|Input size|Forward/backward|Params size|"
                          r"Estimated)", line)]
    return rows, footer


def test_reproduces_the_source_documents_block_printout():
    """paddle.summary's rows and footer, value for value, with the residual addition as a row of its own, each
    row's Mult-Adds and module path to the right."""
    text = summarize(BasicBlock(64, 128, 2), (1, 64, 224, 224)).render()
    ours = [m.groups() for m in map(ROW.match, text.splitlines()) if m]
    source = [m.groups()[:4] for m in map(ROW.match, SOURCE_BASIC_BLOCK.splitlines()) if m]
    assert [row[:4] for row in ours if row[5] != ":add"] == source
    assert [row[0] for row in ours[4:7]] == ["BatchNorm2D-2", "Conv2D-3", "BatchNorm2D-3"] and ours[7][0] == "add-1"
    assert ours[7][1:] == ("[[1, 128, 112, 112], [1, 128, 112, 112]]", "[1, 128, 112, 112]", "0", "--", ":add")
    assert [row[5] for row in ours] == ["conv1", "bn1", "relu1", "conv2", "bn2", "downsample.0", "downsample.1",
                                        ":add", "relu2"]
    # Mult-Adds of a convolution: output positions x kernel weights (the first: 112*112 * 3*3*64*128)
    assert [row[4] for row in ours][:4] == [f"{112 * 112 * 73_728:,}", "0", "0", f"{112 * 112 * 147_456:,}"]
    header = text.splitlines()[1].split()
    assert header == ["Layer", "(type)", "Input", "Shape", "Output", "Shape", "Param", "#", "Mult-Adds", "Module"]
    changed = ("Trainable", "Non-trainable")
    footer = [line for line in rows_and_footer(SOURCE_BASIC_BLOCK)[1] if not line.startswith(changed)]
    assert [line for line in rows_and_footer(text)[1] if not line.startswith(changed)] == footer
    assert "Trainable params: 230,144" in text and "Non-trainable params: 768" in text
    convolutions = 112 * 112 * (73_728 + 147_456 + 8_192)  # the three convolutions' Mult-Adds
    assert f"Totals: 231 K params (230,912), 230 K trainable (230,144), 2.88 G Mult-Adds ({convolutions:,}) " \
           "per image" in text


@pytest.mark.parametrize("name, size", [("resnet50", (1, 3, 224, 224)), ("resnet20", (1, 3, 32, 32)),
                                        ("resnext50_32x4d", (1, 3, 96, 96))])
def test_rows_and_footer_equal_paddle_summary(name, size):
    """paddle.summary runs the model; ours derives the same table from the layer settings alone.

    Row labels are left out of the comparison: paddle.summary numbers layers by a process-wide creation
    counter, which depends on what else the process built before.
    """
    with constant_init():
        model = create_model(name)
    assert rows_and_footer(summarize(model, size).render()) == rows_and_footer(paddle_summary_text(model, size))


def test_folding_keeps_the_totals():
    summary = summarize(create_model("resnet50"), (1, 3, 224, 224))
    layers, blocks, stages = (summary.layer_rows(d) for d in ("layers", "blocks", "stages"))
    assert len(layers) > len(blocks) > len(stages) == 6
    for rows in (layers, blocks, stages):
        assert sum(r["params"] for r in rows) == summary.params.total == 25_610_152
        assert sum(r["macs"] for r in rows) == summary.macs == 4_089_184_256
    assert [r["layer"] for r in stages] == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    assert sum(1 for r in blocks if r["layer"].startswith("BottleneckBlock")) == 16
    assert stages[3]["output_shape"] == [1, 1024, 14, 14]


def test_stage_table_and_formats():
    summary = summarize(create_model("resnet50"), (1, 3, 224, 224))
    stages = {row["stage"]: row for row in summary.stage_rows()}
    # The closed-form description (written from the paper) gives each stage's convolution MACs.
    layer3 = [r for r in closed_form.describe("resnet50").rows if r.stage == "layer3" and r.type == "Conv2D"]
    assert stages["layer3"]["macs"] == sum(r.output_shape[2] * r.output_shape[3] * r.params for r in layer3)
    assert stages["layer3"]["blocks"] == 6
    assert abs(sum(row["share"] for row in stages.values()) - 1) < 1e-12
    data = json.loads(summary.render("json", "blocks"))
    assert data["params"]["total"] == 25_610_152 and data["macs"] == 4_089_184_256
    assert data["memory_mb"]["total_mb"] == 384.84  # the source document's ResNet-50 printout
    markdown = summary.render("markdown")
    assert markdown.startswith("| Layer (type)") and "| layer4  |" in markdown
    assert "| Module " in markdown and "| layer1.0.conv1 " in markdown  # where each layer is
    assert "layer3.5.downsample" not in markdown and "| layer3.0.downsample.0 " in markdown
    with pytest.raises(ValueError, match="format='html': expected one of 'text', 'markdown', 'json'"):
        summary.render("html")
    with pytest.raises(ValueError, match="depth='modules': expected one of 'layers', 'blocks', 'stages'"):
        summary.render("text", "modules")


# ------------------------------------------------------------------------------ any model, torchinfo's columns

def test_a_user_model_rows_operations_own_parameters_and_repeated_layers():
    """What paddle.summary and torchinfo users report missing: the concatenation and the scaling between layers
    are rows, the parameter the model created itself is shown and counted, a ReLU (no parameters) is a row, and
    the ReLU called twice is two rows."""
    from helpers.summary_models import scaled_branches

    model = scaled_branches()
    summary = summarize(model, (1, 3, 8, 8))
    rows = summary.layer_rows()
    assert [(r["layer"], r["name"]) for r in rows] == [
        ("Conv2D-1", "left"), ("ReLU-1", "relu"), ("Conv2D-2", "right"), ("concat-1", ":concat"),
        ("multiply-1", ":multiply"), ("ReLU-1", "relu"), ("MaxPool2D-1", "pool"), ("ScaledBranches-1", "")]
    assert rows[3]["input_shape"] == [[1, 4, 8, 8], [1, 4, 8, 8]] and rows[3]["output_shape"] == [1, 8, 8, 8]
    assert rows[-1]["params"] == 8 == model.scale.size  # the model's own parameter, as a row of its own
    assert sum(r["params"] for r in rows) == summary.params.total == sum(p.size for p in model.parameters())
    text = str(summary)
    assert "(model)" in text and text.count(" relu\n") == 2 and "concat-1" in text and "multiply-1" in text


def test_columns_depth_and_units():
    with paddle.LazyGuard():  # no weights needed: faster
        summary = summarize(create_model("resnet18"), (1, 3, 224, 224))
    text = summary.render("text", 2, ["output_size", "kernel_size", "trainable"])
    header = text.splitlines()[1].split()
    assert header == ["Layer", "(type)", "Output", "Shape", "Kernel", "Shape", "Trainable", "#", "Module"]
    assert "Param #" not in text.splitlines()[1] and "Mult-Adds" not in text.splitlines()[1]
    rows = summary.layer_rows(2)
    assert [r["name"] for r in rows if r["name"].startswith("layer1")] == ["layer1.0", "layer1.1"]
    assert sum(r["params"] for r in rows) == summary.params.total and sum(r["macs"] for r in rows) == summary.macs
    assert "    [7, 7]    " in text  # conv1's kernel
    # totals with units beside the exact counts: torchvision publishes 11,689,512 parameters and 1.81 GFLOPS
    # (its "_ops", which are MACs) for ResNet-18; paddle.summary's total adds the BatchNorm statistics
    assert "Totals: 11.7 M params (11,699,112), 11.7 M trainable (11,689,512), 1.81 G Mult-Adds" in text
    with pytest.raises(ValueError, match="columns=\\['outputs'\\]: expected one or more of input_size, "):
        summary.render("text", columns=["outputs"])
    with pytest.raises(ValueError, match="depth=0: expected"):
        summarize(create_model("resnet18"), (1, 3, 32, 32), depth=0)


def test_printing_a_summary_shows_the_table_and_a_notebook_an_html_table():
    with paddle.LazyGuard():
        summary = summarize(create_model("resnet20"), (1, 3, 32, 32), depth="blocks")
    assert str(summary) == summary.render("text", "blocks") and str(summary).startswith("-" * 75)
    params, macs = with_units(summary.params.total), with_units(summary.macs)
    assert repr(summary) == f"<Summary of ResNet at input [1, 3, 32, 32]: {params} params, {macs} Mult-Adds>"
    assert summary._repr_markdown_() == summary.render("markdown", "blocks")
    html = summary._repr_html_()
    assert html.startswith("<table><caption>ResNet at input [1, 3, 32, 32]</caption>")
    assert "<td style=\"text-align:left\">layer2.0</td>" in html and f"Totals: {params} params" in html
    assert html.count("<table>") == 2  # the layers, and one row per stage
    broken = dataclasses.replace(summary, error="a <b> & c")
    assert "stopped: a &lt;b&gt; &amp; c" in broken._repr_html_() and "<b>" not in broken._repr_html_()


def test_a_model_that_fails_partway_shows_the_rows_that_ran_then_the_error(capsys):
    """torchinfo #288: the table up to the failing layer is what one needs to debug a shape mismatch."""
    from paddle_resnet.analysis import TraceError
    from helpers.summary_models import mismatched

    with pytest.raises(TraceError, match="fc: Linear expects 16 input features, got shape \\[1, 128\\]") as failure:
        summarize(mismatched(), (1, 3, 8, 8))
    partial = failure.value.summary
    assert [r["name"] for r in partial.layer_rows()] == ["conv", "flatten"]
    assert partial.error == str(failure.value)
    code, out, err = run_cli(capsys, "summary", "helpers.summary_models:mismatched", "--input-size", "8")
    lines = out.splitlines()
    assert code == 1 and err == f"error: {failure.value}\n"
    assert lines[4].split()[-1] == "flatten" and lines[5] == f"!! stopped here: {failure.value}"
    assert "Totals: 258 params (258), 258 trainable (258), 3.46 K Mult-Adds (3,456) per image (up to where it " \
           "stopped)" in out


def test_summary_of_a_factory_and_of_paddle_visions_mobilenet_v2(capsys):
    """Any model spec verify and diff take; a per-block table where the model has no ResNet stages."""
    code, out, err = run_cli(capsys, "summary", "helpers.user_models:detector", "--kwargs", '{"classes": 2}',
                             "--input-size", "64", "--depth", "1")
    assert code == 0, err
    assert [line.split()[-1] for line in out.splitlines()[3:9]] == ["backbone", "lateral4", "lateral3",
                                                                    ":interpolate", ":add", ":relu"]
    assert "Block " in out and "Stage " not in out
    code, out, err = run_cli(capsys, "summary", "paddle.vision.models:mobilenet_v2", "--columns",
                             "output_size,num_params,mult_adds", "--format", "json")
    data = json.loads(out)
    assert code == 0, err
    # Sandler et al. 2018 (MobileNetV2, Table 4): 3.4 M parameters and 300 M multiply-adds at 224x224.
    assert round(data["params"]["trainable"] / 1e5) == 35 and round(data["macs"] / 1e6) in (300, 301)
    convolutions = [row for row in data["layers"] if row["type"] == "Conv2D"]
    assert len(convolutions) == 52
    for row in convolutions:  # a convolution's Mult-Adds: output positions times its weights (MobileNetV2's
        assert row["macs"] == row["output_shape"][2] * row["output_shape"][3] * row["params"]  # have no bias)
    assert [row["stage"] for row in data["stages"]][:3] == ["features.0", "features.1", "features.2"]
    code, out, _ = run_cli(capsys, "summary", "paddle.vision.models:mobilenet_v2", "--num-classes", "3")
    assert code == 2


def test_summary_of_a_table_entry_with_options_in_its_spec(capsys):
    code, out, _ = run_cli(capsys, "summary", "resnet50:num_classes=10", "--stride-on", "1x1", "--depth", "stages")
    assert code == 0 and "Total params: 23,581,642" in out  # as test_cli's --num-classes 10 --stride-on 1x1


@pytest.mark.parametrize("argv, first_input", [
    (["--block", "basic", "--in", "64", "--out", "128", "--input-size", "56"], "[[1, 64, 56, 56]]"),
    (["resnet18", "--in-channels", "1", "--input-size", "64x48", "--batch", "2"], "[[2, 1, 64, 48]]"),
    (["resnet20", "--input-size", "8x3x16x16"], "[[8, 3, 16, 16]]"),
    (["resnet20"], "[[1, 3, 32, 32]]"),  # the architecture's own size
    (["helpers.user_models:group_norm_net"], "[[1, 3, 224, 224]]"),  # a model that declares none
])
def test_summary_input_size_takes_what_is_not_given_from_the_model(capsys, argv, first_input):
    code, out, err = run_cli(capsys, "summary", *argv)
    assert code == 0, err
    assert ROW.match(out.splitlines()[3]).group(2) == first_input
