"""Checkpoints in the format of paddle_resnet before checkpoints became JSON + safetensors: ``model.pdparams``,
``optimizer.pdopt`` (``paddle.save``) and ``state.pkl`` (``pickle.dump`` of the scheduler and scaler state and
the random generator states, Paddle's as ``GeneratorState`` objects), written exactly as that code wrote them."""

import pickle
from pathlib import Path

import paddle

from paddle_resnet.training import checkpoint
from paddle_resnet.weights.files import read_state


def to_legacy_format(directory) -> Path:
    """Rewrite the (new-format, resumable) checkpoint in ``directory`` in the earlier format, in place."""
    directory = Path(directory)
    model = {key: paddle.to_tensor(value) for key, value in read_state(str(directory / checkpoint.MODEL_FILE)).items()}
    state = checkpoint.load_training_state(directory)
    paddle.save(model, str(directory / checkpoint.LEGACY_MODEL_FILE))
    paddle.save(state.pop("optimizer"), str(directory / checkpoint.LEGACY_OPTIMIZER_FILE))
    generator_state = type(paddle.get_rng_state()[0])
    generators = []
    for values in state["rng"]["paddle"]:
        generator = generator_state.__new__(generator_state)
        generator.__setstate__(tuple(values))
        generators.append(generator)
    state["rng"]["paddle"] = generators
    with open(directory / checkpoint.LEGACY_STATE_FILE, "wb") as file:
        pickle.dump(state, file)
    for name in (checkpoint.MODEL_FILE, checkpoint.STATE_FILE, checkpoint.ARRAYS_FILE):
        (directory / name).unlink()
    return directory
