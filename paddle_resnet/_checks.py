"""Argument checks shared by every part of the package: each error names the bad value and what is accepted.

Private: the public functions that take these arguments document them; this module only keeps the wording of
their errors the same everywhere.
"""

from __future__ import annotations

import os
from typing import List

from ._process import available_threads

#: The largest image side (height or width, in pixels) a model is trained, exported or run at: one 4096x4096 RGB
#: image is 192 MiB as float32 before any activation; 100000 would be 112 GiB.
MAX_IMAGE_SIDE = 4096


def is_int(value) -> bool:
    """An ``int`` that is not a ``bool`` (``True`` is an ``int`` in Python, but never a valid count here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive(name: str, value) -> None:
    """Raise ``ValueError`` naming ``value`` unless it is a positive int."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive int")


def check_choice(name: str, value, accepted) -> None:
    """Raise ``ValueError`` naming ``value`` and the ``accepted`` ones unless it is one of them."""
    if value not in accepted:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(repr(a) for a in accepted)}")


def normalize_input_size(input_size) -> List[int]:
    """``(1, 3, 224, 224)``, ``(None, 3, 224, 224)`` or ``(3, 224, 224)`` -> ``[1, 3, 224, 224]``.

    >>> normalize_input_size((3, 32, 32))
    [1, 3, 32, 32]
    """
    size = list(input_size) if isinstance(input_size, (list, tuple)) else None
    if size is not None and len(size) == 3:
        size = [1, *size]
    if size is not None and size[0] in (None, -1):
        size[0] = 1
    if size is None or len(size) != 4 or not all(is_int(d) and d > 0 for d in size):
        raise ValueError(f"input_size={input_size!r}: expected (batch, channels, height, width) or "
                         "(channels, height, width) with positive ints, e.g. (1, 3, 224, 224)")
    return size


def available_cpus() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    return available_threads()


def check_threads(name: str, threads) -> None:
    """Raise ``ValueError`` unless ``threads`` is between 1 and the CPUs this process may run on: more
    threads than CPUs do not run faster, and thousands of them livelock the machine (or abort Paddle)."""
    available = available_cpus()
    if not is_int(threads) or not 1 <= threads <= available:
        raise ValueError(f"{name}={threads!r}: expected 1 to {available} (the CPUs this process may run on)")
