"""Checkpoints: one directory per checkpoint, written completely before it replaces the previous one.

A checkpoint directory holds

* ``model.safetensors``: the model's weights (load them with ``load_weights(model, path)``);
* ``trainer.json``: the training settings, the number of finished epochs, the class names, the metrics so
  far and the best validation accuracy, readable by people and by ``--resume``;
* for resuming (not in a best-model checkpoint): ``state.json`` and ``state.safetensors``, the optimizer state
  (momentum buffers), learning-rate schedule, loss scaler, and the Python, NumPy and Paddle random generator
  states: their structure and numbers in the JSON file, every array in the safetensors file.

None of these formats can carry code: reading a checkpoint, however it was made, runs nothing from it. The
JSON numbers are exact (Python writes the shortest text that reads back as the same float), so a resumed run
continues bit for bit.

Checkpoints of earlier versions (``model.pdparams``, ``optimizer.pdopt``, ``state.pkl``: pickles) are still
read, through the restricted unpickler of ``weights.pickle_safe``, which refuses anything but arrays, numbers
and Paddle's random generator state; the next checkpoint of the resumed run is written in the new format.

A checkpoint is written to a temporary directory and moved into place whole (``_files.atomic_dir``), so that a
crash at any moment leaves either the old or the new checkpoint complete, never a mixture and never nothing.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import paddle

from .._files import atomic_dir, recover
from .._rundir import LAST, TRAINER_FILE
from ..weights import safetensors
from ..weights.files import check_regular_file, read_pickle, write_state
from ..weights.loading import load_weights
from ..weights.pickle_safe import UnsafePickleError
from .._errors import PaddleResNetError

MODEL_FILE = "model.safetensors"
STATE_FILE, ARRAYS_FILE = "state.json", "state.safetensors"
#: The files of a checkpoint written before version 2 of the format (pickles).
LEGACY_MODEL_FILE, LEGACY_OPTIMIZER_FILE, LEGACY_STATE_FILE = "model.pdparams", "optimizer.pdopt", "state.pkl"
#: What ``trainer.json`` must hold for a run to be resumed.
TRAINER_KEYS = ("config", "classes", "world_size", "train_images", "epoch", "history", "best")
FORMAT = 2

# How arrays, tensors, numpy scalars and tuples appear in state.json (JSON has no such types).
_TENSOR, _ARRAY, _SCALAR, _TUPLE = "__tensor__", "__array__", "__scalar__", "__tuple__"


class CheckpointError(PaddleResNetError, ValueError):
    """A checkpoint that is damaged or incomplete; the message names the file."""


def save_checkpoint(directory, model, trainer: dict, optimizer=None, state: Optional[dict] = None) -> Path:
    """Write a checkpoint to ``directory`` atomically, replacing any checkpoint there.

    ``trainer`` is JSON-able metadata. With an ``optimizer`` the checkpoint is resumable: its state dict,
    ``state`` (scheduler and scaler state dicts) and the random generator states are written too.
    """
    with atomic_dir(directory) as temporary:
        write_state(str(temporary / MODEL_FILE), model.state_dict(), ".safetensors")
        if optimizer is not None:
            document, arrays = _to_json({"optimizer": optimizer.state_dict(), **(state or {}), "rng": rng_states()})
            with open(temporary / ARRAYS_FILE, "wb") as file:
                safetensors.dump(arrays, file)
            (temporary / STATE_FILE).write_text(json.dumps({"format": FORMAT, "state": document}) + "\n")
        (temporary / TRAINER_FILE).write_text(json.dumps(trainer, indent=1) + "\n")
    return directory


def load_trainer(directory) -> dict:
    """The ``trainer.json`` metadata of the checkpoint in ``directory``, checked for what resuming needs."""
    path = Path(directory) / TRAINER_FILE
    check_regular_file(str(path), "checkpoint file")
    try:
        trainer = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # also a 5000-digit integer
        raise CheckpointError(f"{path}: not valid JSON ({str(error)[:200]}): the checkpoint is damaged") from None
    missing = [key for key in TRAINER_KEYS if key not in trainer] if isinstance(trainer, dict) else list(TRAINER_KEYS)
    if missing:
        raise CheckpointError(f"{path}: lacks {', '.join(missing)} (expected {', '.join(TRAINER_KEYS)}): not a "
                              "checkpoint written by paddle_resnet, or damaged")
    types = {"config": dict, "classes": list, "epoch": int, "history": list, "best": dict}
    wrong = [f"{key} ({type(trainer[key]).__name__}, expected {kind.__name__})" for key, kind in types.items()
             if not isinstance(trainer[key], kind)]
    if wrong:
        raise CheckpointError(f"{path}: {', '.join(wrong)}: the checkpoint is damaged")
    problem = _trainer_problem(trainer)
    if problem:
        raise CheckpointError(f"{path}: {problem}: the checkpoint is damaged")
    return trainer


def _trainer_problem(trainer: dict) -> Optional[str]:
    """What is out of range in a ``trainer.json`` of the right types, naming the key, or None: a NaN best
    accuracy is never beaten, 200% is printed as the result, epoch 99 of 10 is a run that cannot exist."""
    epochs, epoch, best = trainer["config"].get("epochs"), trainer["epoch"], trainer["best"]
    max_steps, step = trainer["config"].get("max_steps"), trainer.get("step", 0)
    if max_steps is not None and (not _is_count(max_steps) or max_steps < 1):
        return f"config.max_steps {_short(max_steps)}: expected a positive integer"
    if (epochs is not None or max_steps is None) and (not _is_count(epochs) or epochs < 1):
        return f"config.epochs {_short(epochs)}: expected a positive integer"
    # A run's length is its epochs, or its steps (every epoch takes at least one step).
    limit, what = (epochs, "config.epochs") if epochs is not None else (max_steps, "config.max_steps")
    if not _is_count(epoch) or epoch > limit:
        return f"epoch {_short(epoch)}: expected an integer 0 to {what} ({limit})"
    if not _is_count(step) or (max_steps is not None and step > max_steps):
        return f"step {_short(step)}: expected an integer 0 to config.max_steps ({max_steps})"
    if not all(isinstance(name, str) and name for name in trainer["classes"]) or len(trainer["classes"]) < 2:
        return f"classes {_short(trainer['classes'])}: expected two or more class names (non-empty strings)"
    for key in ("world_size", "train_images"):
        if not _is_count(trainer[key]) or trainer[key] < (key == "world_size"):
            return f"{key} {_short(trainer[key])}: expected a positive integer"
    best_epoch, accuracy = best.get("epoch"), best.get("val_acc")
    if (best_epoch is None) != (accuracy is None):
        return f"best {_short(best)}: expected an epoch and its val_acc, or neither"
    if best_epoch is not None and not (_is_count(best_epoch) and 1 <= best_epoch <= epoch):
        return f"best.epoch {_short(best_epoch)}: expected an integer 1 to epoch ({epoch})"
    if accuracy is not None and not (isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool)
                                     and 0 <= accuracy <= 1):
        return f"best.val_acc {_short(accuracy)}: expected a fraction 0 to 1"
    if len(trainer["history"]) > epoch or not all(isinstance(row, dict) for row in trainer["history"]):
        return f"history: expected at most {epoch} rows (one per finished epoch), each an object"
    return None


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _short(value) -> str:
    from ..weights.pickle_safe import describe

    return describe(value)


def model_file(directory) -> Path:
    """The weights file of the checkpoint in ``directory`` (``model.safetensors``, or an earlier version's
    ``model.pdparams``)."""
    directory = Path(directory)
    legacy = directory / LEGACY_MODEL_FILE
    return legacy if legacy.exists() and not (directory / MODEL_FILE).exists() else directory / MODEL_FILE


def load_model_weights(model, directory) -> None:
    """Load the weights of the checkpoint in ``directory`` into ``model`` (strictly: every tensor must fit)."""
    try:
        load_weights(model, model_file(directory))
    except UnsafePickleError as error:
        raise _altered(error) from None


def _altered(error: UnsafePickleError) -> UnsafePickleError:
    """The refusal of a checkpoint file, which only an edit after saving can explain."""
    return UnsafePickleError(f"{error.path}: refused to load: {error.reason}. paddle_resnet never wrote that into a "
                             "checkpoint: the file was changed after it was saved. Do not resume from it",
                             error.path, error.reason)


def load_training_state(directory, max_steps: Optional[int] = None) -> Dict[str, Any]:
    """``{"optimizer", "scheduler", "scaler", "rng"}`` of the resumable checkpoint in ``directory``: the
    optimizer state dict with Paddle tensors (as ``paddle.load`` gives it), the others as saved. ``max_steps``
    bounds the schedule's step counter (see ``check_schedule_state``)."""
    directory = Path(directory)
    if not (directory / STATE_FILE).exists() and (directory / LEGACY_STATE_FILE).exists():
        state = _load_legacy_state(directory)
        check_schedule_state(state, directory / LEGACY_STATE_FILE, max_steps)
        return state
    path = directory / STATE_FILE
    for file in (path, directory / ARRAYS_FILE):
        check_regular_file(str(file), "checkpoint file")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # also a 5000-digit integer
        raise CheckpointError(f"{path}: not valid JSON ({str(error)[:200]}): the checkpoint is damaged") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or "state" not in document:
        raise CheckpointError(f"{path}: not a training state of format {FORMAT} (written by another version of "
                              "paddle_resnet, or damaged)")
    arrays = safetensors.load(str(directory / ARRAYS_FILE))[0]
    state = _from_json(document["state"], arrays, path)
    missing = [key for key in ("optimizer", "scheduler", "scaler", "rng") if key not in state]
    if missing:
        raise CheckpointError(f"{path}: lacks {', '.join(missing)}: the checkpoint is damaged")
    check_schedule_state(state, path, max_steps)
    return state


def check_schedule_state(state: Dict[str, Any], path, max_steps: Optional[int]) -> None:
    """Refuse a training state whose learning-rate schedule could not come from this run: every
    ``last_epoch`` (the schedule's step counter, in the scheduler's and the optimizer's state) must be an
    integer from 0 to ``max_steps`` (the steps the run has taken; resuming replays them, so 10**30 would never
    end), every ``last_lr`` a finite number."""
    limit = max_steps if max_steps is not None else _MAX_STEPS

    def walk(tree, where):
        if not isinstance(tree, dict):
            return
        for key, value in tree.items():
            name = f"{where}.{key}"
            if key == "last_epoch" and not (_is_count(value) and value <= limit):
                raise CheckpointError(f"{path}: {name} {_short(value)}: expected an integer 0 to {limit} (the "
                                      "steps the run has taken): the checkpoint is damaged")
            if key == "last_lr" and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                         and math.isfinite(value)):
                raise CheckpointError(f"{path}: {name} {_short(value)}: expected a finite number: the checkpoint "
                                      "is damaged")
            walk(value, name)

    for part in ("scheduler", "optimizer"):
        if not isinstance(state[part], dict):
            raise CheckpointError(f"{path}: {part} {_short(state[part])}: expected an object: the checkpoint is "
                                  "damaged")
        walk(state[part], part)


#: Steps a schedule may have taken when the run's own count is unknown.
_MAX_STEPS = 10 ** 9


def find_checkpoint(path) -> Path:
    """The resumable checkpoint that ``path`` names: a checkpoint directory, or a run's ``--out`` directory
    (whose ``last`` checkpoint is taken)."""
    path = Path(path)
    for candidate in (path, path / LAST):
        recover(candidate)
        if (candidate / TRAINER_FILE).is_file():
            if not _resumable(candidate):
                last = candidate.parent / LAST
                if last != candidate and (last / TRAINER_FILE).is_file():
                    raise FileNotFoundError(f"{candidate} holds model weights only (a best-model checkpoint), not "
                                            f"the optimizer state needed to resume; resume from {last}")
                raise CheckpointError(
                    f"{candidate} is incomplete: it lacks {STATE_FILE} and {ARRAYS_FILE} (the optimizer, schedule "
                    f"and random generator states), so it cannot be resumed. Start a new run from its weights "
                    f"with --pretrained {model_file(candidate)}")
            return candidate
    from .rundir import unfinished

    if unfinished(path):
        raise FileNotFoundError(f"no resumable checkpoint in {path}: the run stopped while writing its first one "
                                "(only its best-model checkpoint was written), so no epoch can be continued. Start "
                                "the run "
                                f"again with the same settings and --out {path}, without --resume: the folder is "
                                "reused")
    raise FileNotFoundError(f"no checkpoint in {path}: expected {path / LAST / TRAINER_FILE} (written by a run "
                            f"with --out {path}) or {path / TRAINER_FILE}")


def _resumable(directory: Path) -> bool:
    return ((directory / STATE_FILE).exists() and (directory / ARRAYS_FILE).exists()) or \
        ((directory / LEGACY_STATE_FILE).exists() and (directory / LEGACY_OPTIMIZER_FILE).exists())


def rng_states() -> dict:
    """The state of Python's, NumPy's and Paddle's global random generators, as tuples, numbers and arrays."""
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "paddle": [tuple(state.__getstate__()) for state in paddle.get_rng_state()]}


def set_rng_states(states: dict) -> None:
    """Restore what ``rng_states`` returned."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    generator_state = type(paddle.get_rng_state()[0])
    restored = []
    for values in states["paddle"]:
        state = generator_state.__new__(generator_state)
        state.__setstate__(tuple(values))
        restored.append(state)
    paddle.set_rng_state(restored)


# --------------------------------------------------------------------------------- the JSON of state.json

def _to_json(tree) -> Tuple[Any, Dict[str, np.ndarray]]:
    """``(JSON-able document, {name: array})``: every tensor, array and numpy scalar of ``tree`` moves to the
    arrays (named by its path) and is replaced by a reference; tuples are marked to come back as tuples."""
    arrays: Dict[str, np.ndarray] = {}

    def encode(value, path):
        if isinstance(value, paddle.Tensor):
            arrays[path] = value.numpy()
            return {_TENSOR: path}
        if isinstance(value, (np.ndarray, np.generic)):
            arrays[path] = np.asarray(value)
            return {_ARRAY if isinstance(value, np.ndarray) else _SCALAR: path}
        if isinstance(value, dict):
            if not all(isinstance(key, str) and key not in (_TENSOR, _ARRAY, _SCALAR, _TUPLE) for key in value):
                raise TypeError(f"checkpoint state {path}: keys {list(value)[:5]} cannot be saved as JSON")
            return {key: encode(item, f"{path}/{key}") for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            items = [encode(item, f"{path}/{index}") for index, item in enumerate(value)]
            return {_TUPLE: items} if isinstance(value, tuple) else items
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"checkpoint state {path}: a {type(value).__name__} cannot be saved")

    return encode(tree, ""), arrays


def _from_json(document, arrays: Dict[str, np.ndarray], path: Path):
    """The inverse of ``_to_json``; a reference to an array that is not there is a damaged checkpoint."""

    def array(name):
        if not isinstance(name, str) or name not in arrays:
            raise CheckpointError(f"{path}: refers to array {name!r}, which {path.with_suffix('.safetensors')} "
                                  "does not hold: the checkpoint is damaged")
        return arrays[name]

    def decode(value):
        if isinstance(value, dict):
            if len(value) == 1:
                (tag, content), = value.items()
                if tag == _TENSOR:
                    return paddle.to_tensor(array(content))
                if tag == _ARRAY:
                    return array(content)
                if tag == _SCALAR:
                    return array(content)[()]
                if tag == _TUPLE and isinstance(content, list):
                    return tuple(decode(item) for item in content)
            return {key: decode(item) for key, item in value.items()}
        if isinstance(value, list):
            return [decode(item) for item in value]
        return value

    return decode(document)


# ------------------------------------------------------------------------- checkpoints of earlier versions

class _GeneratorState:
    """Stands for ``paddle.base.libpaddle.GeneratorState`` in an earlier version's ``state.pkl``: it only
    keeps the numbers (device, seed, offset and, in Paddle 3, the Mersenne Twister state as character codes)
    after checking them, so no Paddle code sees the file's data."""

    __slots__ = ("values",)

    def __setstate__(self, values):
        if not (isinstance(values, tuple) and len(values) in (3, 4) and all(type(v) is int for v in values[:3])
                and (len(values) == 3 or (isinstance(values[3], list) and len(values[3]) < 1_000_000
                                          and all(type(v) is int and 0 <= v < 256 for v in values[3])))):
            raise CheckpointError("a Paddle random generator state that is not made of numbers")
        self.values = values


_LEGACY_CLASSES = {("paddle.base.libpaddle", "GeneratorState"): _GeneratorState}


def _load_legacy_state(directory: Path) -> Dict[str, Any]:
    optimizer_file, state_file = directory / LEGACY_OPTIMIZER_FILE, directory / LEGACY_STATE_FILE
    for file in (optimizer_file, state_file):
        check_regular_file(str(file), "checkpoint file")
    try:
        optimizer = read_pickle(str(optimizer_file))
        state = read_pickle(str(state_file), classes=_LEGACY_CLASSES)
    except UnsafePickleError as error:
        raise _altered(error) from None
    try:
        rng = state["rng"]
        rng["paddle"] = [generator.values for generator in rng["paddle"]]
        state = {"optimizer": _tensors(optimizer), "scheduler": state["scheduler"], "scaler": state["scaler"],
                 "rng": rng}
    except (AttributeError, KeyError, TypeError) as error:
        raise CheckpointError(f"{state_file}: not the state of a paddle_resnet checkpoint "
                              f"({type(error).__name__}: {error}): the checkpoint is damaged") from None
    return state


def _tensors(tree):
    """Arrays to Paddle tensors, as ``paddle.load`` returns them (optimizers expect tensors)."""
    if isinstance(tree, np.ndarray):
        return paddle.to_tensor(tree)
    if isinstance(tree, dict):
        return {key: _tensors(value) for key, value in tree.items()}
    return tree
