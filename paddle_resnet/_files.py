"""Write files and directories so that a crash never leaves a truncated one where a good one was.

Everything is first written under a temporary name in the destination folder, flushed to disk, and then
renamed into place: a rename within one file system is atomic, so readers see the old version or the new
one, never a mixture.

A writer holds a lock on its temporary file or directory while it works. One that was killed (``kill -9``,
power loss) leaves it behind, unlocked; the next write of the same path, or ``recover``, removes such leftovers
(only names of exactly our pattern, only when no process holds them).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterator, Union

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so leftovers are never removed (they might be in use)
    fcntl = None

PathLike = Union[str, os.PathLike]

# The process umask, read once: temporary files are created private (0600/0700) and are given the mode a
# normally created file or directory would have before they are published.
_UMASK = os.umask(0)
os.umask(_UMASK)

#: A leftover younger than this is kept even when unlocked: its writer may be between creating and locking it.
_GRACE_SECONDS = 10
_RANDOM = r"[a-z0-9_]{8}"  # what tempfile puts in a name


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, flush it and rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched. A symbolic link is followed
    (the file it points to is replaced, the link stays), and an existing file keeps its permissions.
    ``path`` being a directory is an error before anything is written.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
        if os.path.isdir(target):
            raise IsADirectoryError(f"{path} is a directory: cannot write a file in its place")
    except FileNotFoundError:
        mode = 0o666 & ~_UMASK
    remove_leftovers(target)
    try:
        handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:  # name the file asked for, not the temporary one
        raise type(error)(error.errno, f"cannot write {path}: {error.strerror}") from None
    try:
        _lock(handle)
        with naming_write_errors(path):
            yield Path(tmp)
            fsync_file(Path(tmp))
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(handle)


#: Errors of a write that fails for lack of room or a broken device: their message names the temporary file, or
#: nothing at all, so they are raised again naming the file asked for.
_WRITE_ERRORS = {getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EIO", "EROFS") if hasattr(errno, name)}


@contextlib.contextmanager
def naming_write_errors(path: PathLike) -> Iterator[None]:
    """Raise a disk-full (or quota, read-only, I/O) ``OSError`` of the block again naming ``path``, the file or
    folder being written: ``[Errno 28] No space left on device`` alone does not say which write failed."""
    try:
        yield
    except OSError as error:
        if error.errno not in _WRITE_ERRORS or str(path) in str(error):
            raise
        raise type(error)(error.errno, f"cannot write {path}: {error.strerror}") from error


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see ``atomic_path``)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; when the block succeeds, it replaces ``path`` whole.

    ``os.replace`` cannot put a directory over a non-empty one, so the old directory is first renamed aside to
    ``<name>.old`` and deleted at the end; ``recover`` repairs a crash between the two renames.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is a file: cannot put a directory in its place")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    handle = os.open(tmp, os.O_RDONLY)
    try:
        _lock(handle)
        with naming_write_errors(path):
            yield tmp
            for file in tmp.iterdir():
                fsync_file(file)
        os.chmod(tmp, 0o777 & ~_UMASK)
        recover(path)
        old = path.with_name(path.name + ".old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        os.close(handle)
        shutil.rmtree(tmp, ignore_errors=True)


def recover(path: PathLike) -> None:
    """Finish or undo an ``atomic_dir`` replacement of ``path`` that a crash interrupted, and remove the
    temporary files and directories killed writers of ``path`` left."""
    path = Path(path)
    old = path.with_name(path.name + ".old")
    if old.exists() and not path.exists():
        os.replace(old, path)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)
    remove_leftovers(path)


def remove_leftovers(path: PathLike) -> list:
    """Remove the temporary files (``.<name>.XXXXXXXX.tmp``) and directories (``.<name>.tmp-XXXXXXXX``) that
    interrupted atomic writes of ``path`` left next to it, unless a living writer holds them; returns them."""
    path = Path(path)
    if fcntl is None or not path.parent.is_dir():
        return []
    pattern = re.compile(re.escape(f".{path.name}.") + f"(?:{_RANDOM}\\.tmp|tmp-{_RANDOM})")
    removed = []
    for candidate in path.parent.iterdir():
        if pattern.fullmatch(candidate.name) and _abandoned(candidate):
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    candidate.unlink()
            removed.append(candidate)
    return removed


def _lock(handle: int) -> None:
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: the leftover is then kept
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _abandoned(candidate: Path) -> bool:
    """True when no process holds ``candidate``'s lock and it is not brand new."""
    try:
        if time.time() - candidate.lstat().st_mtime < _GRACE_SECONDS or candidate.is_symlink():
            return False
        handle = os.open(candidate, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:  # held by a writer that is still running (or locks unsupported: keep it)
        return False
    finally:
        os.close(handle)


def fsync_file(file: PathLike) -> None:
    """Flush ``file``'s contents to disk. Call it before renaming a finished file into place: otherwise a
    power failure could publish the new name with empty contents."""
    with open(file, "rb") as handle:
        os.fsync(handle.fileno())
