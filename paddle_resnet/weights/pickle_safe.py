"""Read the pickles ``paddle.save`` writes (``.pdparams``, ``.pdopt``) without letting them run code.

A pickle is a small program: its ``GLOBAL`` / ``STACK_GLOBAL`` instructions import any function of any module,
and ``REDUCE`` calls it with arguments from the file, so ``pickle.load`` (and ``paddle.load``, which is
``pickle.load``) runs whatever the file's author wrote. This reader gives a file only what ``paddle.save``
itself writes for state dicts and optimizer states on Paddle 2.6 and 3.x:

=========================================================  =========================================
global the file names                                      what it gets here
=========================================================  =========================================
``numpy.core.multiarray._reconstruct`` (numpy 1 writer),   an empty array placeholder; the following
``numpy._core.multiarray._reconstruct`` (numpy 2 writer)   ``BUILD`` must give shape, dtype and bytes
``numpy.ndarray``                                          a marker (not the class)
``numpy.dtype``                                            numeric dtypes only: bool, (u)int8-64,
                                                           float16/32/64, complex64/128
``numpy.(_)core.multiarray.scalar``                        a numeric numpy scalar (checkpoints)
``builtins.tuple``, ``collections.OrderedDict``            empty or from a tuple / list
``_codecs.encode``                                         ``str.encode("latin-1")`` (protocol 2 bytes)
=========================================================  =========================================

Anything else (``os.system``, ``subprocess.Popen``, ``builtins.eval``, any class) is refused when the file
*names* it, before anything could call it: ``UnsafePickleError`` names the file and the global. No real numpy
function sees the file's data unchecked: each array's shape, dtype and byte count are validated, then numpy's
own unpickling calls are made, so the result equals ``paddle.load(path, return_numpy=True)``.
After unpickling, the result may hold only dicts, lists, tuples, sets, numbers, strings, ``None`` and arrays.

Refusing code is not enough: a file that runs nothing can still ask for gigabytes (9 bytes naming memo index
2**27 make the C unpickler allocate a 1 GiB table). So ``scan`` first walks the opcodes and bounds memo
indices, declared lengths, integers and marks by the file itself, before the C unpickler runs; refusals describe
the file's values boundedly (``describe``), never with ``repr``. See "Resource bounds" in docs/reliability.md.

Found by scanning every file both Paddle versions write (state dicts at pickle protocols 2-4, optimizer states
with and without master weights, nested checkpoints, big tensors split by protocol 2/3) and by reading
``paddle/framework/io.py``; see docs/weights.md. ``builtins.eval`` is refused although Paddle uses it for a raw
``DenseTensor`` (``eval("data", {"data": array})``): state dicts never contain one.
"""

from __future__ import annotations

import collections
import io
import math
import mmap
import os
import pickle
import pickletools
from typing import Any, BinaryIO, Callable, Dict, Mapping, Optional, Tuple

import numpy as np

from .._errors import PaddleResNetError

#: Key paddle.save adds to state dicts: ``{structured name: parameter name}``; not a tensor.
NAME_TABLE = "StructuredToParameterName@@"
#: Key paddle.save (protocol 2 and 3) adds when it splits tensors larger than 1 GiB into slices.
BIG_PARAMS = "UnpackBigParamInfor@@"


class UnsafePickleError(PaddleResNetError, ValueError):
    """The file asks for something ``paddle.save`` never writes (a function to call, a class to build).
    ``path`` and ``reason`` (what it asked for) are set when the error leaves ``load``."""

    def __init__(self, message: str, path: Optional[str] = None, reason: Optional[str] = None):
        super().__init__(message)
        self.path, self.reason = path, reason


# The function numpy's own ndarray.__reduce__ names (under numpy 1's or 2's module), taken from numpy itself.
_NUMPY_RECONSTRUCT = np.empty(0).__reduce__()[0]
# dtype codes numpy writes for the dtypes a Paddle tensor becomes (bfloat16 -> uint16) -> allowed byte orders.
_DTYPE_CODES = {
    "b1": "|", "i1": "|", "u1": "|",
    "i2": "<>=", "u2": "<>=", "i4": "<>=", "u4": "<>=", "i8": "<>=", "u8": "<>=",
    "f2": "<>=", "f4": "<>=", "f8": "<>=", "c8": "<>=", "c16": "<>=",
}
_MAX_DIMENSIONS, _MAX_DEPTH = 32, 64
_MAX_NODES = 10_000_000  # containers and leaves, counting shared references as copies ("billion laughs")
#: Open MARKs at once, and bytes of one integer (paddle.save writes at most 8-byte ones; a checkpoint's random
#: generator state, 2,500 small ones).
_MAX_MARKS, _MAX_LONG_BYTES = 1000, 1024


def _refuse(what: str):
    raise UnsafePickleError(what)


def describe(value, depth: int = 2) -> str:
    """A short description of ``value``, whatever the file put in it: a few items of a container, a few levels
    deep, the start of a string, the size of a huge integer. Never ``repr(value)``: a structure of shared
    references has a repr exponentially longer than the file that holds it.

    >>> describe(((3, "<"), [1] * 1000, 2 ** 5000))
    "((3, '<'), [1, 1, 1, ... 1000 items], an int of 5001 bits)"
    """
    kind = type(value)
    if kind in (tuple, list):
        if depth == 0:
            return f"a {kind.__name__} of {len(value)} items"
        shown = [describe(item, depth - 1) for item in value[:3]]
        text = ", ".join(shown) + (f", ... {len(value)} items" if len(value) > 3 else "")
        return f"({text})" if kind is tuple else f"[{text}]"
    if kind in (dict, collections.OrderedDict, set):
        return f"a {kind.__name__} of {len(value)} items"
    if kind is int:
        return repr(value) if value.bit_length() <= 64 else f"an int of {value.bit_length()} bits"
    if kind in (str, bytes):
        return repr(value[:40]) + (f"... ({len(value)} long)" if len(value) > 40 else "")
    if kind in (float, bool, complex, type(None)):
        return repr(value)
    return f"a {kind.__name__}"


class _NdarrayMarker:
    """Stands for ``numpy.ndarray``: an argument of ``_reconstruct``, not a class (``NEWOBJ`` fails on it)."""

    __slots__ = ()

    def __setstate__(self, state):
        _refuse("BUILD on numpy.ndarray")


class _Dtype:
    """``numpy.dtype(code, align, copy)`` inside the file; its ``BUILD`` state is checked, then the real
    dtype is made from our table, never from the file's bytes."""

    __slots__ = ("code", "dtype")

    def __init__(self, code):
        self.code, self.dtype = code, None

    def __setstate__(self, state):
        # numpy writes (3, byteorder, subarray, names, fields, elsize, alignment, flags) for plain dtypes.
        if self.dtype is not None or not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3):
            _refuse(f"numpy dtype state {describe(state)}")
        byteorder = state[1]
        if not (isinstance(byteorder, str) and len(byteorder) == 1 and byteorder in _DTYPE_CODES[self.code]) \
                or state[2:] != (None, None, None, -1, -1, 0):
            _refuse(f"numpy dtype state {describe(state)}")
        self.dtype = np.dtype(self.code if byteorder == "|" else byteorder + self.code)


class _Array:
    """``_reconstruct(ndarray, (0,), b"b")`` inside the file; its ``BUILD`` gives shape, dtype and bytes."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if self.array is not None or not isinstance(state, tuple) or len(state) not in (4, 5):
            _refuse("numpy array state")
        if len(state) == 5:
            if state[0] != 1:
                _refuse("numpy array state version")
            state = state[1:]
        shape, dtype, fortran_order, raw = state
        if not isinstance(dtype, _Dtype) or dtype.dtype is None:
            _refuse("a numpy array whose dtype is not a numpy.dtype")
        if not (type(shape) is tuple and len(shape) <= _MAX_DIMENSIONS
                and all(type(size) is int and size >= 0 for size in shape)):
            _refuse(f"numpy array shape {describe(shape)}")
        if fortran_order not in (True, False):  # also 0 and 1
            _refuse("numpy array order flag")
        if isinstance(raw, str):  # latin-1 text: how Python 2 era pickles hold bytes
            raw = raw.encode("latin-1")
        if type(raw) is not bytes or len(raw) != math.prod(shape) * dtype.dtype.itemsize:
            _refuse(f"numpy array data: {len(raw) if isinstance(raw, bytes) else type(raw).__name__} bytes for "
                    f"shape {describe(shape)} of {dtype.dtype}")
        # Exactly the calls numpy's own unpickling makes, with checked values: same layout, no extra copy.
        array = _NUMPY_RECONSTRUCT(np.ndarray, (0,), b"b")
        array.__setstate__((1, shape, dtype.dtype, bool(fortran_order), raw))
        self.array = array


def _reconstruct(subtype, shape, typecode):
    if subtype is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        _refuse("numpy _reconstruct arguments")
    return _Array()


def _dtype(code, align=False, copy=True):
    if isinstance(code, bytes):
        code = code.decode("latin-1")
    if not isinstance(code, str) or code not in _DTYPE_CODES:
        _refuse(f"numpy dtype {describe(code)} (only numeric dtypes are allowed)")
    if align not in (False, 0) or copy not in (True, 1):
        _refuse("numpy.dtype arguments")
    return _Dtype(code)


def _scalar(dtype, data):
    if not isinstance(dtype, _Dtype) or dtype.dtype is None:
        _refuse("a numpy scalar whose dtype is not a numpy.dtype")
    if isinstance(data, str):
        data = data.encode("latin-1")
    if type(data) is not bytes or len(data) != dtype.dtype.itemsize:
        _refuse("numpy scalar data")
    return np.frombuffer(data, dtype.dtype)[0].copy()


def _tuple(items=()):
    if type(items) not in (tuple, list):
        _refuse("tuple() of something that is not a tuple or list")
    return tuple(items)


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    if type(text) is not str or encoding not in ("latin1", "latin-1") or errors != "strict":
        _refuse("_codecs.encode other than text.encode('latin1')")
    return text.encode("latin-1")


def _ordered_dict(*args):
    if args:
        _refuse("OrderedDict() with arguments")
    return collections.OrderedDict()


_NDARRAY = _NdarrayMarker()
_ALLOWED: Dict[Tuple[str, str], Callable] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy", "dtype"): _dtype,
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "tuple"): _tuple,
    ("__builtin__", "tuple"): _tuple,  # protocol 2 names builtins the Python 2 way
    ("_codecs", "encode"): _latin1_encode,
}
#: The globals a file may name, as ``module.name``.
ALLOWED_GLOBALS = tuple(sorted(f"{module}.{name}" for module, name in [*_ALLOWED, ("numpy", "ndarray")]))


class AllowedCall:
    """What ``find_class`` hands the pickle for an allowed function: made fresh for every file, and ``BUILD``
    on it (which could set attributes on a shared function) is refused."""

    __slots__ = ("function", "name")

    def __init__(self, function, name):
        self.function, self.name = function, name

    def __call__(self, *args):
        return self.function(*args)

    def __setstate__(self, state):
        _refuse(f"BUILD on {self.name}")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, classes: Mapping[Tuple[str, str], type]):
        super().__init__(file, encoding="latin1")  # as paddle.load
        self._table = {key: AllowedCall(function, ".".join(key)) for key, function in _ALLOWED.items()}
        self._table[("numpy", "ndarray")] = _NDARRAY
        self._table.update(classes)

    def find_class(self, module, name):
        try:
            return self._table[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(f"it imports {module}.{name}") from None

    def persistent_load(self, pid):
        _refuse("a persistent id (paddle.save writes none)")


def load(path: str, classes: Optional[Mapping[Tuple[str, str], type]] = None) -> Any:
    """The object in the ``paddle.save`` file ``path``, as ``paddle.load(path, return_numpy=True)`` returns it.

    ``classes`` maps ``(module, name)`` of further allowed classes to stand-ins of our own (instances of which
    may then appear in the result); they are built without arguments and get the file's state through their
    ``__setstate__``, which must check it.

    Raises ``UnsafePickleError`` (naming the file and what it asked for) for anything ``paddle.save`` does not
    write, and ``pickle.UnpicklingError``, ``EOFError`` or ``ValueError`` for a damaged file.
    """
    classes = dict(classes or {})
    try:
        with open(path, "rb") as file:
            scan(file, os.fstat(file.fileno()).st_size)
            file.seek(0)
            raw = _Unpickler(file, classes).load()
        return _paddle_post_processing(_plain(raw, tuple(classes.values())))
    except UnsafePickleError as error:
        danger = "; reading it with pickle would run that code" if str(error).startswith("it imports") else ""
        raise UnsafePickleError(
            f"{path}: refused to load: {error}, which paddle.save does not write for weights or optimizer "
            f"state{danger}. If you trust the file and where it came from, pass trusted=True "
            "(load_weights(model, path, trusted=True)); better, convert it once to .safetensors, which cannot "
            "hold code (see 'Files that are refused' in docs/weights.md)", path=path, reason=str(error)
        ) from None


# What the scan does for each opcode: how its argument is laid out, and what it checks.
_FIXED, _COUNTED, _LINES = 0, 1, 2
_NOTHING, _PUT, _TEXT_PUT, _MEMOIZE, _MARK, _MARK_USER, _FRAME, _STOP, _LONG = range(9)


def _opcode_table():
    """For each opcode byte: ``(layout, size, check, name)``: a ``_FIXED`` argument of ``size`` bytes, a
    ``_COUNTED`` one (a ``size``-byte length, negative if signed, then that many bytes) or ``_LINES`` (``size``
    text lines); ``check`` says what the scan checks."""
    counted = {pickletools.TAKEN_FROM_ARGUMENT1: 1, pickletools.TAKEN_FROM_ARGUMENT4: -4,
               pickletools.TAKEN_FROM_ARGUMENT4U: 4, pickletools.TAKEN_FROM_ARGUMENT8U: 8}
    checks = {"BINPUT": _PUT, "LONG_BINPUT": _PUT, "PUT": _TEXT_PUT, "MEMOIZE": _MEMOIZE, "MARK": _MARK,
              "FRAME": _FRAME, "STOP": _STOP, "LONG1": _LONG, "LONG4": _LONG,
              **dict.fromkeys(["TUPLE", "LIST", "DICT", "APPENDS", "SETITEMS", "ADDITEMS", "FROZENSET", "POP_MARK",
                               "OBJ", "INST"], _MARK_USER)}
    table = [None] * 256
    for op in pickletools.opcodes:
        n = 0 if op.arg is None else op.arg.n
        if n >= 0:
            layout, size = _FIXED, n
        elif n in counted:
            layout, size = _COUNTED, counted[n]
        else:
            layout, size = _LINES, 2 if op.name in ("GLOBAL", "INST") else 1
        table[ord(op.code)] = (layout, size, checks.get(op.name, _NOTHING), op.name)
    return table


_OPCODES = _opcode_table()


def scan(file: BinaryIO, size: int) -> int:
    """Walk the opcodes of the pickle in ``file`` (``size`` bytes) without building anything, and refuse
    (``UnsafePickleError``) what would make unpickling cost more than the file's size: a memo index beyond the
    entries stored so far (the C unpickler sizes its memo table by the largest index: 9 bytes could ask for
    gigabytes), a length beyond the end of the file, an integer longer than ``_MAX_LONG_BYTES`` or more than
    ``_MAX_MARKS`` open marks. The file is mapped, not read, and byte strings are skipped. Returns the length
    of the pickle in bytes."""
    if size == 0:
        raise pickle.UnpicklingError("an empty file")
    try:
        data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, io.UnsupportedOperation):  # not a mappable file: read it
        data = file.read(size)
    try:
        return _scan(data, len(data))
    except IndexError:
        raise pickle.UnpicklingError("the pickle ends without its STOP opcode (a truncated file)") from None
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def _scan(data, size: int) -> int:
    memo = marks = position = 0
    table, from_bytes = _OPCODES, int.from_bytes
    while True:
        entry = table[data[position]]
        if entry is None:
            raise pickle.UnpicklingError(f"unknown pickle opcode {data[position]:#x} at byte {position}")
        layout, width, check, _ = entry
        start = position
        position += 1
        if layout == _FIXED:  # the common case first: most opcodes of a state dict need no check
            position += width
            if check == _NOTHING:
                continue
            if check == _MEMOIZE:
                memo += 1
                continue
            if check == _MARK_USER:
                marks -= 1
                continue
            argument = data[start + 1:position]
        elif layout == _COUNTED:
            length = from_bytes(data[position:position + abs(width)], "little", signed=width < 0)
            position += abs(width)
            if not 0 <= length <= size - position:
                raise pickle.UnpicklingError(f"{entry[3]} of {length} bytes at byte {start} runs past the end of the "
                                             f"file ({size} bytes): truncated or damaged")
            if check == _LONG and length > _MAX_LONG_BYTES:
                _refuse(f"an integer of {length} bytes")
            position += length
            continue
        else:
            end = position
            for _ in range(width):
                end = data.find(b"\n", end, min(size, end + 100_000))
                if end < 0:
                    raise pickle.UnpicklingError(f"{entry[3]} at byte {start}: a text argument without its end "
                                                 "of line")
                end += 1
            argument, position = data[position:end], end
        if position > size:
            raise pickle.UnpicklingError(f"{entry[3]} at byte {start} runs past the end of the file ({size} bytes)")
        if check == _PUT or check == _TEXT_PUT:
            try:
                index = int(argument) if check == _TEXT_PUT else from_bytes(argument, "little")
            except ValueError:
                raise pickle.UnpicklingError(f"a damaged PUT opcode at byte {start}") from None
            if not 0 <= index <= memo:
                _refuse(f"a memo index {describe(index)} where {memo} entries are stored so far")
            memo += index == memo
        elif check == _MARK:
            marks += 1
            if marks > _MAX_MARKS:
                _refuse(f"more than {_MAX_MARKS} nested marks")
        elif check == _MARK_USER:  # INST: a text argument
            marks -= 1
        elif check == _FRAME and from_bytes(argument, "little") > size - position:
            raise pickle.UnpicklingError(f"a frame of {from_bytes(argument, 'little')} bytes runs past the end of "
                                         f"the file ({size} bytes)")
        elif check == _STOP:
            return position


def _plain(obj, classes: Tuple[type, ...]):
    """``obj`` with array stand-ins replaced by arrays; refuses every other object, cycles, deep nesting and
    structures that are huge once shared references are expanded."""
    done: Dict[int, Any] = {}
    sizes: Dict[int, int] = {}
    active = set()
    atoms = (str, int, float, bool, complex, type(None))

    def walk(item, depth):
        kind = type(item)
        if kind in atoms or isinstance(item, np.generic) or kind in classes:
            return item
        if kind is _Array:
            if item.array is None:
                _refuse("a numpy array without its data")
            return item.array
        key = id(item)
        if key in done:
            return done[key]
        if key in active:
            _refuse("a structure that contains itself")
        if depth > _MAX_DEPTH:
            _refuse(f"nesting deeper than {_MAX_DEPTH}")
        active.add(key)
        if kind is dict or kind is collections.OrderedDict:
            if getattr(item, "__dict__", None):
                _refuse("an OrderedDict with attributes")
            result = kind()
            for name, value in item.items():
                if type(name) not in atoms:
                    _refuse(f"a dict key of type {type(name).__name__}")
                result[name] = walk(value, depth + 1)
            children = item.values()
        elif kind in (list, tuple, set):
            result = kind(walk(value, depth + 1) for value in item)
            children = item
        else:
            _refuse(f"an object of type {kind.__name__}")
        active.discard(key)
        size = 1 + sum(sizes.get(id(child), 1) for child in children)
        if size > _MAX_NODES:
            _refuse("a structure too large once its shared parts are expanded")
        done[key], sizes[key] = result, size
        return result

    return walk(obj, 0)


def _paddle_post_processing(result):
    """What ``paddle.load(..., return_numpy=True)`` does after unpickling (``paddle/framework/io.py``)."""
    if isinstance(result, dict):
        _join_big_params(result)
        if NAME_TABLE in result:  # a state dict: arrays stay arrays, the name table goes
            del result[NAME_TABLE]
            return result
    return _tensor_tuples_to_arrays(result, {})


def _join_big_params(state: dict) -> None:
    """Tensors over 1 GiB saved at protocol 2 or 3 are stored as 1-D slices plus a table: join them back."""
    table = state.pop(BIG_PARAMS, None)
    if table is None:
        return
    try:
        for key, info in table.items():
            parts = [state.pop(name) for name in info["slices"]]
            shape = info["OriginShape"]
            if not parts or not all(isinstance(part, np.ndarray) and part.ndim == 1 for part in parts):
                raise ValueError(f"{describe(key)}: its slices are not 1-D arrays")
            # Each slice must be an array of its own: names referring to one shared array would join into a
            # tensor far larger than the file (1 MB of file asking for gigabytes).
            if len({id(part) for part in parts}) != len(parts):
                raise ValueError(f"{describe(key)}: several of its slices are one shared array")
            if not (isinstance(shape, (list, tuple)) and all(type(size) is int and size >= 0 for size in shape)
                    and math.prod(shape) == sum(part.size for part in parts)):
                raise ValueError(f"{describe(key)}: OriginShape {describe(shape)} does not match its slices")
            state[key] = np.concatenate(parts).reshape(tuple(shape))
    except KeyError:
        raise ValueError(f"a damaged {BIG_PARAMS} table (it names a slice or field the file lacks)") from None
    except (AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"a damaged {BIG_PARAMS} table ({type(error).__name__}: {error})") from None


def _tensor_tuples_to_arrays(item, done: Dict[int, Any]):
    """Outside state dicts, paddle.save writes each tensor as ``(name, array)``; paddle.load returns the array."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], np.ndarray):
        return item[1]
    kind = type(item)
    if kind not in (dict, collections.OrderedDict, list, tuple, set):
        return item
    if id(item) in done:
        return done[id(item)]
    if kind in (dict, collections.OrderedDict):
        done[id(item)] = item
        for key in list(item):
            item[key] = _tensor_tuples_to_arrays(item[key], done)
        return item
    result = kind(_tensor_tuples_to_arrays(value, done) for value in item)
    done[id(item)] = result
    return result

