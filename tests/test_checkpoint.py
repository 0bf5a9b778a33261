"""Checkpoints: JSON + safetensors (no pickles), exact random generator states, earlier checkpoints still resumed,
and damaged ones reported with the file that is wrong."""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import re
import shutil
import time

import numpy as np
import paddle
import pytest
from helpers import run_cli
from helpers.images import make_image_folder
from helpers.legacy_checkpoint import to_legacy_format

from paddle_resnet import resnet20
from paddle_resnet.training import TrainConfig, loop, resume_config, train
from paddle_resnet.training import checkpoint as ckpt
from paddle_resnet.weights.files import read_state

TINY = dict(model="resnet20", input_size=16, batch_size=4, num_workers=0, warmup_epochs=1, epochs=2, lr=0.05)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("ckpt") / "data", per_class=4, size=16)


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    train(TrainConfig(data=str(data), out=str(out), **TINY), stream=io.StringIO())
    return out


def _draws(with_paddle=True):
    return (random.random(), np.random.rand(3).tolist(), np.random.randn(),
            paddle.rand([3]).numpy().tolist() if with_paddle else None)


def test_random_generator_states_round_trip_exactly_through_json(tmp_path):
    random.seed(1), np.random.seed(1), paddle.seed(1)
    np.random.randn()  # numpy now holds a cached Gaussian (has_gauss=1, a float): it must survive JSON too
    model = resnet20()
    optimizer = paddle.optimizer.Momentum(0.1, parameters=model.parameters())
    ckpt.save_checkpoint(tmp_path / "c", model, {"epoch": 0}, optimizer, {"scheduler": {}, "scaler": {}})
    saved = [state.__getstate__() for state in paddle.get_rng_state()]
    # Paddle 2.6's generator state is (device, seed, offset) without the CPU engine's position, which Paddle
    # does not expose (it restores by reseeding); Paddle 3 adds the engine state, so its draws repeat too.
    with_paddle = len(saved[0]) == 4
    expected = _draws(with_paddle)
    random.seed(2), np.random.seed(2), paddle.seed(2)
    ckpt.set_rng_states(ckpt.load_training_state(tmp_path / "c")["rng"])
    assert [state.__getstate__() for state in paddle.get_rng_state()] == saved
    assert _draws(with_paddle) == expected
    assert sorted(os.listdir(tmp_path / "c")) == ["model.safetensors", "state.json", "state.safetensors",
                                                  "trainer.json"]
    document = json.loads((tmp_path / "c" / "state.json").read_text())
    assert document["format"] == 2 and set(document["state"]) == {"optimizer", "scheduler", "scaler", "rng"}


def test_a_checkpoint_of_the_earlier_pickle_format_resumes_bit_for_bit(data, finished, tmp_path, monkeypatch):
    """Interrupted after epoch 1, rewritten as the earlier version wrote it (model.pdparams, optimizer.pdopt,
    state.pkl with Paddle GeneratorState objects), resumed through the restricted reader: the final weights
    equal those of the uninterrupted run."""
    real_epoch = loop.train_one_epoch

    def crash_in_epoch_two(model, loader, *args, **kwargs):
        if len(calls) == 1:
            raise KeyboardInterrupt
        calls.append(1)
        return real_epoch(model, loader, *args, **kwargs)

    calls = []
    monkeypatch.setattr(loop, "train_one_epoch", crash_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(data=str(data), out=str(tmp_path / "run"), **TINY), stream=io.StringIO())
    monkeypatch.setattr(loop, "train_one_epoch", real_epoch)
    to_legacy_format(tmp_path / "run" / "last")
    assert sorted(os.listdir(tmp_path / "run" / "last")) == ["model.pdparams", "optimizer.pdopt", "state.pkl",
                                                             "trainer.json"]
    output = io.StringIO()
    train(resume_config(str(tmp_path / "run")), stream=output)
    assert "resumed from" in output.getvalue()
    straight = read_state(str(finished / "last" / "model.safetensors"))
    resumed = read_state(str(tmp_path / "run" / "last" / "model.safetensors"))  # written in the new format
    for key in straight:
        assert np.array_equal(straight[key], resumed[key]), key


def _damage(finished, tmp_path, how):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    last = run / "last"
    if how == "trainer.json is not JSON":
        (last / "trainer.json").write_text('{"epoch": 2, "config": ')
        return run, "trainer.json: not valid JSON"
    if how == "trainer.json lacks keys":
        trainer = json.loads((last / "trainer.json").read_text())
        del trainer["history"], trainer["classes"]
        (last / "trainer.json").write_text(json.dumps(trainer))
        return run, "trainer.json: lacks classes, history"
    if how == "trainer.json has a wrong type":
        trainer = json.loads((last / "trainer.json").read_text())
        trainer["epoch"] = "two"
        (last / "trainer.json").write_text(json.dumps(trainer))
        return run, r"trainer.json: epoch \(str, expected int\)"
    if how == "state.safetensors is truncated":
        data = (last / "state.safetensors").read_bytes()
        (last / "state.safetensors").write_bytes(data[: len(data) // 2])
        return run, "state.safetensors: .*truncated"
    if how == "state.json is not JSON":
        (last / "state.json").write_text("{")
        return run, "state.json: not valid JSON"
    if how == "state.json names a missing array":
        document = json.loads((last / "state.json").read_text())
        document["state"]["scaler"] = {"scale": {"__array__": "/nowhere"}}
        (last / "state.json").write_text(json.dumps(document))
        return run, "state.json: refers to array '/nowhere'"
    if how == "the weights are empty":
        (last / "model.safetensors").write_bytes(b"")
        return run, "model.safetensors: 0 bytes, too short"
    if how == "the optimizer state is missing":
        (last / "state.json").unlink()
        return run, (rf"{last} is incomplete: it lacks state.json and state.safetensors .* cannot be resumed\. "
                     rf"Start a new run from its weights with --pretrained {last / 'model.safetensors'}")
    if how == "an earlier checkpoint's state.pkl is truncated":
        to_legacy_format(last)
        data = (last / "state.pkl").read_bytes()
        (last / "state.pkl").write_bytes(data[:200])
        return run, r"state.pkl: cannot be read as a \.pkl file"
    if how in TAMPERED:  # issue 18: values of the right type but out of range, or a missing key deep inside
        file, edit, message = TAMPERED[how]
        document = json.loads((last / file).read_text())
        edit(document)
        (last / file).write_text(json.dumps(document))
        return run, f"{file}: {message}"
    if how == "state.json optimizer without its schedule":
        document = json.loads((last / "state.json").read_text())
        del document["state"]["optimizer"]["LR_Scheduler"]
        (last / "state.json").write_text(json.dumps(document))
        # Paddle 3.x asserts that the schedule's state is there; Paddle 2.6 looks it up (a KeyError)
        return run, (r"last: its optimizer, schedule or random generator state does not fit this run "
                     r"\((AssertionError: LR_Scheduler state must be included|KeyError: 'LR_Scheduler')")
    if how == "an earlier checkpoint's state.pkl holds a scalar":
        to_legacy_format(last)
        (last / "state.pkl").write_bytes(pickle.dumps(5, protocol=2))
        return run, r"state.pkl: not the state of a paddle_resnet checkpoint"
    raise AssertionError(how)


def _set(document, path, value):
    *parents, leaf = path
    for key in parents:
        document = document[key]
    if value is _DELETE:
        del document[leaf]
    else:
        document[leaf] = value


_DELETE = object()
TAMPERED = {
    "trainer.json epoch -5": ("trainer.json", lambda d: _set(d, ["epoch"], -5),
                              r"epoch -5: expected an integer 0 to config.epochs \(2\)"),
    "trainer.json epoch 99 of 2": ("trainer.json", lambda d: _set(d, ["epoch"], 99), "epoch 99: expected"),
    "trainer.json step 99 of max_steps 8": ("trainer.json", lambda d: (_set(d, ["config", "max_steps"], 8),
                                                                     _set(d, ["step"], 99)),
                                            r"step 99: expected an integer 0 to config.max_steps \(8\)"),
    "trainer.json max_steps 0": ("trainer.json", lambda d: _set(d, ["config", "max_steps"], 0),
                                 "config.max_steps 0: expected a positive integer"),
    "trainer.json NaN accuracy": ("trainer.json", lambda d: _set(d, ["best", "val_acc"], float("nan")),
                                  "best.val_acc nan: expected a fraction 0 to 1"),
    "trainer.json accuracy 2.0": ("trainer.json", lambda d: _set(d, ["best", "val_acc"], 2.0),
                                  "best.val_acc 2.0: expected a fraction 0 to 1"),
    "state.json last_epoch 10**30": ("state.json", lambda d: _set(d, ["state", "scheduler", "last_epoch"], 10 ** 30),
                                     r"scheduler.last_epoch an int of 100 bits: expected an integer 0 "
                                     r"to \d+ \(the steps the run has taken\)"),
    "state.json last_epoch 'abc'": ("state.json", lambda d: _set(d, ["state", "scheduler", "last_epoch"], "abc"),
                                    "scheduler.last_epoch 'abc': expected an integer"),
    "state.json last_lr NaN": ("state.json", lambda d: _set(d, ["state", "scheduler", "last_lr"], float("nan")),
                               "scheduler.last_lr nan: expected a finite number"),
    "state.json without an optimizer entry": ("state.json", lambda d: _set(d, ["state", "optimizer"], _DELETE),
                                              "lacks optimizer"),
}


@pytest.mark.parametrize("how", [
    "trainer.json is not JSON", "trainer.json lacks keys", "trainer.json has a wrong type",
    "state.safetensors is truncated", "state.json is not JSON", "state.json names a missing array",
    "the weights are empty", "the optimizer state is missing", "an earlier checkpoint's state.pkl is truncated",
    *TAMPERED, "an earlier checkpoint's state.pkl holds a scalar", "state.json optimizer without its schedule",
])
def test_a_damaged_checkpoint_is_an_error_naming_the_file(finished, tmp_path, capsys, how):
    run, message = _damage(finished, tmp_path, how)
    # Extending the finished run reads every file of its checkpoint (resuming it as it is only says it is done).
    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--epochs", "9")
    assert code == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert str(run) in err


def test_a_best_model_checkpoint_points_to_the_resumable_one(finished):
    with pytest.raises(FileNotFoundError, match=rf"{finished / 'best'} holds model weights only .* resume from "
                                                rf"{finished / 'last'}"):
        ckpt.find_checkpoint(finished / "best")


def test_resuming_removes_what_a_killed_save_left(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    leftover = run / ".last.tmp-ab12cd34"  # the temporary directory of a save killed with kill -9
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")
    stamp = time.time() - 3600
    os.utime(leftover, (stamp, stamp))
    assert ckpt.find_checkpoint(run) == run / "last" and not leftover.exists()
