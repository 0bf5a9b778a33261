"""Export a model for deployment, as a Paddle Inference program or as ONNX, with a dynamic batch dimension.

    export(model, "out/resnet50")                       # out/resnet50.json + .pdiparams (Paddle 3; .pdmodel on 2.6)
    export(model, "out/onnx/resnet50", format="onnx")   # out/onnx/resnet50.onnx, converted by paddle2onnx

One prefix holds one exported model (exporting again to it replaces the files of either format), so the two
formats go to different prefixes.

``paddle_resnet.Predictor`` (``predictor.py``) runs either file with the fast settings on. Exporting traces
``model.forward`` once into a static graph, so the files hold whatever the model computes in eval mode:
a classifier returns logits, a backbone built with ``out_stages`` returns its list of feature maps.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from typing import List, Sequence

import paddle
from paddle import nn
from paddle.static import InputSpec

from .._checks import check_choice, normalize_input_size
from .._files import fsync_file

FORMATS = ("paddle", "onnx")
#: File suffixes of a saved Paddle program: PIR (Paddle 3's default) and the older ProgramDesc (Paddle 2).
PROGRAM_SUFFIXES = (".json", ".pdmodel")
#: Every file an export may leave at its prefix: a program and its parameters (``.pdiparams.info`` is written by
#: Paddle 2.6, and by Paddle 3 for old-IR programs), or one ONNX file.
EXPORT_SUFFIXES = (*PROGRAM_SUFFIXES, ".pdiparams", ".pdiparams.info", ".onnx")
#: ONNX opset written: 13 is read by every ONNX Runtime since 1.6 and covers every operator a ResNet uses.
ONNX_OPSET = 13
ONNX_INSTALL_HINT = "pip install 'paddle_resnet[onnx]'  (or: pip install 'paddle2onnx>=1.2,<2' onnxruntime)"


def export(model: nn.Layer, path: str, input_size: Sequence[int] = (3, 224, 224), format: str = "paddle") -> List[str]:
    """Save ``model`` (in eval mode) as a static graph for ``[batch, *input_size]`` float32 images.

    Args:
        model: any Paddle layer taking one image batch, e.g. ``resnet50()``. A copy of it is exported in eval
            mode; the model itself is left as it was.
        path: a file prefix as ``paddle.jit.save`` takes it (``"out/resnet50"``); missing directories are
            created. An earlier export at that prefix is replaced, whichever format it had: its files that
            this export does not rewrite (say ``out/resnet50.onnx`` when exporting ``format="paddle"``) are
            removed, so that the prefix names exactly one model.
        input_size: ``(channels, height, width)``, or ``(None, channels, height, width)``. The batch
            dimension stays dynamic: the exported model runs on any batch size.
        format: ``"paddle"`` writes ``<path>.json`` (``.pdmodel`` on Paddle 2.x) and ``<path>.pdiparams``
            for Paddle Inference; ``"onnx"`` writes ``<path>.onnx`` through paddle2onnx 1.x (the ``onnx``
            extra).

    Returns:
        The paths written, the model file last.

    Every file is written to a temporary directory, flushed to disk and then renamed into place, so an export
    that fails never leaves a truncated model behind.
    """
    check_choice("format", format, FORMATS)
    input_size = _check_input_size(input_size)
    prefix = os.fspath(path)
    if not os.path.basename(prefix):
        raise ValueError(f"path must be a file prefix such as 'out/resnet50', got {path!r} (a directory)")
    directory = os.path.dirname(prefix) or "."
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"cannot export to {prefix!r}: {directory!r} is a file, not a directory")
    converter = _import_paddle2onnx() if format == "onnx" else None  # fail before any work is done

    # Trace a copy: Paddle 2.6's jit.save leaves the layer it saved ~1.5x slower in eager mode afterwards
    # (measured on ResNet-50; Paddle 3 does not), and the caller's model keeps its training mode untouched.
    model = copy.deepcopy(model)
    model.eval()
    # One eager forward pass first: a wrong input_size fails here with the model's own clear message,
    # rather than deep inside graph tracing.
    with paddle.no_grad():
        model(paddle.zeros([1, *input_size]))
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".export-") as tmp:
        if converter is None:
            files = save_program(model, os.path.join(tmp, "model"), input_size)
        else:
            files = [_convert_to_onnx(converter, model, tmp, input_size)]
        return _move_into_place(files, prefix)


def save_program(model: nn.Layer, prefix: str, input_size: Sequence[int], old_ir: bool = False) -> List[str]:
    """``paddle.jit.save`` the eval-mode ``model`` for ``[None, *input_size]`` inputs; return the files written.

    ``old_ir`` asks Paddle 3 for the older ProgramDesc format (``.pdmodel``), which paddle2onnx 1.x reads;
    Paddle 2.x writes that format anyway.
    """
    spec = InputSpec([None, *input_size], "float32", name="x")
    guard = getattr(getattr(paddle, "pir_utils", None), "DygraphOldIrGuard", None)
    with guard() if old_ir and guard is not None else contextlib.nullcontext():
        paddle.jit.save(model, prefix, input_spec=[spec])
    directory, stem = os.path.split(prefix)
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.startswith(stem + "."))


def _check_input_size(input_size) -> List[int]:
    """``(C, H, W)`` or ``(None, C, H, W)`` -> ``[C, H, W]``; a fixed batch size is refused, not dropped."""
    if isinstance(input_size, (list, tuple)) and len(input_size) == 4 and input_size[0] not in (None, -1):
        raise ValueError(f"input_size={input_size!r}: the exported batch dimension is always dynamic; give "
                         "(channels, height, width) or (None, channels, height, width)")
    return normalize_input_size(input_size)[1:]


def _import_paddle2onnx():
    """paddle2onnx 1.x: it converts the old-IR programs that both Paddle 2.6 and 3.x write. (2.x needs Paddle 3
    and converts differently; we do not support it, rather than carry a second untested code path.)"""
    wrong_version = ("format='onnx' needs paddle2onnx 1.x (it converts what Paddle 2.6 and 3.x write): "
                     "pip install 'paddle2onnx>=1.2,<2'")
    try:
        import paddle2onnx
    except ImportError as error:
        raise ImportError(f"format='onnx' needs paddle2onnx, which is not installed: {ONNX_INSTALL_HINT}") from error
    except ValueError as error:  # paddle2onnx 2.x refuses to import on Paddle 2.x
        raise ImportError(f"{wrong_version} ({error})") from error
    if not paddle2onnx.__version__.startswith("1."):
        raise ImportError(f"{wrong_version}; installed: paddle2onnx {paddle2onnx.__version__}")
    return paddle2onnx


def _convert_to_onnx(paddle2onnx, model: nn.Layer, tmp: str, input_size: List[int]) -> str:
    files = save_program(model, os.path.join(tmp, "model"), input_size, old_ir=True)  # 1.x reads only old IR
    program = next(f for f in files if f.endswith(PROGRAM_SUFFIXES))
    onnx_file = os.path.join(tmp, "model.onnx")
    paddle2onnx.export(program, os.path.join(tmp, "model.pdiparams"), onnx_file, opset_version=ONNX_OPSET,
                       verbose=False)
    if not os.path.isfile(onnx_file) or os.path.getsize(onnx_file) == 0:
        raise RuntimeError(f"paddle2onnx {paddle2onnx.__version__} wrote no ONNX file (its log above says why)")
    return onnx_file


def _move_into_place(files: List[str], prefix: str) -> List[str]:
    """Flush ``tmp/model.<suffix>`` files to disk and rename them to ``<prefix>.<suffix>``, the model file last;
    then remove the files of an earlier export at ``prefix`` that were not replaced."""
    model_file = next(f for f in files if f.endswith((*PROGRAM_SUFFIXES, ".onnx")))
    written = []
    for source in [f for f in files if f != model_file] + [model_file]:
        fsync_file(source)
        target = prefix + os.path.basename(source)[len("model"):]
        os.replace(source, target)
        written.append(target)
    # Left in place, an old program or ONNX file would make the prefix ambiguous for Predictor, and an old
    # program of the other IR would pair with the new parameters.
    for stale in (prefix + suffix for suffix in EXPORT_SUFFIXES):
        if stale not in written and os.path.exists(stale):
            os.remove(stale)
    return written
