"""Read and write the safetensors format with numpy alone (no new dependency, works with every Paddle).

A safetensors file is::

    8 bytes      N, the header length, unsigned little-endian
    N bytes      a JSON object {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
                 (plus an optional "__metadata__": {str: str}), padded with spaces
    the rest     the tensors' raw little-endian bytes, row-major, at [begin, end) of this byte buffer

Unlike a pickle (``.pdparams``), loading it runs no code: it is a table of arrays and nothing else.
Specification: https://github.com/huggingface/safetensors#format
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import BinaryIO, Dict, List, Mapping, Optional, Tuple

import numpy as np

from .._errors import PaddleResNetError

#: safetensors dtype names and their little-endian numpy types. BF16 has no numpy type; it is read as the
#: upper half of a float32 and returned as float32.
DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}
_NAMES = {np.dtype(code): name for name, code in DTYPES.items() if name != "BF16"}

#: A header larger than this is not a weights file (the reference implementation uses the same bound).
MAX_HEADER_BYTES = 100_000_000
#: The most elements a shape may describe, counting its non-zero dimensions (a tensor of a zero dimension is
#: empty, but numpy still refuses shapes whose other dimensions multiply beyond its index range).
MAX_ELEMENTS = 2 ** 48


class SafetensorsError(PaddleResNetError, ValueError):
    """A file that is not valid safetensors: truncated, inconsistent header, unsupported dtype."""


def load(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Read a safetensors file into ``({name: array}, metadata)``, checking the header against the data."""
    with open(path, "rb") as file:
        # Into one writable buffer that the arrays then share: one copy of the data, not two.
        data = bytearray(os.fstat(file.fileno()).st_size)
        size = file.readinto(data)
        del data[size:]
    if len(data) < 8:
        raise SafetensorsError(f"{path}: {len(data)} bytes, too short for a safetensors file (truncated?)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > min(MAX_HEADER_BYTES, len(data) - 8):
        raise SafetensorsError(
            f"{path}: header length {header_size} does not fit in a file of {len(data)} bytes: "
            "not a safetensors file, or truncated"
        )
    try:
        header = json.loads(data[8:8 + header_size].decode("utf-8"))
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, a 5000-digit integer
        raise SafetensorsError(f"{path}: the header is not valid JSON ({str(error)[:200]})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not (isinstance(metadata, dict) and all(isinstance(value, str) for value in metadata.values())):
        raise SafetensorsError(f"{path}: __metadata__ must be a JSON object of strings, not {_short(metadata)}")
    buffer = memoryview(data)[8 + header_size:]

    tensors, spans = {}, []
    for name, entry in header.items():
        dtype, shape, (begin, end) = _check_entry(path, name, entry)
        expected = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
        if not 0 <= begin <= end <= len(buffer) or end - begin != expected:
            raise SafetensorsError(
                f"{path}: tensor {_short(name)} ({dtype}, shape {shape}) needs {expected} bytes but its offsets are "
                f"[{begin}, {end}) in a data section of {len(buffer)} bytes (truncated or corrupt file?)"
            )
        array = np.frombuffer(buffer[begin:end], dtype=DTYPES[dtype]).reshape(shape)
        if dtype == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        # Native byte order and aligned, as Paddle expects: a copy only where the file's layout is not.
        aligned = array.ctypes.data % array.dtype.itemsize == 0
        tensors[name] = array.astype(array.dtype.newbyteorder("="), copy=not aligned)
        spans.append((begin, end))
    # The format requires the tensors to tile the data section exactly: a gap or overlap means corruption.
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise SafetensorsError(f"{path}: tensor data overlaps or leaves a gap at byte {position}")
        position = end
    if position != len(buffer):
        raise SafetensorsError(f"{path}: {len(buffer) - position} bytes after the last tensor")
    return tensors, dict(metadata)


def _check_entry(path: str, name: str, entry) -> Tuple[str, List[int], List[int]]:
    """``(dtype, shape, data_offsets)`` of a header entry, each checked for its JSON type: a malformed header
    must give a ``SafetensorsError`` naming the file, not a ``TypeError`` from deep inside."""
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
        raise SafetensorsError(f"{path}: tensor {_short(name)} has a malformed entry {_short(entry)}; expected "
                               '{"dtype": ..., "shape": [...], "data_offsets": [begin, end]}')
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise SafetensorsError(f"{path}: tensor {_short(name)} has dtype {_short(dtype)}; supported: "
                               f"{', '.join(DTYPES)}")
    if not _is_int_list(shape) or len(shape) > 64 or math.prod(size for size in shape if size) > MAX_ELEMENTS:
        raise SafetensorsError(f"{path}: tensor {_short(name)} has shape {_short(shape)}; expected a list of at most "
                               f"64 non-negative integers whose non-zero ones multiply to at most {MAX_ELEMENTS}")
    if not _is_int_list(offsets) or len(offsets) != 2:
        raise SafetensorsError(f"{path}: tensor {_short(name)} has data_offsets {_short(offsets)}; expected two "
                               "non-negative integers [begin, end]")
    return dtype, shape, offsets


def _short(value) -> str:
    """A bounded description of a header value for a message (a header may hold megabytes of JSON)."""
    from .pickle_safe import describe

    return describe(value)


def _is_int_list(value) -> bool:
    # bool is an int in Python but not in JSON's sense; floats (2.0) are not accepted by the reference either.
    return isinstance(value, list) and all(type(item) is int and item >= 0 for item in value)


def dump(tensors: Mapping[str, np.ndarray], file: BinaryIO, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Write ``tensors`` (name -> numpy array) to an open binary file in safetensors format."""
    header, offset, arrays = {}, 0, []
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array in tensors.items():
        array = np.asarray(array)
        little_endian = array.dtype.newbyteorder("<")
        if little_endian not in _NAMES:
            raise SafetensorsError(
                f"tensor {name!r} has dtype {array.dtype}, which this writer cannot store; supported: "
                + ", ".join(sorted({str(dtype) for dtype in _NAMES}))
            )
        array = np.ascontiguousarray(array, dtype=little_endian)
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # keep the data section 8-byte aligned, as the reference does
    file.write(struct.pack("<Q", len(encoded)))
    file.write(encoded)
    for array in arrays:
        file.write(array.tobytes())
