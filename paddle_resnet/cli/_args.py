"""Argument types and flags shared by the commands.

The model-option flags (``--num-classes``, ``--stride-on`` ...) are generated from ``ResNetConfig``'s field
metadata, so every command offers the same options with the same help as the builders document.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, Sequence, Tuple

from ..models.config import OPTIONS, describe_fields


def program() -> str:
    """How the user started the command line, for ``usage:`` lines and examples: ``paddle-resnet`` (the installed
    console script) or ``python -m paddle_resnet`` (also what ``scripts/<command>.py`` runs)."""
    return "paddle-resnet" if os.path.basename(sys.argv[0] or "").startswith("paddle-resnet") else \
        "python -m paddle_resnet"


def command_line(command: str) -> str:
    """How the user started ``command``: ``python scripts/summary.py`` (a checkout's script), else
    ``paddle-resnet summary`` or ``python -m paddle_resnet summary``."""
    script = sys.argv[0] or ""
    if os.path.basename(script) == f"{command}.py":
        return f"python {script}"
    return f"{program()} {command}"


def parser_for(command: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
    """The parser of ``command``: its ``usage:`` line names the program as the user runs it; ``description`` and
    ``epilog`` are plain text (no reStructuredText markup) printed as written, with ``{program}`` replaced."""
    return argparse.ArgumentParser(prog=command_line(command), description=description.format(program=program()),
                                   epilog=epilog.format(program=program()) or None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def parse_size(text: str) -> Tuple[int, int]:
    """``224`` or ``224x160`` -> (height, width): the ``--input-size`` argument of every command that takes one."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts, default=0) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive size like 224 or 224x160")
    return (parts[0], parts[-1])


def parse_input_size(text: str) -> Tuple[int, int, int, int]:
    """``224``, ``224x160``, ``1x224x224`` (channels first) or ``8x3x224x224`` -> ``(batch, channels, height,
    width)``, with batch 1 and 3 channels unless given: the ``--input-size`` of commands that take any model."""
    try:
        parts = [int(p) for p in text.lower().replace(",", "x").split("x")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 4 or min(parts, default=0) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected H, HxW, CxHxW or NxCxHxW with positive sizes, like "
                                         "224 or 3x224x224")
    if len(parts) <= 2:
        parts = [3, parts[0], parts[-1]]
    return tuple([1] * (4 - len(parts)) + parts)


def parse_kwargs(text: str) -> Dict[str, object]:
    """``'{"num_classes": 2}'`` -> ``{"num_classes": 2}``: keyword arguments for a model factory."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON ({error})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a JSON object like '{{\"num_classes\": 2}}'")
    return value


def parse_limit(text: str) -> int:
    """``10`` -> 10: how many rows of a report to list, where 0 means all (``--limit``)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of rows, 0 or more (0: all)")
    return value


def parse_int_list(text: str) -> Tuple[int, ...]:
    """``1,2,3`` -> (1, 2, 3)."""
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected integers like 1,2,3,4") from None


def flag(option: str) -> str:
    """``num_classes`` -> ``--num-classes``."""
    return "--" + option.replace("_", "-")


def add_model_options(parser, options: Sequence[str] = OPTIONS) -> None:
    """Add one flag per builder option in ``options``, typed and described from ``ResNetConfig``'s metadata.
    Every flag defaults to ``None`` (not given: the architecture's own value); ``model_options`` collects them."""
    for name, info in describe_fields(options).items():
        default, kwargs = info["default"], {"default": None, "help": info["help"]}
        if info["choices"]:
            kwargs["choices"] = info["choices"]
        elif isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, tuple):
            kwargs.update(type=parse_int_list, metavar="N,N")
        else:
            kwargs["type"] = type(default)
        parser.add_argument(flag(name), **kwargs)


def model_options(args, options: Sequence[str] = OPTIONS) -> Dict[str, object]:
    """The builder options given on the command line, as ``create_model`` keyword arguments."""
    return {name: getattr(args, name) for name in options if getattr(args, name, None) is not None}
