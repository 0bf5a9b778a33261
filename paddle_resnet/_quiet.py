"""Paddle's notes that say nothing to our users, silenced around our own calls only.

* ``batchnorm_note_silenced``: Paddle's BatchNorm warns on train-mode forward passes that "we now always track
  global mean and variance"; expected in a training loop, where it is all a user would see.
* ``download_notes_silenced``: Paddle's downloader logs every step at INFO level ("Downloading ...", "md5check
  ...", a failed try), which Paddle 2.6 prints as ``[INFO] download.py`` lines; our own progress line and error
  say what a user needs.
* ``native_notes_silenced``: Paddle's C++ core logs (glog, straight to standard error) "New Executor is Running"
  (Paddle 2.6) and "PIR not support input out tensor" (3.3) while a model is exported.

Both act only inside the ``with`` block, so the same notes still reach a user's own code; and every other
warning and log line is kept. (The third, "No ccache found" on importing Paddle, is filtered in
``paddle_resnet/__init__.py``, since Paddle is imported by whichever module needs it first.) Private: a helper
for every layer, like ``_files``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from typing import Iterator, Sequence

#: The start of Paddle's BatchNorm note on train-mode forward passes.
BATCHNORM_NOTE = "When training, we now always track global mean and variance"
#: The logger of Paddle's downloader (``paddle.utils.download``).
DOWNLOAD_LOGGER = "paddle.utils.download"
#: Paddle's C++ log lines, written to standard error while exporting, that carry no information for a user.
NATIVE_NOTES = ("New Executor is Running", "not support input out tensor")


@contextlib.contextmanager
def batchnorm_note_silenced() -> Iterator[None]:
    """Run a block without Paddle's BatchNorm note (only that warning; the previous filters return after)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=BATCHNORM_NOTE)
        yield


@contextlib.contextmanager
def download_notes_silenced() -> Iterator[None]:
    """Run a block with Paddle's downloader logging warnings and errors only (its level is restored after)."""
    logger = logging.getLogger(DOWNLOAD_LOGGER)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def native_notes_silenced(notes: Sequence[str] = NATIVE_NOTES) -> Iterator[None]:
    """Run a block with the C++ log lines that contain one of ``notes`` removed from standard error.

    Standard error (file descriptor 2, which C++ code writes to directly) goes to a temporary file during the
    block; afterwards every line that is not one of ``notes`` is written to the real standard error, in order,
    whether the block succeeded or raised.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no standard error to redirect
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().splitlines(keepends=True)
                    if not any(note.encode() in line for note in notes)]
            with contextlib.suppress(OSError):  # standard error closed (a closed pipe): nothing to show
                if kept:
                    os.write(2, b"".join(kept))
