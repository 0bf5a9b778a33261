"""Report files of the commands (``--output``, ``--json``, ``verify --update``'s golden file).

The destination is checked before any work starts, so a typo in a path does not cost a whole run; the file is
written atomically; and a failure names the file the user gave, not the temporary file it is written through.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

from .._files import atomic_write_text


def output_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be written as a report file, or ``None`` if it looks writable."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        return f"cannot write {path}: it is a directory; give a file name"
    if not folder.is_dir():
        return f"cannot write {path}: {folder} is not an existing directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write {path}: its directory {folder} is not writable"
    return None


def write_output(path: str, text, write: Optional[Callable[[str, object], object]] = None) -> Optional[str]:
    """Write ``text`` to ``path`` with ``write(path, text)`` (default ``atomic_write_text``); ``None``, or what
    went wrong."""
    try:
        (write or atomic_write_text)(path, text)
    except OSError as error:
        return f"cannot write {path}: {error.strerror or error}"
    return None
