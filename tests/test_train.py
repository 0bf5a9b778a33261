"""Training on an image folder: learning, exact resume, data-parallel processes, bad data, the command line.

The data are synthetic texture classes (tests/helpers/images.py) that resnet20 learns in a few epochs on CPU.
"""

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from helpers import HANG_GUARD_SECONDS
from helpers.images import make_image_folder, texture
from helpers.training import TINY
from helpers.training import run_training as _run
from PIL import Image

from paddle_resnet import create_model, load_weights
from paddle_resnet.cli import main as cli_main
from paddle_resnet.training import BadDataError, TrainConfig, evaluate, loop, train
from paddle_resnet.training import config as training_config
from paddle_resnet.training.checkpoint import find_checkpoint, load_training_state
from paddle_resnet.training.data import EpochBatchSampler, ImageDataset, eval_transform, split_samples
from paddle_resnet.weights.files import read_state

ROOT = Path(__file__).resolve().parents[1]

def _weights(path):
    return read_state(str(path))


def _optimizer_state(checkpoint):
    return {key: value if key == "LR_Scheduler" else np.asarray(value)
            for key, value in load_training_state(checkpoint)["optimizer"].items()}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("tiny") / "data", per_class=16, size=24)


@pytest.mark.slow  # fast sibling: test_a_run_keeps_its_metrics_and_the_checkpoint_of_its_best_epoch
def test_training_learns_the_task_and_keeps_the_best_checkpoint(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=40)
    result, output = _run(data=str(data), out=str(tmp_path / "out"), model="resnet20", epochs=8, batch_size=16,
                          lr=0.02, val_split=0.25, num_workers=1)

    # Three classes: chance is 33%. With data and training seeds 0 to 4 the best epoch scores 97-100% (Paddle
    # 3.3); 80% leaves room for other versions' numerics without accepting a model that did not learn.
    assert result.best["val_acc"] >= 0.8, output
    assert len(result.history) == 8 and "epoch 8/8" in output and "img/s" in output
    rows = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,lr,train_loss,train_acc,val_loss,val_acc") and len(rows) == 9
    assert sorted(os.listdir(tmp_path / "out" / "last")) == ["model.safetensors", "state.json", "state.safetensors",
                                                              "trainer.json"]
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "out" / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "metrics.png not written: matplotlib is not installed" in output

    # out/best holds the weights of the best epoch: evaluated again, they score exactly what was recorded.
    best = json.loads((tmp_path / "out" / "best" / "trainer.json").read_text())
    assert best["best"] == result.best and best["epoch"] == result.best["epoch"]
    model = create_model("resnet20", num_classes=3)
    load_weights(model, tmp_path / "out" / "best" / "model.safetensors")
    val_samples = _val_samples(result)
    loader = paddle.io.DataLoader(ImageDataset(val_samples, eval_transform(32), seed=0),
                                  batch_sampler=EpochBatchSampler(len(val_samples), 16, shuffle=False))
    assert evaluate(model, loader)[1] == pytest.approx(result.best["val_acc"])


def test_a_run_keeps_its_metrics_and_the_checkpoint_of_its_best_epoch(tiny_data, tmp_path):
    """The fast sibling of the test above (which trains until the model has learned): the same files, the best
    epoch's checkpoint scoring exactly what was recorded, on a tiny run."""
    result, output = _run(**dict(TINY, warmup_epochs=1), data=str(tiny_data), out=str(tmp_path / "out"), epochs=2)
    assert len(result.history) == 2 and "epoch 2/2" in output
    rows = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,lr,train_loss,train_acc,val_loss,val_acc") and len(rows) == 3
    assert sorted(os.listdir(tmp_path / "out" / "last")) == ["model.safetensors", "state.json", "state.safetensors",
                                                              "trainer.json"]
    best = json.loads((tmp_path / "out" / "best" / "trainer.json").read_text())
    assert best["best"] == result.best and best["epoch"] == result.best["epoch"]
    assert result.best["val_acc"] == max(row["val_acc"] for row in result.history)
    model = create_model("resnet20", num_classes=3)
    load_weights(model, tmp_path / "out" / "best" / "model.safetensors")
    val_samples = _val_samples(result)
    loader = paddle.io.DataLoader(ImageDataset(val_samples, eval_transform(16), seed=0),
                                  batch_sampler=EpochBatchSampler(len(val_samples), 8, shuffle=False))
    assert evaluate(model, loader)[1] == pytest.approx(result.best["val_acc"])


def _val_samples(result):
    samples = [(str(path), label) for label, name in enumerate(result.classes)
               for path in sorted(Path(result.config.data, name).iterdir())]
    return split_samples(samples, result.config.val_split, result.config.seed, root=result.config.data)[1]


def _interrupt_after(loader, batches):
    for batch, item in enumerate(loader):
        if batch == batches:
            raise KeyboardInterrupt
        yield item


@pytest.mark.slow  # fast sibling: test_train_failures.py::test_a_crashed_run_is_recognised_resumed_and_cleaned
def test_resumed_run_ends_with_exactly_the_weights_of_an_uninterrupted_one(tiny_data, tmp_path, monkeypatch):
    settings = dict(TINY, data=str(tiny_data), epochs=3, warmup_epochs=1)
    _run(**settings, out=str(tmp_path / "straight"))

    # Interrupt the second run in the middle of epoch 2 (after two batches), as a crash or Ctrl-C would.
    real_epoch = loop.train_one_epoch
    calls = []

    def crashing_epoch(model, loader, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            loader = _interrupt_after(loader, batches=2)
        return real_epoch(model, loader, *args, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", crashing_epoch)
    with pytest.raises(KeyboardInterrupt):
        _run(**settings, out=str(tmp_path / "resumed"))
    monkeypatch.setattr(loop, "train_one_epoch", real_epoch)
    assert json.loads((tmp_path / "resumed" / "last" / "trainer.json").read_text())["epoch"] == 1

    # Resume through the command line, with a different number of loader workers: the data order and the
    # augmentation depend only on (seed, epoch, index), so that must not matter.
    assert cli_main(["train", "--resume", str(tmp_path / "resumed"), "--num-workers", "2"]) == 0

    straight, resumed = (_weights(tmp_path / run / "last" / "model.safetensors") for run in ("straight", "resumed"))
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert np.array_equal(straight[key], resumed[key]), key  # bit for bit, BatchNorm statistics included
    optimizer_states = [_optimizer_state(tmp_path / run / "last") for run in ("straight", "resumed")]
    for key, value in optimizer_states[0].items():
        if key != "LR_Scheduler":
            assert np.array_equal(value, optimizer_states[1][key]), key
    histories = [json.loads((tmp_path / run / "last" / "trainer.json").read_text())["history"]
                 for run in ("straight", "resumed")]
    assert [row["train_loss"] for row in histories[0]] == [row["train_loss"] for row in histories[1]]

    # TrainConfig(resume=...) without out continues in the checkpoint's run directory, as resume_config and
    # --resume do, not in the default runs/train (resolved against the working directory).
    monkeypatch.chdir(tmp_path)
    finished = train(TrainConfig(**settings, resume=str(tmp_path / "resumed" / "last")), stream=io.StringIO())
    assert finished.config.out == str(tmp_path / "resumed") and not (tmp_path / "runs").exists()

    # A resumed run keeps its settings; a new run does not overwrite an old one.
    with pytest.raises(ValueError, match=r"lr=0\.5 \(checkpoint: 0\.05\).*resume_config"):
        train(TrainConfig(**dict(settings, lr=0.5), resume=str(tmp_path / "resumed")))
    with pytest.raises(FileExistsError, match="--resume"):
        train(TrainConfig(**settings, out=str(tmp_path / "resumed")))


@pytest.mark.slow  # fast sibling: test_sampler_order_depends_only_on_seed_and_epoch_and_shards_cover_every_sample
def test_two_processes_train_data_parallel_like_one_process_with_the_global_batch(tiny_data, tmp_path):
    """``paddle.distributed.launch`` with 2 CPU processes (gloo): each takes half of every batch, gradients are
    averaged. With the whole backbone frozen (BatchNorm on running statistics, so a process's half batch
    normalises like the whole batch would), two processes x 8 images must update the head like one process
    x 16 images, up to float rounding in the gradient all-reduce."""
    args = ["--model", "resnet20", "--input-size", "16", "--val-split", "0.25", "--num-workers", "0",
            "--lr", "0.05", "--warmup-epochs", "0", "--epochs", "2", "--freeze", "layer3"]
    completed = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
         str(tmp_path / "log"), str(ROOT / "scripts" / "train.py"), str(tiny_data), "--out", str(tmp_path / "ddp"),
         "--batch-size", "8", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=HANG_GUARD_SECONDS)
    logs = {name: (tmp_path / "log" / name).read_text() for name in ("workerlog.0", "workerlog.1")}
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:] + logs["workerlog.1"]
    assert "epoch 2/2" in logs["workerlog.0"] and "epoch 2/2" not in logs["workerlog.1"]  # rank 0 reports
    trainer = json.loads((tmp_path / "ddp" / "last" / "trainer.json").read_text())
    samples = [(str(path), path.parent.name) for path in sorted(Path(tiny_data).glob("*/*"))]
    held_out = len(split_samples(samples, 0.25, 0, root=str(tiny_data))[1])  # per-file split, same inputs
    assert trainer["world_size"] == 2 and trainer["train_images"] == len(samples) - held_out and trainer["epoch"] == 2

    assert cli_main(["train", str(tiny_data), "--out", str(tmp_path / "single"), "--batch-size", "16", *args]) == 0
    parallel, single = (_weights(tmp_path / run / "last" / "model.safetensors") for run in ("ddp", "single"))
    initial = create_model("resnet20", num_classes=3)  # what seed 0 initialises; the frozen part must keep it
    for key, value in single.items():
        if key.startswith("fc."):
            assert not np.array_equal(value, np.asarray(initial.state_dict()[key]))  # the head did train
        np.testing.assert_allclose(parallel[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


def test_pretrained_weights_file_and_frozen_backbone(tiny_data, tmp_path):
    paddle.seed(123)
    source = create_model("resnet20", num_classes=3)
    paddle.save(source.state_dict(), str(tmp_path / "start.pdparams"))
    _run(**TINY, data=str(tiny_data), out=str(tmp_path / "out"), epochs=1, pretrained=str(tmp_path / "start.pdparams"),
         freeze="layer2")
    start, trained = _weights(tmp_path / "start.pdparams"), _weights(tmp_path / "out" / "last" / "model.safetensors")
    for key, value in start.items():
        frozen = key.startswith(("conv1.", "bn1.", "layer1.", "layer2."))
        assert np.array_equal(value, trained[key]) == frozen, key  # BatchNorm statistics stay frozen too


def test_skip_bad_images_leaves_them_out_and_reports_them(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=6, size=16)
    (data / "checks" / "notes.txt").write_text("not an image")
    (data / "vertical" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (data / "README.txt").write_text("next to the class folders")
    result, output = _run(**dict(TINY, val_split=0.0), data=str(data), out=str(tmp_path / "out"), epochs=1,
                          skip_bad_images=True, amp=True)
    assert sorted(Path(path).name for path, _ in result.skipped) == ["README.txt", "broken.jpg", "notes.txt"]
    assert "skipping 3 bad file(s)" in output and "broken.jpg: cannot read image" in output
    assert "README.txt: not inside a class folder" in output
    assert "--amp ignored" in output
    trainer = json.loads((tmp_path / "out" / "last" / "trainer.json").read_text())
    assert trainer["skipped"] == 3 and trainer["train_images"] == 18 and trainer["best"]["epoch"] is None


def test_separate_validation_folder_reports_its_own_bad_files(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=6, size=16)
    val = make_image_folder(tmp_path / "val", per_class=2, size=16, seed=1)
    (val / "checks" / "broken.png").write_bytes(b"garbage")
    settings = dict(TINY, val_split=None, data=str(data), val_dir=str(val), out=str(tmp_path / "out"), epochs=1)

    with pytest.raises(BadDataError) as error:
        train(TrainConfig(**settings))
    assert str(error.value).startswith(f"{val}: 1 file(s) that are not readable images in a class folder:\n"
                                       f"  {val}/checks/broken.png: cannot read image")

    result, output = _run(**settings, skip_bad_images=True)
    assert result.skipped == [(str(val / "checks" / "broken.png"), result.skipped[0][1])]
    assert "skipping 1 bad file(s)" in output
    trainer = json.loads((tmp_path / "out" / "last" / "trainer.json").read_text())
    assert (trainer["skipped"], trainer["train_images"], trainer["val_images"]) == (1, 18, 6)
    assert trainer["best"]["epoch"] == 1  # validated on the separate folder

    # Bad files in both folders: one error names them all, each under its own folder.
    (data / "vertical" / "notes.txt").write_text("not an image")
    with pytest.raises(BadDataError) as error:
        train(TrainConfig(**dict(settings, out=str(tmp_path / "out2"))))
    message = str(error.value)
    assert message.startswith(f"{data}: 1 file(s)") and f"\n{val}: 1 file(s)" in message
    for path in (val / "checks" / "broken.png", data / "vertical" / "notes.txt"):
        assert message.count(f"  {path}: ") == 1, message


def test_step_schedule_divides_the_rate_at_increasing_milestones_even_in_short_runs():
    def rates(epochs, warmup_epochs, steps_per_epoch):
        config = TrainConfig(model="resnet20", lr=1.0, schedule="step", epochs=epochs, warmup_epochs=warmup_epochs)
        schedule = loop.build_schedule(config, steps_per_epoch)
        values = []
        for _ in range(epochs * steps_per_epoch):
            values.append(schedule())
            schedule.step()
        return values

    # Warm-up 0, 0.5; then x0.1 after 50% and 75% of the 8 remaining steps.
    assert rates(5, 1, 2) == pytest.approx([0, 0.5, 1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01])
    # 2 or 3 steps after warm-up: the two milestones coincide or one would be step 0.
    assert rates(2, 1, 2) == pytest.approx([0, 0.5, 1, 0.1])
    assert rates(4, 1, 1) == pytest.approx([0, 1, 0.1, 0.01])
    assert rates(2, 1, 1) == pytest.approx([0, 1])


@pytest.mark.slow  # fast sibling: test_step_schedule_divides_the_rate_at_increasing_milestones_even_in_short_runs
def test_adamw_with_the_step_schedule_trains_with_its_defaults(tiny_data, tmp_path):
    # 36 training images in batches of 18: 2 steps per epoch, one warm-up epoch, 2 steps of the step schedule.
    result, _ = _run(**dict(TINY, lr=None, warmup_epochs=1, batch_size=18), data=str(tiny_data),
                     out=str(tmp_path / "out"), epochs=2, optimizer="adamw", schedule="step")
    lr = training_config.BASE_LR["adamw"] * 18 / 256
    assert result.config.lr == pytest.approx(lr)
    assert result.config.weight_decay == training_config.DEFAULT_WEIGHT_DECAY["adamw"]
    # metrics record each epoch's last step: half-way through the warm-up, then after the first division.
    assert [row["lr"] for row in result.history] == pytest.approx([lr / 2, lr / 10])
    state = _optimizer_state(tmp_path / "out" / "last")
    assert any("moment2" in key for key in state) and not any("velocity" in key for key in state)


def test_config_rejects_a_stage_or_official_weights_the_model_does_not_have(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"freeze='layer4': resnet20 can be frozen up to one of stem, layer1, "
                                         r"layer2, layer3$"):
        TrainConfig(model="resnet20", freeze="layer4")
    with pytest.raises(ValueError, match=r"no official weights for resnet20, only for resnet18, resnet34"):
        TrainConfig(model="resnet20", pretrained=True)
    TrainConfig(model="resnet50", freeze="layer4", pretrained=True)  # both exist for resnet50
    TrainConfig(model="resnet20", freeze="stem", pretrained="weights.pdparams")
    # Checked before anything else: the data folder does not even exist.
    assert cli_main(["train", str(tmp_path / "missing"), "--model", "resnet20", "--freeze", "layer9"]) == 1
    assert "freeze='layer9'" in capsys.readouterr().err


def _truncated_jpeg(path):
    """A JPEG cut in half: ``PIL.Image.verify`` accepts it, decoding fails."""
    buffer = io.BytesIO()
    Image.fromarray(texture("checks", 64, np.random.default_rng(0))).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


BAD_DATA = {
    "empty class folder": (lambda d: (d / "dots").mkdir(), r"without readable images: dots"),
    "no images at all": (lambda d: [f.unlink() for f in d.rglob("*.png")], r"no readable images in any of its 3"),
    "no class folders": (lambda d: [p.rename(d.parent / p.name) for p in d.iterdir()], r"no class folders"),
    "one class": (lambda d: [p.rename(d.parent / p.name) for p in list(d.iterdir())[1:]], r"at least two classes"),
    "non-image file": (lambda d: (d / "checks" / "labels.csv").write_text("a,b"), r"checks/labels\.csv: not an image"),
    "file next to the class folders": (lambda d: (d / "labels.csv").write_text("a,b"),
                                       r"data/labels\.csv: not inside a class folder"),
    "image next to the class folders": (lambda d: (d / "checks" / "000.png").rename(d / "stray.png"),
                                        r"data/stray\.png: not inside a class folder"),
    "corrupt image": (lambda d: (d / "horizontal" / "x.png").write_bytes(os.urandom(300)),
                      r"horizontal/x\.png: cannot read image"),
    "truncated jpeg": (lambda d: _truncated_jpeg(d / "vertical" / "cut.jpg"), r"vertical/cut\.jpg: cannot read image"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_stops_before_training_with_the_path(case, tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=3, size=16)
    damage, message = BAD_DATA[case]
    damage(data)
    with pytest.raises(BadDataError, match=message):
        train(TrainConfig(**TINY, data=str(data), out=str(tmp_path / "out"), epochs=1))
    assert not (tmp_path / "out" / "last").exists()


def test_command_line_reports_bad_data_as_an_error(tmp_path, capsys):
    data = make_image_folder(tmp_path / "data", per_class=3, size=16)
    (data / "checks" / "broken.png").write_bytes(b"garbage")
    assert cli_main(["train", str(data), "--model", "resnet20", "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "broken.png: cannot read image" in error and "--skip-bad-images" in error


def test_command_line_help_shows_the_configured_defaults(monkeypatch, capsys):
    monkeypatch.setitem(training_config.BASE_LR, "sgd", 0.7)
    monkeypatch.setitem(training_config.DEFAULT_WEIGHT_DECAY, "adamw", 0.02)
    assert cli_main(["train", "--help"]) == 0  # main returns argparse's exit status rather than raising it
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    assert "default 0.7 for sgd, 0.001 for adamw, times global batch / 256" in help_text
    assert "default 0.0001 for sgd, 0.02 for adamw" in help_text


def test_sampler_order_depends_only_on_seed_and_epoch_and_shards_cover_every_sample():
    def epoch_keys(rank, world_size, epoch, seed=0):
        sampler = EpochBatchSampler(10, 3, seed=seed, rank=rank, world_size=world_size)
        sampler.set_epoch(epoch)
        return [key for batch in sampler for key in batch]

    assert epoch_keys(0, 1, 1) == epoch_keys(0, 1, 1) != epoch_keys(0, 1, 2)
    assert epoch_keys(0, 1, 1) != epoch_keys(0, 1, 1, seed=1)
    shards = [epoch_keys(rank, 4, 1) for rank in range(4)]
    assert {len(shard) for shard in shards} == {3}  # 10 samples padded to 12: equal steps on every process
    assert {index for shard in shards for index, _ in shard} == set(range(10))


def test_interrupted_checkpoint_replacement_is_recovered(tiny_data, tmp_path):
    _run(**TINY, data=str(tiny_data), out=str(tmp_path / "out"), epochs=1)
    # A crash between atomic_dir's two renames leaves the previous checkpoint under last.old.
    os.replace(tmp_path / "out" / "last", tmp_path / "out" / "last.old")
    assert find_checkpoint(tmp_path / "out") == tmp_path / "out" / "last"
    assert not (tmp_path / "out" / "last.old").exists()
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        find_checkpoint(tmp_path)


@pytest.mark.slow  # fast sibling: test_predict.py::test_the_export_carries_the_class_names_and_the_evaluation_transform
def test_export_writes_the_best_model_for_deployment(tiny_data, tmp_path):
    result, output = _run(**TINY, data=str(tiny_data), out=str(tmp_path / "out"), epochs=2, export=True)
    assert Path(result.export).is_file() and "exported for deployment" in output
    model = create_model("resnet20", num_classes=3)
    load_weights(model, tmp_path / "out" / "best" / "model.safetensors")
    model.eval()
    exported = paddle.jit.load(str(tmp_path / "out" / "export" / "model"))
    x = paddle.randn([2, 3, 16, 16])
    # Same graph and weights: only kernel choice differs between the eager and the loaded program.
    np.testing.assert_allclose(exported(x).numpy(), model(x).numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------- defaults, extending, threads

def test_one_epoch_needs_no_warmup_setting(tiny_data, tmp_path, capsys):
    """The default warm-up fits a smoke test: one epoch, no warm-up; otherwise one warm-up epoch."""
    assert TrainConfig(data="x", epochs=1).resolved().warmup_epochs == 0
    assert TrainConfig(data="x", epochs=2).resolved().warmup_epochs == 1
    with pytest.raises(ValueError, match="warmup_epochs=1 must be less than epochs=1"):
        TrainConfig(epochs=1, warmup_epochs=1)  # asked for explicitly, it is still checked
    assert cli_main(["train", str(tiny_data), "--model", "resnet20", "--input-size", "16", "--epochs", "1",
                     "--num-workers", "0", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "; 1 epoch; " in out and "0 warm-up epochs" in out and "epoch(s)" not in out


@pytest.mark.slow  # fast sibling: test_train_failures.py::test_a_crashed_run_is_recognised_resumed_and_cleaned
def test_a_finished_run_says_so_and_can_be_extended(tiny_data, tmp_path):
    settings = dict(TINY, data=str(tiny_data), out=str(tmp_path / "run"), warmup_epochs=1)
    first, _ = _run(**settings, epochs=2)
    again, output = _run(**dict(settings, out=None), epochs=2, resume=str(tmp_path / "run"))
    assert "has finished all 2 epochs: nothing to train" in output and "--epochs 4" in output
    assert again.history == first.history and not (tmp_path / "runs").exists()

    extended, output = _run(**dict(settings, out=None), epochs=4, resume=str(tmp_path / "run"))
    assert "length changed from 2 to 4 epochs" in output and "epoch 4/4" in output and "epoch 2/4" not in output
    assert [row["epoch"] for row in extended.history] == [1, 2, 3, 4]
    assert extended.history[:2] == first.history
    assert json.loads((tmp_path / "run" / "last" / "trainer.json").read_text())["config"]["epochs"] == 4
    # Epochs 3 and 4 ran the 4-epoch plan, from the step the run had reached: each epoch records the rate of
    # its last step, which a fresh 4-epoch schedule (built and stepped independently here) has at that step.
    steps_per_epoch = len(EpochBatchSampler(36, TINY["batch_size"]))  # 36 training images (48, 25% held out)
    planned = loop.build_schedule(extended.config, steps_per_epoch)
    rates = []
    for _ in range(4 * steps_per_epoch):
        rates.append(planned())
        planned.step()
    assert [row["lr"] for row in extended.history[2:]] == pytest.approx(
        [rates[3 * steps_per_epoch - 1], rates[4 * steps_per_epoch - 1]])
    assert extended.history[1]["lr"] != pytest.approx(rates[2 * steps_per_epoch - 1])  # the 2-epoch plan ended at 0

    with pytest.raises(ValueError, match=r"epochs=3: the run in .* has already trained 4 epochs"):
        train(TrainConfig(**dict(settings, out=None), epochs=3, resume=str(tmp_path / "run")))
    with pytest.raises(ValueError, match=r"lr=0\.5 \(checkpoint: 0\.05\).*--epochs N extends a run"):
        train(TrainConfig(**dict(settings, out=None, lr=0.5), epochs=5, resume=str(tmp_path / "run")))


def test_pretrained_swallowing_the_data_folder_is_explained(tiny_data, capsys):
    assert cli_main(["train", "--model", "resnet20", "--pretrained", str(tiny_data)]) == 2
    err = capsys.readouterr().err
    assert f"--pretrained took {str(tiny_data)!r} as its weights file, but it is a folder" in err
    assert f"train {tiny_data} --pretrained" in err
    with pytest.raises(ValueError, match="is a folder; expected a weights file"):
        TrainConfig(data=str(tiny_data), model="resnet20", pretrained=str(tiny_data))


def test_threads_are_set_for_training_on_the_cpu(tiny_data, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(paddle.base.core, "set_num_threads", calls.append)
    _, output = _run(**TINY, data=str(tiny_data), out=str(tmp_path / "one"), epochs=1, threads=1)
    assert calls == [1] and "(1 CPU thread each)" in output
    _run(**TINY, data=str(tiny_data), out=str(tmp_path / "default"), epochs=1)
    default = training_config.cpu_threads()  # from DEFAULT_THREADS (None: Paddle's own setting is kept)
    assert calls[1:] == ([] if default is None else [default])
    # "all" shares the cores between the processes the launcher started on this machine; "paddle" keeps its own.
    from paddle_resnet.deploy.predictor import available_threads

    monkeypatch.setenv("PADDLE_LOCAL_SIZE", "2")
    assert training_config.cpu_threads(default="all") == max(1, available_threads() // 2)
    assert training_config.cpu_threads(default="paddle") is None and training_config.cpu_threads(3) == 3
    with pytest.raises(ValueError, match=r"threads=0: expected an integer >= 1"):
        TrainConfig(threads=0)
