"""The core package: the table, the builders, the public API contract, paddle.vision compatibility, errors."""

from __future__ import annotations

import inspect

import numpy as np
import paddle
import pytest
from paddle.vision.models import resnet as vision

import paddle_resnet
from paddle_resnet import (ARCHITECTURES, BasicBlock, BottleneckBlock, ResNet, ResNetConfig, count_params,
                           create_model, list_models)
from paddle_resnet.builders import BUILDERS

from helpers import constant_init
from helpers.tiers import representatives

OFFICIAL = sorted(vision.model_urls)  # the architectures paddle.vision.models also has


def test_list_models_is_the_sorted_table():
    assert sorted(list_models()) == sorted(ARCHITECTURES)  # in natural order: see tests/test_cli.py
    # 20 paddle.vision-style and CIFAR rows, 9 ResNet-D rows (PaddleClas and timm), 7 plain nets (the paper's)
    assert len(list_models()) == 36
    assert set(OFFICIAL) <= set(list_models())


def test_one_importable_builder_per_table_entry():
    assert set(BUILDERS) == set(ARCHITECTURES)
    for name, builder in BUILDERS.items():
        assert getattr(paddle_resnet, name) is builder
        assert builder.__name__ == name and builder.__doc__
        assert list(inspect.signature(builder).parameters) == ["pretrained", "options"]


def test_public_api_contract():
    for name in ("BasicBlock", "BottleneckBlock", "ResNet", "create_model", "list_models", "count_params",
                 "count_macs", "verify_model"):
        assert name in paddle_resnet.__all__ and hasattr(paddle_resnet, name)
    # A named tuple, so it unpacks and compares like one. BasicBlock(64, 128, 2): convs 3*3*64*128 + 3*3*128*128
    # and the 64*128 projection (229,376), three BatchNorms of 128 channels with a trainable weight and bias
    # (768) and running mean and variance (768, not trainable).
    counts = count_params(BasicBlock(64, 128, 2))
    total, trainable, non_trainable = counts
    assert (counts.total, counts.trainable, counts.non_trainable) == (total, trainable, non_trainable)
    assert counts == (230_912, 229_376 + 768, 768)


def test_source_reproduction_examples():
    """The three printouts of the source reproduction (Paddle 2.1): totals unchanged since."""
    assert count_params(BasicBlock(64, 128, 2)).total == 230_912
    assert count_params(BottleneckBlock(64, 128, 2)).total == 24_832
    with constant_init():
        model = ResNet(50)
    assert count_params(model) == (25_610_152, 25_557_032, 53_120)
    assert count_params(ResNet(50, num_classes=10)).total == 25_610_152 - 2_049_000 + 2048 * 10 + 10


def test_bottleneck_inner_width_is_a_quarter_of_the_output():
    block = BottleneckBlock(64, 128, 2)
    assert block.conv1.weight.shape == [32, 64, 1, 1]
    assert block.conv2._stride == [2, 2] and block.conv1._stride == [1, 1]
    paper = BottleneckBlock(64, 128, 2, stride_on="1x1")
    assert paper.conv1._stride == [2, 2] and paper.conv2._stride == [1, 1]


def test_resnet_accepts_depth_name_or_config():
    assert ResNet(18).config == ARCHITECTURES["resnet18"]
    assert ResNet("resnet20").config == ARCHITECTURES["resnet20"]
    custom = ResNetConfig("basic", (1, 1), (8, 16), stem="cifar", stem_width=8, num_classes=3, image_size=16)
    model = ResNet(custom)
    assert model.config == custom
    assert list(model(paddle.rand([2, 3, 16, 16])).shape) == [2, 3]
    assert ResNet(18, num_classes=7).config.num_classes == 7


@pytest.mark.parametrize("name", representatives(OFFICIAL))
def test_state_dict_keys_and_shapes_equal_paddle_vision(name):
    with constant_init():
        ours, theirs = create_model(name), getattr(vision, name)()
    assert {k: list(v.shape) for k, v in ours.state_dict().items()} == \
           {k: list(v.shape) for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("name", representatives(["resnet18", "resnet50", "resnext50_32x4d"], fast=["resnet18"]))
def test_official_weights_load_and_give_the_same_outputs(name):
    theirs = getattr(vision, name)()
    ours = create_model(name)
    # Random, non-trivial BatchNorm statistics so that eval-mode outputs depend on every loaded tensor.
    state = {k: paddle.rand(v.shape) + 0.5 if k.endswith(("_variance", "_mean")) else v
             for k, v in theirs.state_dict().items()}
    theirs.set_state_dict(state)
    ours.set_state_dict(state)
    ours.eval(), theirs.eval()
    x = paddle.rand([2, 3, 64, 64])
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), rtol=0, atol=0)


def test_ours_differs_from_official_without_loading():
    """Guards the test above: with independent random weights the outputs are not equal."""
    ours, theirs = create_model("resnet18"), vision.resnet18()
    ours.eval(), theirs.eval()
    x = paddle.rand([1, 3, 64, 64])
    assert not np.allclose(ours(x).numpy(), theirs(x).numpy())


@pytest.mark.parametrize("options, input_shape, output_shape", [
    ({"num_classes": 0}, [2, 3, 64, 64], [2, 512]),  # pooled features
    ({"num_classes": 0, "with_pool": False}, [1, 3, 64, 64], [1, 512, 2, 2]),  # the last feature map
    ({"in_channels": 1, "num_classes": 4}, [1, 1, 64, 64], [1, 4]),
])
def test_head_and_input_options(options, input_shape, output_shape):
    model = create_model("resnet18", **options)
    assert (model.fc is None) == (options["num_classes"] == 0)
    assert list(model(paddle.rand(input_shape)).shape) == output_shape


def test_zero_init_residual_zeroes_every_blocks_last_batchnorm():
    model = create_model("resnet50", zero_init_residual=True)
    assert all(float(block.bn3.weight.abs().sum()) == 0 for stage in model.stages for block in stage)
    assert float(create_model("resnet50").layer1[0].bn3.weight.abs().sum()) > 0


def test_out_stages_returns_feature_maps_and_drops_the_head():
    model = create_model("resnet50", out_stages=(1, 2, 3, 4))
    maps = model(paddle.rand([1, 3, 64, 64]))
    assert [list(m.shape) for m in maps] == [[1, 256, 16, 16], [1, 512, 8, 8], [1, 1024, 4, 4], [1, 2048, 2, 2]]
    assert [(f["channels"], f["reduction"]) for f in model.feature_info] == [(256, 4), (512, 8), (1024, 16),
                                                                             (2048, 32)]
    assert model.fc is None and model.avgpool is None
    partial = create_model("resnet18", out_stages=(2,))
    assert len(partial.stages) == 2 and not hasattr(partial, "layer3")
    assert [list(m.shape) for m in partial(paddle.rand([1, 3, 64, 64]))] == [[1, 128, 8, 8]]


def test_forward_features_and_reset_classifier():
    model = create_model("resnet18")
    assert list(model.forward_features(paddle.rand([2, 3, 64, 64])).shape) == [2, 512, 2, 2]
    model.reset_classifier(2)
    assert list(model(paddle.rand([2, 3, 64, 64])).shape) == [2, 2] and model.config.num_classes == 2
    model.reset_classifier(0)
    assert model.fc is None and list(model(paddle.rand([1, 3, 64, 64])).shape) == [1, 512]


def test_cifar_nets_follow_section_4_2():
    model = create_model("resnet20")
    assert model.maxpool is None and model.conv1.weight.shape == [16, 3, 3, 3]
    assert list(model(paddle.rand([2, 3, 32, 32])).shape) == [2, 10]
    assert count_params(model).trainable == 269_722  # "0.27M" in the paper's Table 6
    for name, millions in [("resnet32", 0.46), ("resnet44", 0.66), ("resnet56", 0.85), ("resnet110", 1.7)]:
        assert round(count_params(create_model(name)).trainable / 1e6, 2 if millions < 1 else 1) == millions


def test_option_a_shortcut_subsamples_and_zero_pads():
    block = create_model("resnet20").layer2[0]
    shortcut = block.downsample
    assert count_params(shortcut).total == 0
    x = paddle.rand([2, 16, 8, 8])
    out = shortcut(x).numpy()
    assert out.shape == (2, 32, 4, 4)
    np.testing.assert_array_equal(out[:, :16], x.numpy()[:, :, ::2, ::2])
    assert not out[:, 16:].any()


def test_option_a_and_b_on_imagenet_nets():
    a = create_model("resnet50", shortcut="A")
    assert count_params(a).total < count_params(create_model("resnet50")).total
    assert list(a(paddle.rand([1, 3, 64, 64])).shape) == [1, 1000]
    b = create_model("resnet20", shortcut="B")
    assert isinstance(b.layer2[0].downsample, paddle.nn.Sequential)


def test_plain_blocks_have_no_shortcut_and_compute_relu_of_the_branch():
    """shortcut="none" (the paper's plain nets): the residual block's layers, no shortcut, no addition."""
    paddle.seed(0)
    plain, residual = BasicBlock(16, 16, shortcut="none"), BasicBlock(16, 16, shortcut="A")
    residual.set_state_dict(plain.state_dict())  # the same weights: only the addition of x differs
    plain.eval(), residual.eval()
    x = paddle.rand([2, 16, 8, 8])
    branch = plain.bn2(plain.conv2(plain.relu1(plain.bn1(plain.conv1(x)))))
    np.testing.assert_allclose(plain(x).numpy(), np.maximum(branch.numpy(), 0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(residual(x).numpy(), np.maximum(branch.numpy() + x.numpy(), 0), rtol=1e-6, atol=1e-6)
    assert plain.downsample is None and not plain.residual and residual.residual
    bottleneck = BottleneckBlock(64, 256, 2, shortcut="none")
    assert bottleneck.downsample is None and list(bottleneck(paddle.rand([1, 64, 8, 8])).shape) == [1, 256, 4, 4]


def test_plain_rows_are_their_residual_twins_without_shortcuts():
    for plain, twin, options in [("plain20", "resnet20", {}), ("plain18", "resnet18", {"shortcut": "A"})]:
        with paddle.LazyGuard():
            a, b = create_model(plain), create_model(twin, **options)
        assert ARCHITECTURES[plain] == ARCHITECTURES[twin].replace(shortcut="none")
        assert count_params(a) == count_params(b)
        assert all(block.downsample is None for stage in a.stages for block in stage)
    model = create_model("plain20")
    assert list(model(paddle.rand([2, 3, 32, 32])).shape) == [2, 10]


def test_option_c_projects_on_every_block():
    model = create_model("resnet20", shortcut="C")
    blocks = [block for stage in model.stages for block in stage]
    assert all(isinstance(block.downsample, paddle.nn.Sequential) for block in blocks)
    b = create_model("resnet20", shortcut="B")
    # every block gains a 1x1 conv + BatchNorm (4 numbers per channel with the running statistics)
    extra = sum(c_in * c_out + 4 * c_out for c_in, c_out in
                [(16, 16)] * 3 + [(32, 32)] * 2 + [(64, 64)] * 2)
    assert count_params(model).total - count_params(b).total == extra
    assert list(model(paddle.rand([1, 3, 32, 32])).shape) == [1, 10]


def test_option_a_on_the_imagenet_basic_nets_runs_and_has_no_shortcut_parameters():
    """Table 2 and 3's ResNet-18/34 A: zero-padding shortcuts, so exactly the plain nets' parameters."""
    for name in ("resnet18", "resnet34"):
        with paddle.LazyGuard():
            a, plain = create_model(name, shortcut="A"), create_model(name.replace("resnet", "plain"))
        assert count_params(a) == count_params(plain)
    model = create_model("resnet18", shortcut="A", num_classes=3)
    assert list(model(paddle.rand([1, 3, 64, 64])).shape) == [1, 3]


@pytest.mark.parametrize("call, message", [
    (lambda: create_model("resnet5"), "resnet50"),
    (lambda: create_model("resnet50", stride_on="2x2"), "'3x3', '1x1'"),
    (lambda: create_model("resnet50", shortcut="D"), "'A', 'B', 'C', 'none'"),
    (lambda: create_model("resnet50", shortcut="none", downsample="avgpool"), "a plain net (shortcut='none')"),
    (lambda: create_model("resnet18", shortcut="none", first_block_projection=True), "use shortcut='B' or 'C'"),
    (lambda: create_model("resnet50", num_classes=-1), "num_classes=-1"),
    (lambda: create_model("resnet50", in_channels=0), "in_channels=0"),
    (lambda: create_model("resnet50", colour="red"), "unknown option(s) colour for resnet50; accepted: stem, shortcut, "
                                                     "downsample, first_block_projection, stride_on, num_classes, "
                                                     "with_pool, in_channels, zero_init_residual, out_stages"),
    (lambda: create_model("resnet18", stride_on="1x1"), "bottleneck"),
    (lambda: create_model("resnet50", with_pool=False), "num_classes=0"),
    (lambda: create_model("resnet50", out_stages=(5,)), "(1, 2, 3, 4)"),
    (lambda: create_model("resnet50", out_stages=(1.0, 2)), "out_stages=(1.0, 2)"),
    (lambda: create_model("resnet50", out_stages=(True,)), "out_stages=(True,)"),
    (lambda: ResNet(51), "ResNet(51): an integer depth names an ImageNet ResNet, one of 18, 34, 50, 101, 152"),
    (lambda: ResNet(20), "the CIFAR-10 net of depth 20 is ResNet('resnet20')"),
    (lambda: BottleneckBlock(64, 128, 2, groups=3), "groups=3 does not divide the bottleneck's inner width 32"),
    (lambda: BasicBlock(0, 64), "in_channels=0"),
    (lambda: BasicBlock(64, -8), "out_channels=-8"),
    (lambda: ResNetConfig("bottleneck", (1,), (128,), width_per_group=5), "width_per_group=5"),
    (lambda: ResNetConfig("basic", (1, 1), (64,)), "one width per stage"),
])
def test_bad_options_name_the_value_and_what_is_accepted(call, message):
    with pytest.raises(ValueError, match=None) as error:
        call()
    assert message in str(error.value)


def test_unknown_model_lists_names_and_close_matches():
    with pytest.raises(ValueError) as error:
        create_model("resnet5")
    text = str(error.value)
    assert "Did you mean" in text and "resnet56" in text and "wide_resnet101_2" in text


@pytest.mark.parametrize("shape", [[3, 64, 64], [1, 1, 64, 64], [1, 4, 64, 64], [1, 3, 64, 64, 1]])
def test_forward_rejects_wrong_rank_or_channels(shape):
    model = create_model("resnet18")
    with pytest.raises(ValueError, match=r"expected an input of shape \[batch, 3, height, width\], got"):
        model(paddle.rand(shape))

