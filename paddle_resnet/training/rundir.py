"""A run's output directory (``--out``): where it may be, what a run may write into, and the lock that keeps a
second run out while one uses it.

A run writes ``last/``, ``best/``, ``metrics.csv``, ``metrics.png`` and ``export/`` into its directory,
replacing whatever has those names. So a new run starts only in a directory that is new or empty: one with a
checkpoint (``last/``, or ``last.old/`` left by a crash between a checkpoint's two renames) is a run to
continue with ``--resume``, and anything else is someone's files. A resumed run writes into its own run
directory (the one holding its checkpoint), or into a new or empty one.

While a run uses its directory it holds an exclusive lock on the file ``.lock`` in it (``fcntl.flock``: the
operating system releases it when the process ends, however it ends), so that a second run or resume on the
same directory is refused instead of interleaving its checkpoints with the first one's.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Iterator, List, Optional

from .._files import recover
# The layout's names and "which checkpoint is the run's model" live in the private _rundir (deployment reads runs
# too, and may not import training); this module re-exports them for training's code and users.
from .._rundir import BEST, LAST, RUN_EXPORT, TRAINER_FILE, is_training_run, run_model_checkpoint  # noqa: F401

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS: runs are not locked
    fcntl = None

LOCK_FILE = ".lock"
#: The checkpoints a run directory holds; a ``.old`` one is what a crash between a replacement's two renames
#: leaves (``_files.atomic_dir``).
CHECKPOINTS = (LAST, BEST)
#: Temporary files and folders of a run's own atomic writes (``_files.atomic_dir`` / ``atomic_path``), which a
#: crash (kill -9, power loss) leaves behind: ``.last.tmp-x1y2``, ``.metrics.csv.x1y2.tmp``.
_TEMPORARY = re.compile(r"^\.(last|best|metrics\.csv|metrics\.png)\.(tmp-.+|.+\.tmp)$")
#: How many of a directory's entries an error lists.
_LISTED = 5


def check_folders(data: str, val_dir: Optional[str], out: str) -> None:
    """Raise ``ValueError`` if ``out`` is inside a data folder (its checkpoints and plots would be read as
    images by the next run) or ``val_dir`` is the training folder, inside it or around it (validation images
    must not be training images)."""
    if val_dir is not None and (_within(val_dir, data) or _within(data, val_dir)):
        relation = "is" if _same(val_dir, data) else "is inside" if _within(val_dir, data) else "contains"
        raise ValueError(f"--val-dir {val_dir} {relation} the training folder {data}: validation images must not be "
                         "training images; give a separate folder, or leave --val-dir out to hold out part of the "
                         "training images (--val-split)")
    for name, folder in (("the training folder", data), ("the validation folder (--val-dir)", val_dir)):
        if folder is not None and _within(out, folder):
            raise ValueError(f"--out {out} is inside {name} {folder}: the run's files would be read as images by "
                             "the next run; choose an --out outside it")


def check_output(out: Path, resume_dir: Optional[Path] = None) -> None:
    """Raise ``FileExistsError`` unless a run may write into ``out``: it is new or empty (but for our lock and
    temporary files), or it is the run directory of ``resume_dir``, the checkpoint being resumed."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file; give a directory")
    if resume_dir is not None and _same(out, resume_dir.parent):
        return
    entries = foreign_entries(out)
    if not entries:
        return
    if LAST in entries or f"{LAST}.old" in entries:
        crashed = f" (interrupted while replacing its checkpoint: {LAST}.old/ is the previous one)" \
            if LAST not in entries else ""
        raise FileExistsError(f"{out} already holds a training run{crashed}; continue it with --resume {out}, or "
                              "choose another --out")
    listed = ", ".join(entries[:_LISTED]) + (f" and {len(entries) - _LISTED} more" if len(entries) > _LISTED else "")
    raise FileExistsError(f"{out} is not empty ({listed}) and holds no training run; a run writes last/, best/, "
                          "metrics.csv, metrics.png and export/ into its --out: choose a new or empty directory")


def foreign_entries(out: Path) -> List[str]:
    """The names in ``out`` other than the lock and a run's temporary files, sorted (none if it is missing)."""
    if not out.is_dir():
        return []
    return sorted(name for name in os.listdir(out) if name != LOCK_FILE and not _TEMPORARY.match(name))


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the lock of the run directory ``out`` (creating it) for the block; ``FileExistsError`` naming the
    holder if another process holds it. A directory this call created and the block left empty is removed
    again, so a run that stops before its first checkpoint leaves nothing behind."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / LOCK_FILE, "a+", encoding="utf-8")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise FileExistsError(f"{out} is in use by another training run ({holder}); wait for it to end, or "
                                      "choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        yield
    finally:
        handle.close()
        if created and os.listdir(out) == [LOCK_FILE]:
            with contextlib.suppress(OSError):
                os.unlink(out / LOCK_FILE)
                out.rmdir()


def tidy(out: Path) -> None:
    """With the lock held: remove what crashed writes of an earlier run left in ``out`` (temporary files and
    folders of our own naming, which can be checkpoint-sized), and finish an interrupted replacement of a
    checkpoint (``best.old/`` without ``best/`` is put back)."""
    for name in os.listdir(out):
        if _TEMPORARY.match(name):
            path = out / name
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    for name in CHECKPOINTS:
        recover(out / name)


def _within(path, folder) -> bool:
    """Whether ``path`` is ``folder`` or inside it, symbolic links resolved."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _same(path, other) -> bool:
    return os.path.realpath(path) == os.path.realpath(other)
