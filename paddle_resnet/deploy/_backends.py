"""What the backends' runners (``paddle_runner``, ``onnx_runner``) share: the GPU index of a device, and
errors that name a damaged export."""

from __future__ import annotations

import re


def gpu_index(device: str) -> int:
    """``"gpu:1"`` -> 1; ``"gpu"`` -> 0."""
    return int(device.partition(":")[2] or 0)


def damaged(what: str, problem: str) -> str:
    """The message for an export file a backend cannot load: ``what`` is wrong (``problem``), and what to do."""
    return f"{what}: {problem}. The export is damaged or incomplete; export the model again (paddle_resnet.export)"


def first_line(error: BaseException) -> str:
    """The informative line of an error from Paddle's C++ core (``(Unavailable) Cannot read ...``), or of any
    other error: its first non-empty line, without the hints and C++ stack Paddle appends."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    tagged = [line for line in lines if re.match(r"^\(\w+\) ", line)]
    return (tagged or lines or [type(error).__name__])[0].rstrip(".")

