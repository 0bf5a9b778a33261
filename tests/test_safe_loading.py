"""No file we read can run code: the restricted reader of ``.pdparams`` / ``.pdopt`` files, through every entry
point that reads one.

A pickle runs code by naming a function (``GLOBAL`` / ``STACK_GLOBAL``) and calling it (``REDUCE``). The
hostile files below do that inside an otherwise valid state dict; each would create a marker file if any of
its code ran (``test_the_hostile_files_do_run_code_when_unpickled`` shows that they do). Files ``paddle.save``
writes, on this Paddle and, from committed fixtures, on the other CI version, must load unchanged.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import os
import pickle
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import paddle
import pytest
from helpers import run_cli
from helpers.images import make_image_folder
from helpers.legacy_checkpoint import to_legacy_format

from paddle_resnet import create_model, load_weights, resnet18, resnet20
from paddle_resnet.training import TrainConfig, train
from paddle_resnet.weights import UnsafePickleError, official, pickle_safe

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "paddle_save"


# ------------------------------------------------------------------------------------------ hostile files

class _Call:
    """Pickles as ``function(*args)``: how an attacker makes unpickling call something."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _short(text: str) -> bytes:
    return b"\x8c" + bytes([len(text)]) + text.encode()  # SHORT_BINUNICODE


def _hostile(kind: str, marker: Path) -> bytes:
    """A pickle that creates ``marker`` when loaded: a real state dict with the payload as its last entry."""
    legit = {"conv1.weight": np.zeros((16, 3, 3, 3), np.float32), "bn1.weight": np.ones(16, np.float32)}
    if kind == "os.system":  # protocol 0, written by hand: GLOBAL names the module "os" itself
        return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    if kind == "shutil.copyfile by STACK_GLOBAL":  # protocol 4, by hand: a module function by STACK_GLOBAL
        return (b"\x80\x04" + _short("shutil") + _short("copyfile") + b"\x93" + _short(__file__)
                + _short(str(marker)) + b"\x86R.")
    payload = {"subprocess.Popen": _Call(subprocess.Popen, ["touch", str(marker)]),
               "builtins.eval": _Call(eval, f"open({str(marker)!r}, 'w').close()")}[kind]
    return pickle.dumps({**legit, "zz": payload}, protocol=4)


KINDS = ["os.system", "subprocess.Popen", "builtins.eval", "shutil.copyfile by STACK_GLOBAL"]


def _refused(kind: str, path) -> str:
    """The pattern of the error every entry point must give: the file, the global, the ways forward."""
    name = kind.split(" ")[0]
    return rf"{path}: refused to load: it imports {name}.*trusted=True.*\.safetensors"


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "marker"
    yield path
    time.sleep(0.05)  # a spawned `touch` would need a moment
    assert not path.exists(), "code in the file ran"


def _write_hostile(path: Path, kind: str, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_hostile(kind, marker))
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_the_hostile_files_do_run_code_when_unpickled(kind, tmp_path):
    """The control: plain pickle (which paddle.load is) runs each payload."""
    marker = tmp_path / "ran"
    pickle.loads(_hostile(kind, marker))
    for _ in range(200):  # `touch` runs in a process of its own
        if marker.exists():
            break
        time.sleep(0.05)
    assert marker.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_load_weights_refuses_before_anything_runs(kind, tmp_path, marker):
    path = _write_hostile(tmp_path / "w.pdparams", kind, marker)
    with pytest.raises(UnsafePickleError, match=_refused(kind, path)):
        load_weights(resnet20(), path)
    with pytest.raises(UnsafePickleError, match=_refused(kind, path)):
        create_model("resnet20", pretrained=str(path))


@pytest.mark.parametrize("kind", KINDS)
def test_pretrained_url_and_official_download_refuse_it(kind, tmp_path, marker, server, monkeypatch):
    path = _write_hostile(server.root / "resnet20.pdparams", kind, marker)
    with pytest.raises(UnsafePickleError, match=r"refused to load: it imports"):
        create_model("resnet20", pretrained=f"{server.url}/resnet20.pdparams")
    md5 = hashlib.md5(path.read_bytes()).hexdigest()  # the right checksum: the download itself succeeds
    monkeypatch.setitem(official.OFFICIAL_WEIGHTS, "resnet20", (f"{server.url}/resnet20.pdparams", md5))
    with pytest.raises(UnsafePickleError, match=r"resnet20\.pdparams: refused to load: it imports"):
        create_model("resnet20", pretrained=True)


@pytest.mark.parametrize("kind", KINDS)
def test_export_weights_refuses_it(kind, tmp_path, marker, capsys):
    path = _write_hostile(tmp_path / "w.pdparams", kind, marker)
    code, _, err = run_cli(capsys, "export", "resnet20", "--weights", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "refused to load: it imports" in err and str(path) in err and "Traceback" not in err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny finished run (1 epoch) whose checkpoint the resume tests copy and damage."""
    root = tmp_path_factory.mktemp("run")
    data = make_image_folder(root / "data", per_class=4, size=16)
    train(TrainConfig(data=str(data), model="resnet20", epochs=1, warmup_epochs=0, batch_size=4, input_size=16,
                      num_workers=0, out=str(root / "run")), stream=open(root / "log", "w"))
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_train_pretrained_refuses_it(kind, finished_run, tmp_path, marker, capsys):
    path = _write_hostile(tmp_path / "w.pdparams", kind, marker)
    code, _, err = run_cli(capsys, "train", str(finished_run / "data"), "--model", "resnet20", "--input-size", "16",
                           "--epochs", "1", "--warmup-epochs", "0", "--num-workers", "0", "--pretrained", str(path),
                           "--out", str(tmp_path / "out"))
    assert code == 1 and "refused to load: it imports" in err and str(path) in err


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("file", ["state.pkl", "optimizer.pdopt", "model.pdparams"])
def test_train_resume_refuses_it_in_any_file_of_an_earlier_checkpoint(kind, file, finished_run, tmp_path, marker,
                                                                       capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run / "run", run)
    to_legacy_format(run / "last")
    _write_hostile(run / "last" / file, kind, marker)
    # Extending the finished run reads every file of its checkpoint (resuming it as it is only says it is done).
    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--epochs", "9")
    assert code == 1 and f"{run / 'last' / file}: refused to load: it imports" in err, err
    assert "the file was changed after it was saved. Do not resume from it" in err


def test_trusted_files_are_read_with_paddle_load(tmp_path):
    """The documented way out for a file one trusts: paddle.load, which does run its code."""
    ran = tmp_path / "ran"
    path = tmp_path / "w.pdparams"
    path.write_bytes(_hostile("builtins.eval", ran))
    with pytest.raises(ValueError, match="entries zz are not tensors"):
        load_weights(resnet20(), path, trusted=True)
    assert ran.exists()


# ------------------------------------------------------------------------------ what paddle.save writes

def _same(ours, theirs, where="$"):
    """Equal values, container types, dtypes and shapes, recursively."""
    assert type(ours) is type(theirs), f"{where}: {type(ours).__name__} != {type(theirs).__name__}"
    if isinstance(ours, np.ndarray):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)
    elif isinstance(ours, dict):
        assert list(ours) == list(theirs), where
        for key in ours:
            _same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), where
        for index, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{where}[{index}]")
    else:
        assert ours == theirs, where


def _optimizer_after_a_step(kind: str):
    paddle.seed(3)
    model = resnet20()
    schedule = paddle.optimizer.lr.LinearWarmup(paddle.optimizer.lr.CosineAnnealingDecay(0.1, 10), 2, 0.0, 0.1)
    if kind == "momentum":
        optimizer = paddle.optimizer.Momentum(schedule, momentum=0.9, parameters=model.parameters(),
                                              weight_decay=1e-4)
    else:
        optimizer = paddle.optimizer.AdamW(schedule, parameters=model.parameters(), weight_decay=0.05)
    model(paddle.rand([2, 3, 32, 32])).mean().backward()
    optimizer.step()
    schedule.step()
    return model, optimizer


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_state_dicts_written_by_this_paddle_load_as_paddle_load_reads_them(tmp_path, protocol):
    model, optimizer = _optimizer_after_a_step("adamw")
    files = {
        "model.pdparams": model.state_dict(),
        "optimizer.pdopt": optimizer.state_dict(),
        # A dict with a number in it is pickled another way: tensors as (name, array) tuples, nested
        # OrderedDicts; numpy scalars as numpy.core.multiarray.scalar.
        "checkpoint.pdparams": {"model": model.state_dict(), "epoch": 3, "best": np.float64(0.75),
                                "steps": [paddle.to_tensor([1, 2])]},
    }
    for name, value in files.items():
        path = str(tmp_path / name)
        paddle.save(value, path, protocol=protocol)
        _same(pickle_safe.load(path), paddle.load(path, return_numpy=True), name)


def test_momentum_state_of_a_checkpoint_loads_into_an_optimizer(tmp_path):
    model, optimizer = _optimizer_after_a_step("momentum")
    paddle.save(optimizer.state_dict(), str(tmp_path / "o.pdopt"))
    state = pickle_safe.load(str(tmp_path / "o.pdopt"))
    assert any(key.endswith("_velocity_0") for key in state) and state["LR_Scheduler"]["last_epoch"] == 1
    _same(state, paddle.load(str(tmp_path / "o.pdopt"), return_numpy=True))


def test_an_official_format_file_loads(tmp_path):
    """What the official .pdparams files are: paddle.vision's model saved with paddle.save."""
    paddle.seed(4)
    reference = paddle.vision.models.resnet18()
    paddle.save(reference.state_dict(), str(tmp_path / "resnet18.pdparams"))
    model = resnet18()
    assert load_weights(model, tmp_path / "resnet18.pdparams").ok
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key].numpy(), value.numpy(), err_msg=key)


@pytest.mark.parametrize("folder", sorted(FIXTURES.glob("paddle*")), ids=lambda path: path.name)
def test_files_of_each_paddle_version_load_unchanged(folder):
    """Files written by Paddle 2.6 and 3.3 (tests/fixtures/paddle_save/make_fixtures.py): read here as the running
    Paddle reads them, with the values the script put in."""
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    make_fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_fixtures)
    expected_state, expected_velocity = make_fixtures.expected_state, make_fixtures.expected_velocity

    files = sorted(path.name for path in folder.iterdir())
    assert files == ["checkpoint.pdparams", "model.pdparams", "model_protocol2.pdparams", "optimizer.pdopt"]
    for name in files:
        _same(pickle_safe.load(str(folder / name)), paddle.load(str(folder / name), return_numpy=True), name)
    for name in ("model.pdparams", "model_protocol2.pdparams"):
        _same(pickle_safe.load(str(folder / name)), expected_state())
    checkpoint = pickle_safe.load(str(folder / "checkpoint.pdparams"))
    assert checkpoint["epoch"] == 3 and isinstance(checkpoint["model"], collections.OrderedDict)
    after_step = expected_state()  # saved after one Momentum step of learning rate 0.5: w - 0.5 * velocity
    after_step["fc.weight"] = after_step["fc.weight"] - 0.5 * expected_velocity()
    _same(dict(checkpoint["model"]), after_step)
    optimizer = pickle_safe.load(str(folder / "optimizer.pdopt"))
    velocity = [value for key, value in optimizer.items() if key.endswith("_velocity_0")]
    assert len(velocity) == 1 and optimizer["LR_Scheduler"] == {"last_epoch": 0, "last_lr": 0.5}
    _same(velocity[0], expected_velocity())


# ------------------------------------------------------------------------------- what else is refused

@pytest.mark.parametrize("value, refused", [
    (np.array(["text"]), "numpy dtype 'U4'"),
    (np.array([None, 1], dtype=object), "numpy dtype 'O8'"),
    (np.zeros(2, dtype=[("a", "f4")]), "numpy dtype 'V4'"),
    (collections.Counter(a=1), "it imports collections.Counter"),
    (bytearray(b"x"), "it imports builtins.bytearray"),
])
def test_data_that_is_not_numbers_is_refused(tmp_path, value, refused):
    path = tmp_path / "w.pdparams"
    path.write_bytes(pickle.dumps({"w": np.ones(2, np.float32), "x": value}, protocol=4))
    with pytest.raises(UnsafePickleError, match=rf"{path}: refused to load: {refused}"):
        pickle_safe.load(str(path))


def test_shared_references_cannot_blow_up(tmp_path):
    """A few hundred bytes of memo references that would expand to 2**40 items ("billion laughs")."""
    item = [0]
    for _ in range(40):
        item = [item, item]
    path = tmp_path / "laughs.pdparams"
    path.write_bytes(pickle.dumps({"w": item}, protocol=4))
    assert os.path.getsize(path) < 2000
    with pytest.raises(UnsafePickleError, match="too large once its shared parts are expanded"):
        pickle_safe.load(str(path))


def test_a_damaged_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "w.pdparams"
    paddle.save(resnet20().state_dict(), str(path))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=rf"{path}: cannot be read as a \.pdparams file \(UnpicklingError"):
        load_weights(resnet20(), path)
