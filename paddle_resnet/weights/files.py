"""Weight files on disk: ``.pdparams`` (Paddle's pickle) and ``.safetensors``, read into numpy arrays and written
from a model's state dict. The format is chosen by the file's suffix.

A ``.pdparams`` file is read with ``pickle_safe``, which refuses anything ``paddle.save`` does not write for a
state dict, so no file can run code here; ``trusted=True`` reads it with ``paddle.load`` instead.
"""

from __future__ import annotations

import os
import stat
from typing import Dict, Mapping, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import paddle

from . import pickle_safe, safetensors
from .official import download_url

#: File formats ``load_weights`` and ``save_weights`` understand, by suffix.
SUFFIXES = (".pdparams", ".safetensors")

Source = Union[str, "os.PathLike[str]", Mapping[str, object]]


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


def check_regular_file(path: str, what: str = "weights file") -> None:
    """Raise an error saying what ``path`` is when it is not a readable regular file: missing, a directory,
    or a FIFO, socket or device (reading one of those would block or never end)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    except OSError as error:
        raise OSError(f"{what} {path} cannot be read: {error.strerror}") from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{what} {path} is a directory; give the file itself")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{what} {path} is not a regular file (a FIFO, socket or device); give a file")


def read_source(source: Source, trusted: bool = False) -> Tuple[Dict[str, np.ndarray], str]:
    """``({name: numpy array}, label for messages)`` of a file path, an ``http(s)://`` URL (downloaded once into
    Paddle's weights cache) or a state dict."""
    if isinstance(source, Mapping):
        state, label = state_from_mapping(source), "<state dict>"
    elif not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"weights source {source!r}: expected a file path, a URL or a state dict")
    else:
        label = os.fspath(source)
        check_suffix(label)
        state = read_state(download_url(label) if is_url(label) else label, trusted)
    check_keys(state, label)
    return state, label


def check_keys(state: Mapping, label: str) -> None:
    """Raise ``ValueError`` naming ``label`` unless every key of ``state`` is a string (a tensor's name)."""
    others = [key for key in state if not isinstance(key, str)]
    if others:
        from .pickle_safe import describe

        raise ValueError(f"{label}: {len(others)} key(s) are not strings ({', '.join(map(describe, others[:5]))}); "
                         "a state dict maps tensor names to tensors")


def read_state(path: str, trusted: bool = False) -> Dict[str, np.ndarray]:
    """The tensors of the weights file ``path`` as ``{name: numpy array}``. ``.pdparams`` files are read with
    the restricted unpickler unless ``trusted``."""
    suffix = check_suffix(path)
    check_regular_file(path)
    if suffix == ".safetensors":
        return safetensors.load(path)[0]
    return _read_pdparams(path, trusted)


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
            for key, value in source.items() if key != pickle_safe.NAME_TABLE}


def read_pickle(path: str, trusted: bool = False, classes=None):
    """The object in the ``paddle.save`` file ``path`` (as ``paddle.load(path, return_numpy=True)`` returns it),
    read with the restricted unpickler unless ``trusted``; a damaged file raises ``ValueError`` naming it."""
    try:
        if trusted:
            return paddle.load(path, return_numpy=True)
        return pickle_safe.load(path, classes)
    except pickle_safe.UnsafePickleError:
        raise
    except Exception as error:  # a truncated or foreign pickle fails in many ways
        raise ValueError(f"{path}: cannot be read as a {suffix_of(path) or 'paddle.save'} file "
                         f"({type(error).__name__}: {error})") from None


def _key_name(key) -> str:
    return key[:80] if isinstance(key, str) else pickle_safe.describe(key)


def _read_pdparams(path: str, trusted: bool) -> Dict[str, np.ndarray]:
    state = read_pickle(path, trusted)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a state dict")
    state.pop(pickle_safe.NAME_TABLE, None)
    nested = [key for key, value in state.items() if not isinstance(value, np.ndarray)]
    if nested:
        raise ValueError(
            f"{path}: entries {', '.join(map(_key_name, nested[:5]))}"
            f"{f' and {len(nested) - 5} more' if len(nested) > 5 else ''} are not tensors; is it a training "
            "checkpoint? "
            "Save or pass its model state dict instead"
        )
    return state
