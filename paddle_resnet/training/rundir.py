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
    links = [name for name in CHECKPOINTS if (out / name).is_symlink()]
    if links:  # a checkpoint is replaced by renaming a new directory over it: a link would end in ENOTDIR
        raise FileExistsError(f"{out / links[0]} is a symbolic link ({os.readlink(out / links[0])}): a run replaces "
                              "its checkpoints by renaming, which a link does not survive. Replace the link by the "
                              "directory it points to (or copy the run), then run again")
    if resume_dir is not None and _same(out, resume_dir.parent):
        return
    entries = foreign_entries(out)
    if not entries or unfinished(out):
        return
    if LAST in entries or f"{LAST}.old" in entries:
        crashed = f" (interrupted while replacing its checkpoint: {LAST}.old/ is the previous one)" \
            if LAST not in entries else ""
        raise FileExistsError(f"{out} already holds a training run{crashed}; continue it with --resume {out}, or "
                              "choose another --out")
    listed = ", ".join(entries[:_LISTED]) + (f" and {len(entries) - _LISTED} more" if len(entries) > _LISTED else "")
    raise FileExistsError(f"{out} is not empty ({listed}) and holds no training run; a run writes last/, best/, "
                          "metrics.csv, metrics.png and export/ into its --out: choose a new or empty directory")


def unfinished(out: Path) -> bool:
    """Whether ``out`` holds a run stopped (killed, disk full) while it wrote its first resumable checkpoint:
    a ``best`` checkpoint (written first) and nothing else of a run, no ``last``. Nothing resumable was finished,
    so a new run may start there again (it replaces ``best``)."""
    return foreign_entries(out) == [BEST] and (out / BEST / TRAINER_FILE).is_file()


def restart_unfinished(out: Path) -> bool:
    """With the lock held, for a new run: if ``out`` is ``unfinished``, remove its ``best`` checkpoint (of an
    epoch that is not resumable) and return True."""
    if not unfinished(out):
        return False
    shutil.rmtree(out / BEST)
    return True


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
    handle = _take_lock(out)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} started {_start_time(os.getpid())}\n")
        handle.flush()
        yield
    finally:
        handle.close()
        if created and os.listdir(out) == [LOCK_FILE]:
            with contextlib.suppress(OSError):
                os.unlink(out / LOCK_FILE)
                out.rmdir()


def _take_lock(out: Path):
    """The open lock file of ``out``, locked; ``FileExistsError`` naming the holder if a living run holds it.

    A lock whose recorded holder is dead (by process id and start time: the id may have been reused) is stale:
    processes the dead run started (loader workers) still hold it. The lock file is then replaced by a new
    one, which they do not hold."""
    path = out / LOCK_FILE
    for _ in range(3):
        handle = open(path, "a+", encoding="utf-8")
        if fcntl is None:
            return handle
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read(500).strip()
            handle.close()
            if holder and _holder_is_dead(holder):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # the orphans keep their lock on the old file; a new one is free
                continue
            raise FileExistsError(f"{out} is in use by another training run ({holder or 'another process'}); wait "
                                  "for it to end, or choose another --out") from None
        if _same_file(handle, path):  # not replaced by another process taking over a stale lock meanwhile
            return handle
        handle.close()
    raise FileExistsError(f"{out}: could not take the lock {path}; try again")


def _same_file(handle, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


_HOLDER = re.compile(r"^pid (\d+) on (\S+) started (\S+)$")


def _holder_is_dead(holder: str) -> bool:
    """Whether the lock record ``holder`` (``pid N on HOST started T``) names a process of this machine that no
    longer runs: no process with that id, or one started at another time (the id was reused)."""
    match = _HOLDER.match(holder)
    if not match or match.group(2) != socket.gethostname() or match.group(3) == "unknown":
        return False  # another machine (a shared file system), or a record without a start time: keep it
    return _start_time(int(match.group(1))) != match.group(3)


def _start_time(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``), ``"none"`` if there is no such
    process, ``"unknown"`` where ``/proc`` is missing."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as file:
            return file.read().rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        return "none" if os.path.isdir("/proc") else "unknown"
    except (OSError, IndexError):
        return "unknown"


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
