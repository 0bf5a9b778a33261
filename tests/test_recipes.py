"""The paper's training recipes as data, schedules in steps (milestones, max_steps, the error warm-up, the plateau
rule), the CIFAR augmentation and the per-pixel mean, and short runs with them that resume exactly."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from helpers import run_cli
from helpers.images import make_image_folder
from helpers.training import run_training
from PIL import Image

from paddle_resnet.training import TrainConfig, loop, resume_config, schedules, train
from paddle_resnet.training.checkpoint import _from_json, _to_json
from paddle_resnet.training.data import pixel_mean, read_images, train_transform, validation_transform
from paddle_resnet.training.data import seeded_global_rngs
from paddle_resnet.training.recipes import RECIPES, recipe_config


def test_he2015_cifar10_is_section_4_2():
    config = recipe_config("he2015-cifar10", model="resnet56")
    assert (config.val_split, config.batch_size, config.optimizer, config.lr, config.weight_decay) == \
        (0.1, 128, "sgd", 0.1, 1e-4)  # 45k/5k; momentum 0.9 is every SGD run's
    assert (config.schedule, config.milestones, config.max_steps) == ("step", (32000, 48000), 64000)
    assert (config.augment, config.normalize, config.warmup_lr, config.recipe) == \
        ("cifar", "pixel-mean", None, "he2015-cifar10")
    deep = recipe_config("he2015-cifar10", model="resnet110")
    assert (deep.warmup_lr, deep.warmup_until_error) == (0.01, 0.8)  # "0.01 ... until the training error < 80%"
    assert deep.replace(data="x").resolved().warmup_epochs == 0


def test_he2015_imagenet_is_section_3_4_and_default_is_trainconfigs_defaults():
    config = recipe_config("he2015-imagenet", model="resnet34")
    assert (config.batch_size, config.lr, config.weight_decay, config.schedule, config.max_steps) == \
        (256, 0.1, 1e-4, "plateau", 600000)
    assert (config.augment, config.normalize) == ("scale", "pixel-mean")
    assert recipe_config("default", model="resnet20") == TrainConfig(model="resnet20")
    assert "PLATEAU_PATIENCE" in RECIPES["he2015-imagenet"].describe()


def test_a_recipe_is_printed_and_overridden_flag_by_flag(capsys):
    code, out, _ = run_cli(capsys, "train", "--recipe", "he2015-cifar10", "--model", "resnet110", "--batch-size", "64",
                           "--milestones", "100,200", "--print")
    assert code == 0 and "he2015-cifar10: He et al. 2015, section 4.2 (CIFAR-10), for resnet110" in out
    assert "  batch_size = 128" in out and "  batch_size = 64" in out  # the recipe's, then the configuration's
    assert "  milestones = (100, 200)" in out and "  warmup_lr = 0.01" in out and "  recipe = 'he2015-cifar10'" in out
    code, _, err = run_cli(capsys, "train", "--recipe", "he2015-cifar10", "--milestones", "100,70000", "--print")
    assert code == 1 and "each must come before max_steps=64000" in err
    code, _, err = run_cli(capsys, "train", "--milestones", "1,x", "--print")
    assert code == 2 and "expected step numbers separated by commas" in err


@pytest.mark.parametrize("settings, message", [
    (dict(epochs=5, max_steps=100), "give the run's length once"),
    (dict(schedule="step", milestones=(5, 5)), "strictly increasing"),
    (dict(schedule="cosine", milestones=(5,)), "belong to schedule='step'"),
    (dict(warmup_lr=0.01), "give both"),
    (dict(warmup_lr=0.01, warmup_until_error=1.5), "warmup_until_error=1.5"),
    (dict(warmup_lr=0.01, warmup_until_error=0.8, warmup_epochs=1), "choose one warm-up"),
    (dict(schedule="plateau", val_split=0.0), "needs validation images"),
    (dict(normalize="pixel-mean", export=True), "cannot express a per-pixel mean"),
    (dict(augment="random"), "augment='random': expected one of imagenet, cifar, scale"),
    (dict(recipe="he2016"), "recipe='he2016': expected one of default, he2015-cifar10, he2015-imagenet"),
    (dict(max_steps=0), "max_steps=0: expected an integer >= 1"),
])
def test_bad_recipe_settings_name_the_value(settings, message):
    with pytest.raises(ValueError) as error:
        TrainConfig(model="resnet20", **settings)
    assert message in str(error.value)


def _rates(schedule, steps, errors=None):
    rates = []
    for step in range(steps):
        rates.append(round(schedule(), 8))
        schedules.after_batch(schedule, errors[step] if errors else 0.5)
    return rates


def test_milestones_in_steps_land_at_the_right_iterations():
    """A scaled-down he2015-cifar10 schedule: 32k/48k/64k becomes 3/5/7 steps."""
    config = recipe_config("he2015-cifar10", model="resnet20", max_steps=7, milestones=(3, 5), data="x").resolved()
    # the steps per epoch do not matter for a schedule in steps
    for steps_per_epoch in (2, 3, 100):
        assert _rates(loop.build_schedule(config, steps_per_epoch), 7) == [0.1] * 3 + [0.01] * 2 + [0.001] * 2
    # with a linear warm-up the milestones still count from the first step
    warm = TrainConfig(model="resnet20", lr=0.1, schedule="step", epochs=4, warmup_epochs=1, milestones=(4, 6))
    assert _rates(loop.build_schedule(warm, 2), 8) == [0.0, 0.05, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    with pytest.raises(ValueError, match="before the end of the 2-step warm-up"):
        loop.build_schedule(warm.replace(milestones=(2, 6)), 2)


def test_the_resnet110_warmup_lasts_until_the_training_error_is_below_80_percent():
    config = recipe_config("he2015-cifar10", model="resnet110", max_steps=30, milestones=(20, 25), data="x").resolved()
    schedule = loop.build_schedule(config, 10)
    errors = [0.9] * 12 + [0.7] * 18
    rates = _rates(schedule, 30, errors)
    # the mean of the last 10 batch errors drops below 0.8 after step 17 (six 0.7s and four 0.9s: 0.78)
    assert rates[:18] == [0.01] * 18 and rates[18:20] == [0.1] * 2
    assert rates[20:25] == [0.01] * 5 and rates[25:] == [0.001] * 5  # milestones counted from the first step


def test_schedule_state_round_trips_through_a_checkpoint_exactly():
    config = recipe_config("he2015-cifar10", model="resnet110", max_steps=30, milestones=(20, 25), data="x").resolved()
    errors = [0.9] * 12 + [0.7] * 18
    straight = loop.build_schedule(config, 10)
    expected = _rates(straight, 30, errors)
    first = loop.build_schedule(config, 10)
    head = _rates(first, 15, errors)
    document, arrays = _to_json(first.state_dict())
    resumed = loop.build_schedule(config, 10)
    resumed.set_state_dict(_from_json(json.loads(json.dumps(document)), arrays, None))
    assert head + _rates(resumed, 15, errors[15:]) == expected


def test_the_plateau_rule_divides_by_10_after_patience_epochs_without_improvement():
    schedule = schedules.plateau_schedule(0.1)
    rates = []
    for accuracy in [0.5, 0.6, 0.6005] + [0.6] * (schedules.PLATEAU_PATIENCE + 1):
        schedules.after_batch(schedule, 0.4)  # per batch: nothing changes
        schedules.after_epoch(schedule, {"val_acc": accuracy})
        rates.append(round(schedule(), 8))
    # best error 0.4 after epoch 2 (0.6005 improves it by less than 0.001): from epoch 3 on no epoch improves, and
    # on the first epoch beyond the patience the rate is divided by 10
    assert rates == [0.1] * (2 + schedules.PLATEAU_PATIENCE) + [0.01] * 2


def test_cifar_augmentation_pads_with_zeros_crops_and_flips():
    image = Image.fromarray(np.full((32, 32, 3), 200, dtype=np.uint8))
    transform = train_transform(32, "cifar", mean=np.zeros((3, 32, 32), np.float32))
    outputs = []
    for seed in range(30):
        with seeded_global_rngs(seed):
            outputs.append(transform(image))
    assert all(out.shape == (3, 32, 32) and out.dtype == np.float32 for out in outputs)
    shifted = [out for out in outputs if (out == 0).any()]  # a crop that reaches into the 4-pixel zero border
    assert shifted and all(set(np.unique(out)) <= {0.0, 200.0} for out in outputs)
    assert max(int((out[0] == 0).all(axis=0).sum() + (out[0] == 0).all(axis=1).sum()) for out in outputs) <= 8
    with pytest.raises(ValueError, match="a 24x32 image: augment='cifar' takes 32x32 images as they are"):
        transform(Image.new("RGB", (24, 32)))
    view = validation_transform(32, "cifar", mean=np.full((3, 32, 32), 50, np.float32))
    assert np.array_equal(view(image), np.full((3, 32, 32), 150, np.float32))  # single view: the image as it is


def test_pixel_mean_is_the_mean_image_of_the_training_images(tmp_path):
    folder = make_image_folder(tmp_path / "data", per_class=2, size=32)
    samples = [(str(path), 0) for path in sorted(folder.rglob("*.png"))]
    stack = np.stack([np.asarray(Image.open(path).convert("RGB"), np.float64) for path, _ in samples])
    expected = stack.mean(axis=0).transpose(2, 0, 1)
    np.testing.assert_allclose(pixel_mean(read_images(samples), 32, "cifar"), expected, rtol=1e-6, atol=1e-4)


def test_scale_augmentation_gives_the_crop_size_with_lighting():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    with seeded_global_rngs(1):
        out = train_transform(224, "scale")(image)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32


@pytest.fixture(scope="module")
def cifar_like(tmp_path_factory):
    """48 32x32 images of 3 classes: with val_split 0.1, 42 train (6 steps of 8 per epoch, the last of 2)."""
    return make_image_folder(tmp_path_factory.mktemp("cifar") / "data", per_class=16, size=32)


def _cifar_run(data, out, **overrides):
    settings = dict(model="plain20", batch_size=8, max_steps=8, milestones=(3, 7), num_workers=0, data=str(data),
                    out=str(out))
    settings.update(overrides)
    return run_training(**recipe_config("he2015-cifar10", **settings).__dict__)


def test_a_he2015_cifar10_run_in_steps_has_its_milestones_and_length_fast(cifar_like, tmp_path):
    """A scaled-down he2015-cifar10 run (plain-20): 8 steps, milestones after steps 3 and 7."""
    result, output = _cifar_run(cifar_like, tmp_path / "run")
    assert "8 steps (2 epochs)" in output and "recipe he2015-cifar10" in output and "cifar augmentation" in output
    assert [row["step"] for row in result.history] == [6, 8]  # the second epoch stops after 2 of its 6 steps
    assert [row["lr"] for row in result.history] == pytest.approx([0.01, 0.001])  # each epoch's last step's rate
    saved = json.loads((tmp_path / "run" / "last" / "trainer.json").read_text())
    assert saved["step"] == 8 and saved["config"]["recipe"] == "he2015-cifar10"
    assert np.asarray(saved["pixel_mean"]).shape == (3, 32, 32)
    assert "step" in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]


def _resume(path, **changes):
    stream = io.StringIO()
    return train(resume_config(str(path), **changes), stream=stream), stream.getvalue()


@pytest.mark.slow
def test_an_interrupted_he2015_cifar10_run_resumes_exactly(cifar_like, tmp_path, monkeypatch):
    straight, _ = _cifar_run(cifar_like, tmp_path / "straight", model="resnet20")
    real_epoch = loop.train_one_epoch
    calls = []

    def crashing_epoch(model, loader, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(model, loader, *args, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", crashing_epoch)
    with pytest.raises(KeyboardInterrupt):
        _cifar_run(cifar_like, tmp_path / "resumed", model="resnet20")
    monkeypatch.setattr(loop, "train_one_epoch", real_epoch)
    resumed, output = _resume(tmp_path / "resumed")
    assert "resumed from" in output and "(step 6)" in output
    assert [row["step"] for row in resumed.history] == [6, 8]
    for key in ("train_loss", "lr", "val_loss", "val_acc"):
        assert [row[key] for row in resumed.history] == [row[key] for row in straight.history], key
    weights = [(tmp_path / run / "last" / "model.safetensors").read_bytes() for run in ("straight", "resumed")]
    assert weights[0] == weights[1]  # bit for bit
    # extended in steps: the schedule continues from step 8
    extended, output = _resume(tmp_path / "resumed", max_steps=12)
    assert "length changed from 8 steps to 12 steps" in output and extended.history[-1]["step"] == 12


def test_the_shortcut_option_trains_the_papers_resnet34_a_and_c():
    """``--shortcut``: Table 3's ResNet-34 A and C are trainable as resnet34 with another shortcut option."""
    model = loop.build_model(TrainConfig(model="resnet20", shortcut="C"), num_classes=3)
    assert model.layer1[0].downsample is not None and model.fc.weight.shape == [64, 3]
    assert loop.model_options({"shortcut": "A"}) == {"shortcut": "A"} and loop.model_options({}) == {}
    with pytest.raises(ValueError, match="option A shortcuts are parameter-free"):
        TrainConfig(model="resnet50_vd", shortcut="A")
