"""Command line: ``paddle-resnet <command> ...`` (installed), ``python -m paddle_resnet <command> ...``, or
``scripts/<command>.py`` in a checkout.

Each command lives in its own module here with a ``main(argv) -> int`` function; this file only dispatches,
imports a command's module when that command runs (so ``--help`` does not wait for Paddle), and makes a closed
output pipe harmless for every command.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings

from ._args import program

#: command name -> (module under paddle_resnet.cli, one-line description)
COMMANDS = {
    "summary": ("summary", "print a model's layers, shapes, parameters and MACs, paddle.summary style"),
    "verify": ("verify", "check every architecture (or your own model) against golden structural values"),
    "diff": ("diff", "compare two models layer by layer: ours, paddle.vision's, or any factory"),
    "train": ("train", "train or fine-tune a model on an image folder, resumable, one or many processes"),
    "predict": ("predict", "classify image files with a trained run or an exported model"),
    "evaluate": ("evaluate", "top-1 / top-5 error: single view, the paper's 10-crop or multi-scale testing"),
    "responses": ("responses", "the std of each 3x3 layer's output (the paper's Figure 7), plotted"),
    "export": ("export", "save a model for Paddle Inference or ONNX and check it against the eager model"),
    "benchmark": ("benchmark", "time eager, training, Paddle Inference and ONNX Runtime side by side"),
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with _closed_pipes_ignored(), _plain_warnings():
        return _dispatch(argv)


def _dispatch(argv) -> int:
    if argv and argv[0] in ("-V", "--version"):
        print(version())
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        stream = sys.stdout if argv else sys.stderr  # asked for help: stdout; a missing command is an error
        print(f"usage: {program()} <command> [options]\n\ncommands:", file=stream)
        for name, (_, description) in COMMANDS.items():
            print(f"  {name:<10} {description}", file=stream)
        print(f"\n`{program()} <command> --help` for a command's options; `{program()} --version`.", file=stream)
        return 0 if argv else 2
    command, *rest = argv
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"{__name__}.{COMMANDS[command][0]}")
    try:
        return module.main(rest)
    except SystemExit as exit_:  # argparse: --help (0) and usage errors (2), after printing its message
        return 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1


def version() -> str:
    """``paddle_resnet 0.1.0 (Paddle 3.3.1, Python 3.11.9)``, without importing Paddle."""
    from importlib import metadata

    from .. import __version__

    paddle = "not installed"
    for distribution in ("paddlepaddle", "paddlepaddle-gpu"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            paddle = metadata.version(distribution)
            break
    return f"paddle_resnet {__version__} (Paddle {paddle}, Python {sys.version.split()[0]})"


class _PipeGuard:
    """A stream that survives a closed pipe: ``paddle-resnet verify | head -1`` closes standard output after one
    line. The first write that fails sends the rest of the output to the null device, so the command still
    finishes and returns its own exit status (0, or 1 for a mismatch) instead of a ``BrokenPipeError``."""

    def __init__(self, stream):
        self._stream, self._closed = stream, False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._discard()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard()

    def _discard(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no file descriptor (a test's buffer)
            # Text still buffered in the stream would fail again when Python flushes it at exit.
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)

    def __getattr__(self, name):  # isatty, fileno, encoding ...: the real stream's
        return getattr(self._stream, name)


@contextlib.contextmanager
def _plain_warnings():
    """Our own warnings (weights that do not fit the model, ...) shown as ``warning: <message>`` lines while a
    command runs. Python would name the source line that called us: a file of this package, or runpy's under
    ``python -m``, which means nothing on a command line. Only the format changes: where warnings go (standard
    error, a ``catch_warnings(record=True)`` list, ``logging``) stays Python's. Other packages' warnings keep
    Python's format."""
    formatted = warnings.formatwarning

    def plainly(message, category, filename, lineno, line=None):
        if category.__module__.partition(".")[0] == __name__.partition(".")[0]:
            return f"warning: {message}\n"
        return formatted(message, category, filename, lineno, line)

    warnings.formatwarning = plainly
    try:
        yield
    finally:
        warnings.formatwarning = formatted


@contextlib.contextmanager
def _closed_pipes_ignored():
    """Standard output and error wrapped in ``_PipeGuard`` while a command runs."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _PipeGuard(sys.stdout), _PipeGuard(sys.stderr)
    try:
        yield
    finally:
        for guard in (sys.stdout, sys.stderr):
            if isinstance(guard, _PipeGuard):
                guard.flush()
        sys.stdout, sys.stderr = saved
