"""Training when things go wrong: images that break mid-run, unusual image files, folders that overlap, an
output directory that is not the run's own, two runs at once, a loss that diverges, values out of range.

Each case ends with one clear error naming the file or value, or is handled (see docs/reliability.md). Nothing
here may hang: Paddle's ``DataLoader`` with ``num_workers=0`` hangs for ever when a dataset item raises, so
the real loader runs only in a subprocess with a timeout, and everything else is tested in-process on the
pieces that replace the raise (``ImageDataset``, ``collate_samples``, ``CheckedLoader``).
"""

from __future__ import annotations

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
from helpers.images import make_image_folder
from helpers.tiers import representatives
from helpers.training import TINY
from helpers.training import run_training as _run
from PIL import Image

from paddle_resnet.cli import main as cli_main
from paddle_resnet.training import BadDataError, TrainConfig, loop, resume_config, train
from paddle_resnet.training import rundir
from paddle_resnet.training.data import (CheckedLoader, ImageDataset, check_image, collate_samples, eval_transform,
                                         list_image_folder, to_rgb)
from paddle_resnet.training.loop import TrainingDiverged

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=16, size=16)


# ------------------------------------------------------------------------------ an image breaks mid-run

def test_a_sample_that_cannot_be_loaded_comes_back_as_an_error_not_an_exception(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(good)
    samples = [(str(good), 1), (str(tmp_path / "gone.png"), 0), (str(good), 2)]
    dataset = ImageDataset(samples, eval_transform(16), seed=0)

    image, label = dataset[(0, 0)]
    assert image.shape == (3, 16, 16) and image.dtype == np.float32 and label == 1
    with pytest.raises(FileNotFoundError):
        dataset.load(1, 0)  # what Paddle's loader must never see
    reason, code = dataset[(1, 0)]
    assert code == -2 and reason.dtype == np.uint8
    assert bytes(reason).decode().startswith("FileNotFoundError: ")

    # A batch with a failed sample is the failed samples alone, their error texts as uint8 rows.
    reasons, codes = collate_samples([dataset[(0, 0)], dataset[(1, 0)], dataset[(2, 0)]])
    assert codes.tolist() == [-2] and reasons.dtype == np.uint8 and reasons.shape[0] == 1
    images, labels = collate_samples([dataset[(0, 0)], dataset[(2, 0)]])
    assert images.shape == (2, 3, 16, 16) and labels.tolist() == [1, 2]

    # The loader wrapper turns it into one error in the training process, with the path and the reason.
    batches = [(paddle.to_tensor(images), paddle.to_tensor(labels)), tuple(map(paddle.to_tensor, (reasons, codes)))]
    checked = iter(CheckedLoader(batches, samples))
    assert next(checked)[1].numpy().tolist() == [1, 2]
    with pytest.raises(BadDataError, match=rf"^{tmp_path / 'gone.png'}: cannot load image \(FileNotFoundError: .*\n"
                                           r"It was readable when training started\. .*--resume"):
        next(checked)


def test_a_transform_that_fails_is_reported_with_the_file(tmp_path):
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "a.png")

    def out_of_memory(image):
        raise MemoryError("cannot allocate 120 GB")

    dataset = ImageDataset([(str(tmp_path / "a.png"), 0)], out_of_memory, seed=0)
    reasons, codes = collate_samples([dataset[(0, 0)]])
    with pytest.raises(BadDataError, match=r"a\.png: cannot load image \(MemoryError: cannot allocate 120 GB\)"):
        list(CheckedLoader([tuple(map(paddle.to_tensor, (reasons, codes)))], dataset.samples))


#: Run by the test below in a subprocess: train, and after the first epoch make one image unreadable.
BREAK_AFTER_FIRST_EPOCH = """
import sys
import paddle_resnet  # Pillow before Paddle (Paddle 2.6)
from paddle_resnet.cli import main
from paddle_resnet.training import loop

data, broken, out, workers = sys.argv[1:]
write_metrics = loop.write_metrics_csv

def break_an_image(*args):
    write_metrics(*args)
    open(broken, "wb").write(b"no longer an image")

loop.write_metrics_csv = break_an_image
sys.exit(main(["train", data, "--model", "resnet20", "--input-size", "16", "--epochs", "2", "--warmup-epochs", "0",
               "--batch-size", "8", "--lr", "0.05", "--num-workers", workers, "--out", out]))
"""


@pytest.mark.slow  # fast sibling: test_a_sample_that_cannot_be_loaded_comes_back_as_an_error_not_an_exception
@pytest.mark.parametrize("workers", ["0", "2"])
def test_an_image_that_breaks_during_training_stops_the_run_and_resume_continues(data, tmp_path, workers):
    """With no loader workers this hung for ever; with workers it ended in ~80 lines of traceback."""
    broken = data / "checks" / "003.png"
    original = broken.read_bytes()
    out = tmp_path / "out"
    completed = subprocess.run([sys.executable, "-c", BREAK_AFTER_FIRST_EPOCH, str(data), str(broken), str(out),
                                workers], cwd=ROOT, capture_output=True, text=True,
                               timeout=HANG_GUARD_SECONDS)
    assert completed.returncode == 1, completed.stderr[-3000:]
    error = completed.stderr[completed.stderr.index("error: "):]
    assert error.startswith(f"error: {broken}: cannot load image (UnidentifiedImageError: "), error
    assert error.rstrip().endswith("fix or remove the file and continue with --resume."), error
    assert "Traceback" not in completed.stderr and "Blocking queue" not in completed.stderr
    assert json.loads((out / "last" / "trainer.json").read_text())["epoch"] == 1

    broken.write_bytes(original)  # fixed: the documented recovery path
    assert cli_main(["train", "--resume", str(out)]) == 0
    assert json.loads((out / "last" / "trainer.json").read_text())["epoch"] == 2


# ------------------------------------------------------------------------------ image files

def _png16_gray(path, pixels):
    Image.fromarray(pixels.astype(np.uint16)).save(path)  # Pillow writes mode I;16 as a 16-bit grayscale PNG


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    pixels = np.linspace(0, 65535, 64).reshape(8, 8).round()
    _png16_gray(tmp_path / "deep.png", pixels)
    with Image.open(tmp_path / "deep.png") as image:
        assert image.mode in ("I;16", "I")  # as Pillow reads it (I with Pillow < 10)
        rgb = np.asarray(to_rgb(image))
    expected = np.round(pixels * 255 / 65535)
    assert rgb.shape == (8, 8, 3) and np.array_equal(rgb[..., 0], expected) and np.array_equal(rgb[..., 2], expected)
    assert check_image(str(tmp_path / "deep.png")) is None


def test_32_bit_pixels_without_a_range_are_bad_files(tmp_path):
    Image.fromarray(np.ones((8, 8), np.float32)).save(tmp_path / "float.tif")
    assert "unsupported pixel format: 32-bit float pixels (mode 'F')" in check_image(str(tmp_path / "float.tif"))


def test_a_pipe_named_like_an_image_is_a_bad_file_and_is_never_opened(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=1, size=8)
    os.mkfifo(data / "checks" / "pipe.png")  # opening it to read would block for ever
    listing = list_image_folder(str(data))
    assert (str(data / "checks" / "pipe.png"), "not a regular file (a pipe, socket or device)") in listing.rejected
    assert all(Path(path).name != "pipe.png" for path, _ in listing.candidates)


def test_a_symlink_loop_is_listed_once_and_reported(tmp_path):
    """A link back up the tree was walked ~40 levels deep: each image read 41 times, copies in validation."""
    data = make_image_folder(tmp_path / "data", per_class=5, size=16)
    os.symlink("..", data / "checks" / "loop")  # checks/loop -> data
    listing = list_image_folder(str(data))
    assert len(listing.candidates) == 15 and len({p for p, _ in listing.candidates}) == 15
    assert [path for path, _ in listing.rejected] == [str(data / "checks" / "loop")]
    assert "the same folder as" in listing.rejected[0][1] and "loop" in listing.rejected[0][1]

    with pytest.raises(BadDataError, match=r"(?s)checks/loop: the same folder as .*--skip-bad-images"):
        train(TrainConfig(**TINY, data=str(data), out=str(tmp_path / "out"), epochs=1))
    result, output = _run(**TINY, data=str(data), out=str(tmp_path / "out"), epochs=1, skip_bad_images=True)
    trainer = json.loads((tmp_path / "out" / "last" / "trainer.json").read_text())
    assert trainer["train_images"] + trainer["val_images"] == 15 and trainer["skipped"] == 1


def test_a_second_link_to_an_image_is_reported(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=3, size=16)
    os.symlink(data / "checks" / "000.png", data / "vertical" / "also_checks.png")
    listing = list_image_folder(str(data))
    assert (str(data / "vertical" / "also_checks.png"),
            f"the same file as {data / 'checks' / '000.png'} (a second link to it): it would be read twice, and could "
            "land in both the training and the validation images") in listing.rejected


def test_validation_images_that_are_training_images_are_refused(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=4, size=16)
    val = make_image_folder(tmp_path / "val", per_class=1, size=16, seed=1)
    os.symlink(data / "checks" / "002.png", val / "checks" / "copy.png")
    with pytest.raises(BadDataError, match=r"1 validation image\(s\) are training images too .*\n"
                                           rf"  {val / 'checks' / 'copy.png'}: the same file as .*002\.png"):
        train(TrainConfig(**dict(TINY, val_split=None), data=str(data), val_dir=str(val), out=str(tmp_path / "out"),
                          epochs=1, skip_bad_images=True))


# ------------------------------------------------------------------------------ folders

@pytest.mark.parametrize("out, val_dir, message", [
    ("data/runs", None, r"--out .*data/runs is inside the training folder .*data: the run's files would be read"),
    ("data", None, r"--out .*data is inside the training folder"),
    ("val/out", "val", r"--out .*val/out is inside the validation folder \(--val-dir\)"),
    ("out", "data", r"--val-dir .*data is the training folder .*: validation images must not be training images"),
    ("out", "data/checks", r"--val-dir .*data/checks is inside the training folder"),
    ("out", ".", r"--val-dir .* contains the training folder"),
])
def test_overlapping_folders_are_refused_before_anything_is_written(tmp_path, data, out, val_dir, message):
    make_image_folder(tmp_path / "val", per_class=2, size=16)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    settings = dict(TINY, val_split=None) if val_dir else TINY
    with pytest.raises(ValueError, match=message):
        train(TrainConfig(**settings, data=str(data), out=str(tmp_path / out), epochs=1,
                          val_dir=None if val_dir is None else str(tmp_path / val_dir)))
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


# ------------------------------------------------------------------------------ the output directory

def test_a_new_run_refuses_a_directory_with_other_files_and_leaves_them(tmp_path, data):
    out = tmp_path / "out"
    (out / "best").mkdir(parents=True)
    (out / "best" / "mine.txt").write_text("keep me")
    (out / "metrics.csv").write_text("mine")
    with pytest.raises(FileExistsError, match=rf"^{out} is not empty \(best, metrics.csv\) and holds no training "
                                              r"run; .*choose a new or empty directory"):
        train(TrainConfig(**TINY, data=str(data), out=str(out), epochs=1))
    assert (out / "best" / "mine.txt").read_text() == "keep me" and (out / "metrics.csv").read_text() == "mine"
    assert sorted(os.listdir(out)) == ["best", "metrics.csv"], "no lock file left either"


def test_a_run_that_stops_early_leaves_no_directory(tmp_path, data):
    (data / "checks" / "bad.png").write_bytes(b"garbage")
    with pytest.raises(BadDataError):
        train(TrainConfig(**TINY, data=str(data), out=str(tmp_path / "out"), epochs=1))
    assert not (tmp_path / "out").exists()


def test_a_crashed_run_is_recognised_resumed_and_cleaned(tmp_path, data):
    out = tmp_path / "out"
    _run(**TINY, data=str(data), out=str(out), epochs=2)
    # A crash between a checkpoint's two renames (no last/, a last.old/), and temporaries of killed writes.
    os.replace(out / "last", out / "last.old")
    os.replace(out / "best", out / "best.old")
    (out / ".last.tmp-k1ll3d").mkdir()
    (out / ".last.tmp-k1ll3d" / "model.pdparams").write_bytes(b"\0" * 1000)
    (out / ".metrics.csv.x1y2.tmp").write_text("")
    with pytest.raises(FileExistsError, match=rf"{out} already holds a training run \(interrupted while replacing "
                                              rf"its checkpoint: last.old/ is the previous one\); continue it with "
                                              rf"--resume {out}"):
        train(TrainConfig(**TINY, data=str(data), out=str(out), epochs=2))
    assert cli_main(["train", "--resume", str(out)]) == 0  # both epochs were done: it only reports
    plot = ["metrics.png"] if (out / "metrics.png").exists() else []  # needs matplotlib
    assert sorted(os.listdir(out)) == [".lock", "best", "last", "metrics.csv", *plot]
    assert json.loads((out / "best" / "trainer.json").read_text())["epoch"] in (1, 2)


def test_a_directory_holding_only_what_a_crash_before_the_first_checkpoint_left_is_reused(tmp_path, data):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text("pid 1 on elsewhere\n")
    (out / ".last.tmp-abc").mkdir()
    _run(**TINY, data=str(data), out=str(out), epochs=1)
    assert not (out / ".last.tmp-abc").exists() and (out / "last" / "trainer.json").is_file()


def test_a_directory_in_use_by_another_run_is_refused(tmp_path, data):
    out = tmp_path / "out"
    _run(**TINY, data=str(data), out=str(out), epochs=1)
    with rundir.locked(out):  # as a running training process holds it
        with pytest.raises(FileExistsError, match=rf"{out} is in use by another training run \(pid {os.getpid()} "
                                                  r"on .*\); wait for it to end, or choose another --out"):
            train(resume_config(str(out)))
        assert cli_main(["train", "--resume", str(out)]) == 1
    assert json.loads((out / "last" / "trainer.json").read_text())["epoch"] == 1
    train(resume_config(str(out)), stream=io.StringIO())  # released: it may resume


@pytest.mark.slow  # fast sibling: test_a_crashed_run_is_recognised_resumed_and_cleaned
def test_a_resumed_run_may_write_to_a_new_directory_but_not_to_another_run(tmp_path, data, monkeypatch):
    real_epoch = loop.train_one_epoch

    def interrupted_in_epoch_2(model, loader, *args, **kwargs):
        if loader.loader.batch_sampler.epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(model, loader, *args, **kwargs)

    monkeypatch.setattr(loop, "train_one_epoch", interrupted_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        _run(**TINY, data=str(data), out=str(tmp_path / "a"), epochs=2)
    monkeypatch.setattr(loop, "train_one_epoch", real_epoch)
    _run(**TINY, data=str(data), out=str(tmp_path / "b"), epochs=1)
    with pytest.raises(FileExistsError, match=rf"{tmp_path / 'b'} already holds a training run"):
        train(resume_config(str(tmp_path / "a"), out=str(tmp_path / "b")))
    train(resume_config(str(tmp_path / "a"), out=str(tmp_path / "c")), stream=io.StringIO())
    assert json.loads((tmp_path / "c" / "last" / "trainer.json").read_text())["epoch"] == 2
    assert json.loads((tmp_path / "a" / "last" / "trainer.json").read_text())["epoch"] == 1


# ------------------------------------------------------------------------------ numbers

@pytest.mark.parametrize("settings, message", [
    (dict(lr=float("inf")), r"lr=inf: expected a positive finite number"),
    (dict(lr=float("nan")), r"lr=nan: expected a positive finite number"),
    (dict(weight_decay=float("inf")), r"weight_decay=inf: expected a finite number >= 0"),
    (dict(input_size=100000), r"input_size=100000: expected at most 4096 \(one 100000x100000 image is 112 GiB"),
])
def test_values_out_of_range_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings)


def test_command_line_refuses_an_infinite_learning_rate(tmp_path, data, capsys):
    assert cli_main(["train", str(data), "--lr", "inf", "--out", str(tmp_path / "out")]) == 1
    assert "error: lr=inf: expected a positive finite number" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _poison(model):
    """Make the weights produce NaN, as a diverged step would."""
    weight = model.fc.weight
    weight.set_value(np.full(weight.shape, np.nan, dtype="float32"))


@pytest.mark.parametrize("where", representatives(["training", "validation"], fast=["training"]))
def test_a_diverged_epoch_stops_the_run_and_is_never_saved(tmp_path, data, monkeypatch, where):
    real_epoch = loop.train_one_epoch
    epochs = []

    def diverging_epoch(model, *args, **kwargs):
        epochs.append(1)
        if len(epochs) == 2 and where == "training":
            _poison(model)
        record = real_epoch(model, *args, **kwargs)
        if len(epochs) == 2 and where == "validation":
            _poison(model)
        return record

    monkeypatch.setattr(loop, "train_one_epoch", diverging_epoch)
    message = r"epoch 2, batch 1: the training loss is nan" if where == "training" else \
        r"epoch 2: the validation loss is nan \(the training loss was "
    with pytest.raises(TrainingDiverged, match=message + r".*the training diverged\. Nothing of this epoch was "
                                               r"saved.*lower --lr"):
        _run(**TINY, data=str(data), out=str(tmp_path / "out"), epochs=3)
    for checkpoint in ("last", "best"):
        trainer = json.loads((tmp_path / "out" / checkpoint / "trainer.json").read_text())
        assert trainer["epoch"] == 1 and trainer["best"]["epoch"] == 1
    assert len((tmp_path / "out" / "metrics.csv").read_text().splitlines()) == 2  # header and epoch 1


def test_a_batch_larger_than_the_data_is_noted(tmp_path, data):
    _, output = _run(**dict(TINY, lr=None, batch_size=1000), data=str(data), out=str(tmp_path / "out"), epochs=1)
    images = json.loads((tmp_path / "out" / "last" / "trainer.json").read_text())["train_images"]
    assert f"note: a batch of 1000 images is more than the {images} training images, so every epoch is a single " \
           "step" in output
    assert "the default learning rate is scaled to the batch size (0.390625)" in output
