"""Write files and directories so that a crash never leaves a truncated one where a good one was.

Everything is first written under a temporary name in the destination folder, flushed to disk, and then
renamed into place: a rename within one file system is atomic, so readers see the old version or the new
one, never a mixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]

# The process umask, read once: temporary files are created private (0600/0700) and are given the mode a
# normally created file or directory would have before they are published.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, flush it and rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(tmp)
        fsync_file(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
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
        shutil.rmtree(tmp, ignore_errors=True)


def recover(path: PathLike) -> None:
    """Finish or undo an ``atomic_dir`` replacement of ``path`` that a crash interrupted."""
    path = Path(path)
    old = path.with_name(path.name + ".old")
    if old.exists() and not path.exists():
        os.replace(old, path)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)


def fsync_file(file: PathLike) -> None:
    """Flush ``file``'s contents to disk. Call it before renaming a finished file into place: otherwise a
    power failure could publish the new name with empty contents."""
    with open(file, "rb") as handle:
        os.fsync(handle.fileno())
