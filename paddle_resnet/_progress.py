"""Progress of a long task, shown where people look.

On a terminal, a bar redrawn in place. Elsewhere (a Jupyter or AI Studio notebook, a log file, CI) a redrawn
bar shows nothing until the task ends, and a slow task looks hung: there a plain line is printed every
``LOG_INTERVAL`` seconds with what is done, the rate and the time left. Training epochs, weight downloads and
the benchmark use it. Private: a helper for every layer, like ``_files``.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional

#: Seconds between plain progress lines when the output is not a terminal.
LOG_INTERVAL = 20.0
#: Seconds between redraws of the bar on a terminal.
REDRAW_INTERVAL = 0.2


def is_terminal(stream) -> bool:
    """Whether ``stream`` is an interactive terminal (where ``\\r`` redraws a line in place)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def format_duration(seconds: float) -> str:
    """``0:00:42``, ``1:05:00``: hours, minutes and seconds, the way people read a time left.

    >>> format_duration(3905.4)
    '1:05:05'
    """
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """The progress of one task of ``total`` units (steps, bytes ...), titled ``title``.

    ``update(done, details)`` reports ``done`` units with a ``details`` text (loss, rate ...); ``close(suffix)``
    prints the final line. ``counter(done, total)`` formats the count (default ``3/10``). ``clock`` is the time
    source (tests pass a fake one). ``log_interval`` defaults to ``LOG_INTERVAL``.

    >>> import io
    >>> clock = iter([0.0, 25.0, 30.0]).__next__
    >>> log = io.StringIO()
    >>> progress = Progress("epoch 1/5", 10, stream=log, clock=clock)
    >>> progress.update(4, "loss 0.5000")
    >>> progress.close(" | done")
    >>> print(log.getvalue(), end="")
    epoch 1/5 4/10 loss 0.5000, 0:00:38 left
    epoch 1/5 [########............] 4/10 loss 0.5000 | done
    """

    def __init__(self, title: str, total: int, stream=None, log_interval: Optional[float] = None,
                 counter: Optional[Callable[[int, int], str]] = None, clock: Callable[[], float] = time.monotonic):
        self.title, self.total = title, total
        self.stream = stream if stream is not None else sys.stdout
        self.live = is_terminal(self.stream)
        self.interval = REDRAW_INTERVAL if self.live else LOG_INTERVAL if log_interval is None else log_interval
        self.counter = counter or (lambda done, total: f"{done}/{total}")
        self.clock = clock
        self.start = self.last_shown = clock()
        self.done, self.details = 0, ""

    @property
    def elapsed(self) -> float:
        """Seconds since the task started (as of the last ``update``)."""
        return self._now - self.start

    def update(self, done: int, details: str = "", now: Optional[float] = None) -> None:
        """``done`` of ``total`` units are finished; ``details`` says how it goes (``loss 0.1234 98.0 img/s``).
        ``now``: the clock's time, if the caller has just read it."""
        self.done, self.details = done, details
        self._now = self.clock() if now is None else now
        finished = done >= self.total
        if self.live and (finished or self._now - self.last_shown >= self.interval):
            self.last_shown = self._now
            self.stream.write("\r" + self.bar_line())
            self.stream.flush()
        elif not self.live and not finished and self._now - self.last_shown >= self.interval:
            self.last_shown = self._now
            self.stream.write(self.log_line() + "\n")
            self.stream.flush()

    def bar_line(self) -> str:
        """``title [#####.....] 3/10 details``: the bar, as shown on a terminal and as the final line."""
        filled = round(20 * self.done / max(1, self.total))
        return " ".join(part for part in (self.title, f"[{'#' * filled}{'.' * (20 - filled)}]",
                                          self.counter(self.done, self.total), self.details) if part)

    def log_line(self) -> str:
        """``title 3/10 details, 0:01:10 left``: a line for a log, with the time left at the rate so far."""
        left = self.elapsed / self.done * (self.total - self.done) if self.done else None
        line = " ".join(part for part in (self.title, self.counter(self.done, self.total), self.details) if part)
        return line + (f", {format_duration(left)} left" if left is not None else "")

    def close(self, suffix: str = "") -> None:
        """End the task: the bar (or, in a log, the final line) with ``suffix`` added."""
        if not hasattr(self, "_now"):
            self._now = self.clock()
        self.stream.write(("\r" if self.live else "") + self.bar_line() + suffix + "\n")
        self.stream.flush()


def counted(count: int, noun: str) -> str:
    """``1 epoch``, ``3 epochs``: a count with its noun in the right number.

    >>> counted(1, "epoch"), counted(3, "epoch"), counted(0, "warm-up epoch")
    ('1 epoch', '3 epochs', '0 warm-up epochs')
    """
    return f"{count} {noun}{'' if count == 1 else 's'}"
