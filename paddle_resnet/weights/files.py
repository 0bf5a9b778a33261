"""Weight files on disk: ``.pdparams`` (Paddle's pickle) and ``.safetensors``, read into numpy arrays and written
from a model's state dict. The format is chosen by the file's suffix."""

from __future__ import annotations

import os
from typing import Dict, Mapping
from urllib.parse import urlparse

import numpy as np
import paddle

from . import safetensors

#: File formats ``load_weights`` and ``save_weights`` understand, by suffix.
SUFFIXES = (".pdparams", ".safetensors")

#: Key paddle.save adds to some state dicts to record parameter names; not a tensor.
_PADDLE_NAME_TABLE = "StructuredToParameterName@@"


def suffix_of(path: str) -> str:
    """The lower-case suffix of a path or of a URL's path: ``".pdparams"``."""
    return os.path.splitext(urlparse(path).path if is_url(path) else path)[1].lower()


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def check_suffix(path: str) -> str:
    """``path``'s suffix, or ``ValueError`` naming it and the accepted ones."""
    suffix = suffix_of(path)
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unknown weights format {suffix!r}; accepted: {', '.join(SUFFIXES)}")
    return suffix


def read_state(path: str) -> Dict[str, np.ndarray]:
    """The tensors of the weights file ``path`` as ``{name: numpy array}``."""
    if check_suffix(path) == ".safetensors":
        return safetensors.load(path)[0]
    return _read_pdparams(path)


def write_state(path: str, state: Mapping[str, paddle.Tensor], suffix: str) -> None:
    """Write a state dict to ``path`` in the format of ``suffix`` (the final name's, as ``path`` may be a
    temporary file)."""
    if suffix == ".pdparams":
        paddle.save(dict(state), path)  # paddle.save wants a path or BytesIO, not an open file
    else:
        with open(path, "wb") as file:
            safetensors.dump({key: value.numpy() for key, value in state.items()}, file)


def state_from_mapping(source: Mapping[str, object]) -> Dict[str, np.ndarray]:
    """A state dict of tensors or arrays as ``{name: numpy array}``."""
    return {key: value.numpy() if isinstance(value, paddle.Tensor) else np.asarray(value)
            for key, value in source.items() if key != _PADDLE_NAME_TABLE}


def _read_pdparams(path: str) -> Dict[str, np.ndarray]:
    try:
        state = paddle.load(path, return_numpy=True)
    except Exception as error:  # a truncated or foreign pickle fails in many ways
        raise ValueError(f"{path}: cannot be read as a .pdparams file ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a state dict")
    state.pop(_PADDLE_NAME_TABLE, None)
    nested = [key for key, value in state.items() if not isinstance(value, np.ndarray)]
    if nested:
        raise ValueError(
            f"{path}: entries {', '.join(nested[:5])} are not tensors; is it a training checkpoint? Save or "
            "pass its model state dict instead"
        )
    return state
