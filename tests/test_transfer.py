"""freeze / unfreeze, and the transfer-learning API that network.py provides (forward_features,
reset_classifier, out_stages with feature_info)."""

import contextlib
import io

import numpy as np
import paddle
import pytest

from paddle_resnet import count_params, create_model, freeze, resnet18, resnet50, unfreeze


def _snapshot(model):
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


def _train_step(model, x, label):
    """One SGD step with momentum and weight decay (decay would move frozen weights if it reached them)."""
    optimizer = paddle.optimizer.Momentum(learning_rate=0.1, momentum=0.9, weight_decay=1e-2,
                                          parameters=model.parameters())
    model.train()
    loss = paddle.nn.functional.cross_entropy(model(x), label)
    loss.backward()
    optimizer.step()
    optimizer.clear_grad()


def _part(key):
    return "stem" if key.startswith(("conv1.", "bn1.")) else key.split(".")[0]


def test_training_step_leaves_frozen_parts_and_their_bn_statistics_unchanged():
    paddle.seed(0)
    model = resnet18(num_classes=3)
    assert freeze(model, up_to="layer2") == ["stem", "layer1", "layer2"]
    before = _snapshot(model)
    x = paddle.randn([4, 3, 32, 32])
    _train_step(model, x, paddle.to_tensor([0, 1, 2, 0]))

    after = _snapshot(model)
    frozen = {"stem", "layer1", "layer2"}
    for key in before:
        changed = not np.array_equal(before[key], after[key])
        if _part(key) in frozen:
            assert not changed, f"frozen {key} changed"
        else:
            # Every trainable tensor moves, and the running statistics of unfrozen BatchNorms update.
            assert changed, f"trainable {key} did not change"


def test_frozen_batchnorm_uses_running_statistics_in_training_mode():
    paddle.seed(0)
    model = resnet18(num_classes=3)
    freeze(model, up_to="stem")
    model.bn1._mean.set_value(paddle.full([64], 0.25))
    model.bn1._variance.set_value(paddle.full([64], 4.0))
    model.train()
    x = paddle.randn([2, 3, 32, 32])
    stem_conv = model.conv1(x)
    expected = (stem_conv.numpy() - 0.25) / np.sqrt(4.0 + model.bn1._epsilon)
    expected = expected * model.bn1.weight.numpy()[None, :, None, None] + model.bn1.bias.numpy()[None, :, None, None]
    np.testing.assert_allclose(model.bn1(stem_conv).numpy(), expected, rtol=1e-5, atol=1e-5)
    # An unfrozen BatchNorm normalises with the batch statistics in training mode instead.
    first = model.layer1[0].bn1
    y = first(paddle.ones([2, 64, 4, 4]) * 3.0)
    np.testing.assert_allclose(y.numpy(), np.broadcast_to(first.bias.numpy()[None, :, None, None], y.shape),
                               atol=1e-4)


def test_gradients_flow_through_frozen_parts_to_the_input():
    model = resnet18(num_classes=3)
    freeze(model, up_to="layer4")
    x = paddle.randn([2, 3, 32, 32])
    x.stop_gradient = False
    model.train()
    model(x).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert model.conv1.weight.grad is None and model.fc.weight.grad is not None


def test_count_params_moves_frozen_parameters_to_non_trainable():
    model = resnet50(num_classes=2)
    full = count_params(model)
    freeze(model, up_to="layer4")
    counted = count_params(model)
    assert counted.total == full.total
    assert counted.trainable == 2048 * 2 + 2  # only the head
    freeze(model, up_to="layer3")  # a new boundary: layer4 trains again
    layer4 = count_params(model.layer4)
    assert count_params(model).trainable == 2048 * 2 + 2 + layer4.trainable
    assert layer4.trainable == count_params(resnet50().layer4).trainable
    unfreeze(model)
    assert count_params(model) == full
    assert all(bn._use_global_stats is None for bn in model.sublayers()
               if isinstance(bn, paddle.nn.BatchNorm2D))


def test_count_params_after_freeze_agrees_with_paddle_summary():
    model = resnet18(num_classes=2)
    freeze(model, up_to="layer3")
    with contextlib.redirect_stdout(io.StringIO()):  # paddle.summary prints its table
        summary = paddle.summary(model, (1, 3, 32, 32))
    counted = count_params(model)
    assert (counted.total, counted.trainable) == (summary["total_params"], summary["trainable_params"])
    assert counted.trainable < count_params(resnet18(num_classes=2)).trainable


def test_freeze_rejects_unknown_parts_naming_the_accepted_ones():
    with pytest.raises(ValueError, match="stem, layer1, layer2, layer3, layer4"):
        freeze(resnet18(), up_to="layer5")
    with pytest.raises(ValueError, match=r"'conv1'.*stem, layer1, layer2$"):
        freeze(create_model("resnet18", out_stages=(1, 2)), up_to="conv1")
    with pytest.raises(ValueError, match="stem, layer1, layer2, layer3$"):
        freeze(create_model("resnet20"), up_to="layer4")


def test_freeze_refuses_sync_batchnorm_which_cannot_keep_running_statistics():
    model = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(resnet18())
    with pytest.raises(ValueError, match="SyncBatchNorm"):
        freeze(model, up_to="layer1")
    assert count_params(model).trainable == count_params(resnet18()).trainable  # nothing was frozen


def test_freeze_on_a_feature_backbone():
    model = create_model("resnet18", out_stages=(2, 3))
    assert freeze(model, up_to="layer2") == ["stem", "layer1", "layer2"]
    assert count_params(model).trainable == count_params(model.layer3).trainable > 0


def test_forward_features_and_reset_classifier():
    paddle.seed(0)
    model = resnet18()
    model.eval()
    x = paddle.randn([2, 3, 64, 64])
    feature_map = model.forward_features(x)  # timm's meaning: the last stage's map, unpooled
    assert feature_map.shape == [2, 512, 2, 2]
    np.testing.assert_allclose(feature_map.numpy(), model.forward_stages(x)[-1].numpy(), rtol=1e-5, atol=1e-5)
    features = model.forward_head(feature_map, pre_logits=True)
    np.testing.assert_allclose(features.numpy(), feature_map.numpy().mean(axis=(2, 3)), rtol=1e-5, atol=1e-5)
    logits = model.fc(features)
    np.testing.assert_allclose(model(x).numpy(), logits.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.forward_head(feature_map).numpy(), logits.numpy(), rtol=1e-5, atol=1e-5)

    model.reset_classifier(5)
    assert model.fc.weight.shape == [512, 5] and model(x).shape == [2, 5]
    model.reset_classifier(0)
    assert model.fc is None
    np.testing.assert_allclose(model(x).numpy(), features.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.forward_head(feature_map).numpy(), features.numpy(), rtol=1e-5, atol=1e-5)
    unpooled = create_model("resnet18", num_classes=0, with_pool=False)
    assert unpooled.forward_head(feature_map) is feature_map  # nothing to pool, no classifier
    with pytest.raises(ValueError, match="out_stages"):
        create_model("resnet18", out_stages=(4,)).reset_classifier(2)


@pytest.mark.parametrize("name, size", [("resnet18", 64), pytest.param("resnet50", 64, marks=pytest.mark.slow),
                                        ("resnet20", 32)])
def test_out_stages_maps_match_feature_info_and_the_classifier_backbone(name, size):
    paddle.seed(0)
    classifier = create_model(name)
    stages = tuple(range(1, len(classifier.config.blocks_per_stage) + 1))
    backbone = create_model(name, out_stages=stages)
    assert not hasattr(backbone, "fc") or backbone.fc is None
    backbone.set_state_dict(classifier.state_dict())  # same keys, minus the head
    classifier.eval(), backbone.eval()
    x = paddle.randn([1, 3, size, size])
    maps = backbone(x)
    assert len(maps) == len(stages)
    for feature_map, info, reference in zip(maps, backbone.feature_info, classifier.forward_stages(x)):
        assert feature_map.shape == [1, info["channels"], size // info["reduction"], size // info["reduction"]]
        np.testing.assert_allclose(feature_map.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)
