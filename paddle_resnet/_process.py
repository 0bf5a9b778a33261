"""Facts about and settings of the running process, shared by every layer: the CPU cores it may use, and a
garbage-collector pause for blocks that make many small objects. Private: a helper like ``_files``."""

from __future__ import annotations

import contextlib
import gc
import os
from typing import Iterator


def available_threads() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that makes many small objects and no garbage cycles
    worth collecting (a trace, parsing a golden file). Each collection scans every object the process holds (a
    loaded golden file and the models add hundreds of thousands), which otherwise costs more than the work."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def frozen_gc() -> Iterator[None]:
    """Move every object the process holds now out of the cyclic garbage collector's sight for the block (they
    are still freed when no longer referenced): a block that makes and drops hundreds of thousands of objects
    (building many models) otherwise pays, at every full collection, for scanning all that was there before it
    (Paddle's modules, a loaded golden file). Afterwards they are collectable again."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
