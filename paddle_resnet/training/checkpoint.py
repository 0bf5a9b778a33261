"""Checkpoints: one directory per checkpoint, written completely before it replaces the previous one.

A checkpoint directory holds

* ``model.pdparams``: the model's state dict (load it with ``model.set_state_dict(paddle.load(path))``);
* ``trainer.json``: the training settings, the number of finished epochs, the class names, the metrics so
  far and the best validation accuracy, readable by people and by ``--resume``;
* for resuming (not in a best-model checkpoint): ``optimizer.pdopt`` (optimizer state with its momentum
  buffers) and ``state.pkl`` (learning-rate schedule, loss scaler, and the Python, NumPy and Paddle random
  generator states).

``publish`` moves a finished temporary directory into place with two renames, so that a crash at any moment
leaves either the old or the new checkpoint complete, never a mixture and never nothing; ``recover`` puts the
old one back if the crash came between the two renames. The ``.pdparams``, ``.pdopt`` and ``.pkl`` files are
pickles, which can run code when loaded: resume only from checkpoints you wrote yourself.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
import paddle

MODEL_FILE, OPTIMIZER_FILE, TRAINER_FILE, STATE_FILE = "model.pdparams", "optimizer.pdopt", "trainer.json", "state.pkl"


def save_checkpoint(directory, model, trainer: dict, optimizer=None, state: Optional[dict] = None) -> Path:
    """Write a checkpoint to ``directory`` atomically, replacing any checkpoint there.

    ``trainer`` is JSON-able metadata; ``optimizer`` and ``state`` (picklable: scheduler and scaler state
    dicts) are written when given. Random generator states are added to ``state`` here.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        paddle.save(model.state_dict(), str(temporary / MODEL_FILE))
        if optimizer is not None:
            paddle.save(optimizer.state_dict(), str(temporary / OPTIMIZER_FILE))
        if state is not None:
            with open(temporary / STATE_FILE, "wb") as file:
                pickle.dump({**state, "rng": rng_states()}, file)
        (temporary / TRAINER_FILE).write_text(json.dumps(trainer, indent=1) + "\n")
        _sync(temporary)
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes it private (0700); give it a normal directory's mode
        publish(temporary, directory)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return directory


def load_trainer(directory) -> dict:
    """The ``trainer.json`` metadata of the checkpoint in ``directory``."""
    return json.loads((Path(directory) / TRAINER_FILE).read_text())


def load_state(directory) -> dict:
    """The ``state.pkl`` contents (scheduler, scaler, ``rng``) of a resumable checkpoint."""
    with open(Path(directory) / STATE_FILE, "rb") as file:
        return pickle.load(file)


def find_checkpoint(path) -> Path:
    """The resumable checkpoint that ``path`` names: a checkpoint directory, or a run's ``--out`` directory
    (whose ``last`` checkpoint is taken)."""
    path = Path(path)
    for candidate in (path, path / "last"):
        recover(candidate)
        if (candidate / TRAINER_FILE).is_file():
            if not (candidate / OPTIMIZER_FILE).is_file():
                raise FileNotFoundError(f"{candidate} holds model weights only (a best-model checkpoint), not the "
                                        f"optimizer state needed to resume; resume from {candidate.parent / 'last'}")
            return candidate
    raise FileNotFoundError(f"no checkpoint in {path}: expected {path / 'last' / TRAINER_FILE} (written by a run "
                            f"with --out {path}) or {path / TRAINER_FILE}")


def publish(temporary: Path, directory: Path) -> None:
    """Move the complete directory ``temporary`` to ``directory``, replacing it.

    ``os.replace`` cannot put a directory over a non-empty one, so the old one is first renamed aside to
    ``<name>.old`` and deleted at the end; ``recover`` handles a crash in between.
    """
    recover(directory)
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        os.replace(directory, old)
    os.replace(temporary, directory)
    shutil.rmtree(old, ignore_errors=True)


def recover(directory: Path) -> None:
    """Finish or undo a ``publish`` that a crash interrupted (see there)."""
    old = directory.with_name(directory.name + ".old")
    if old.exists() and not directory.exists():
        os.replace(old, directory)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)


def rng_states() -> dict:
    """The state of Python's, NumPy's and Paddle's global random generators."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "paddle": paddle.get_rng_state()}


def set_rng_states(states: dict) -> None:
    """Restore what ``rng_states`` returned."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    paddle.set_rng_state(states["paddle"])


def _sync(directory: Path) -> None:
    """Flush the files in ``directory`` to disk, so that a rename never publishes data still in the page cache
    (after a power failure the checkpoint would be there, but empty)."""
    for file in directory.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
