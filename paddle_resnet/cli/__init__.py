"""Command line: ``python -m paddle_resnet <command> ...`` (also ``scripts/<command>.py``).

Each command lives in its own module here with a ``main(argv) -> int`` function; this file only
dispatches, and imports a command's module when that command runs.
"""

from __future__ import annotations

import importlib
import sys

#: command name -> (module under paddle_resnet.cli, one-line description)
COMMANDS = {
    "summary": ("summary", "print a model's layers, shapes, parameters and MACs, paddle.summary style"),
    "verify": ("verify", "check every architecture (or your own model) against golden structural values"),
    "diff": ("diff", "compare two models layer by layer: ours, paddle.vision's, or any factory"),
    "train": ("train", "train or fine-tune a model on an image folder, resumable, one or many processes"),
    "export": ("export", "save a model for Paddle Inference or ONNX and check it against the eager model"),
    "benchmark": ("benchmark", "time eager, training, Paddle Inference and ONNX Runtime side by side"),
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        stream = sys.stdout if argv else sys.stderr  # asked for help: stdout; a missing command is an error
        print("usage: python -m paddle_resnet <command> [options]\n\ncommands:", file=stream)
        for name, (_, description) in COMMANDS.items():
            print(f"  {name:<10} {description}", file=stream)
        print("\n`python -m paddle_resnet <command> --help` for a command's options.", file=stream)
        return 0 if argv else 2
    command, *rest = argv
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"{__name__}.{COMMANDS[command][0]}")
    return module.main(rest)
