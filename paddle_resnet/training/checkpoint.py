"""Checkpoints: one directory per checkpoint, written completely before it replaces the previous one.

A checkpoint directory holds

* ``model.pdparams``: the model's state dict (load it with ``model.set_state_dict(paddle.load(path))``);
* ``trainer.json``: the training settings, the number of finished epochs, the class names, the metrics so
  far and the best validation accuracy, readable by people and by ``--resume``;
* for resuming (not in a best-model checkpoint): ``optimizer.pdopt`` (optimizer state with its momentum
  buffers) and ``state.pkl`` (learning-rate schedule, loss scaler, and the Python, NumPy and Paddle random
  generator states).

A checkpoint is written to a temporary directory and moved into place whole (``atomic.atomic_dir``), so that a
crash at any moment leaves either the old or the new checkpoint complete, never a mixture and never nothing.
The ``.pdparams``, ``.pdopt`` and ``.pkl`` files are pickles, which can run code when loaded: resume only from
checkpoints you wrote yourself.
"""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path
from typing import Optional

import numpy as np
import paddle

from .._files import atomic_dir, recover

MODEL_FILE, OPTIMIZER_FILE, TRAINER_FILE, STATE_FILE = "model.pdparams", "optimizer.pdopt", "trainer.json", "state.pkl"


def save_checkpoint(directory, model, trainer: dict, optimizer=None, state: Optional[dict] = None) -> Path:
    """Write a checkpoint to ``directory`` atomically, replacing any checkpoint there.

    ``trainer`` is JSON-able metadata; ``optimizer`` and ``state`` (picklable: scheduler and scaler state
    dicts) are written when given. Random generator states are added to ``state`` here.
    """
    with atomic_dir(directory) as temporary:
        paddle.save(model.state_dict(), str(temporary / MODEL_FILE))
        if optimizer is not None:
            paddle.save(optimizer.state_dict(), str(temporary / OPTIMIZER_FILE))
        if state is not None:
            with open(temporary / STATE_FILE, "wb") as file:
                pickle.dump({**state, "rng": rng_states()}, file)
        (temporary / TRAINER_FILE).write_text(json.dumps(trainer, indent=1) + "\n")
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


def rng_states() -> dict:
    """The state of Python's, NumPy's and Paddle's global random generators."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "paddle": paddle.get_rng_state()}


def set_rng_states(states: dict) -> None:
    """Restore what ``rng_states`` returned."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    paddle.set_rng_state(states["paddle"])
