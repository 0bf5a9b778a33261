"""Export a model for deployment, as a Paddle Inference program or as ONNX, with a dynamic batch dimension.

    export(model, "out/resnet50")                  # out/resnet50.json + .pdiparams (Paddle 3; .pdmodel on 2.6)
    export(model, "out/resnet50", format="onnx")   # out/resnet50.onnx, converted by paddle2onnx

``paddle_resnet.Predictor`` (inference.py) runs either file with the fast settings on. Exporting traces
``model.forward`` once into a static graph, so the files hold whatever the model computes in eval mode:
a classifier returns logits, a backbone built with ``out_stages`` returns its list of feature maps.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import tempfile
from typing import List, Sequence

import paddle
from paddle import nn
from paddle.static import InputSpec

FORMATS = ("paddle", "onnx")
#: File suffixes of a saved Paddle program: PIR (Paddle 3's default) and the older ProgramDesc (Paddle 2).
PROGRAM_SUFFIXES = (".json", ".pdmodel")
#: ONNX opset written: 13 is read by every ONNX Runtime since 1.6 and covers every operator a ResNet uses.
ONNX_OPSET = 13
ONNX_INSTALL_HINT = "pip install 'paddle_resnet[onnx]'  (or: pip install 'paddle2onnx>=1.2,<2' onnxruntime)"


def export(model: nn.Layer, path: str, input_size: Sequence[int] = (3, 224, 224), format: str = "paddle") -> List[str]:
    """Save ``model`` (in eval mode) as a static graph for ``[batch, *input_size]`` float32 images.

    Args:
        model: any Paddle layer taking one image batch, e.g. ``resnet50()``. A copy of it is exported in eval
            mode; the model itself is left as it was.
        path: a file prefix as ``paddle.jit.save`` takes it (``"out/resnet50"``); missing directories are
            created. Files already at that prefix are replaced.
        input_size: ``(channels, height, width)``. The batch dimension stays dynamic: the exported model
            runs on any batch size.
        format: ``"paddle"`` writes ``<path>.json`` (``.pdmodel`` on Paddle 2.x) and ``<path>.pdiparams``
            for Paddle Inference; ``"onnx"`` writes ``<path>.onnx`` through paddle2onnx (the ``onnx`` extra).

    Returns:
        The paths written, the model file last.

    Every file is written to a temporary directory first and renamed into place, so an export that fails
    never leaves a truncated model behind.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; accepted: {', '.join(map(repr, FORMATS))}")
    input_size = _check_input_size(input_size)
    prefix = os.fspath(path)
    if not os.path.basename(prefix):
        raise ValueError(f"path must be a file prefix such as 'out/resnet50', got {path!r} (a directory)")
    converter = _import_paddle2onnx() if format == "onnx" else None  # fail before any work is done

    # Trace a copy: Paddle 2.6's jit.save leaves the layer it saved ~1.5x slower in eager mode afterwards
    # (measured on ResNet-50; Paddle 3 does not), and the caller's model keeps its training mode untouched.
    model = copy.deepcopy(model)
    model.eval()
    # One eager forward pass first: a wrong input_size fails here with the model's own clear message,
    # rather than deep inside graph tracing.
    with paddle.no_grad():
        model(paddle.zeros([1, *input_size]))
    directory = os.path.dirname(prefix) or "."
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
    size = list(input_size) if isinstance(input_size, (list, tuple)) else None
    if size is None or len(size) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                                 for s in size):
        raise ValueError(f"input_size must be (channels, height, width) of positive ints, got {input_size!r}")
    return size


def _import_paddle2onnx():
    try:
        import paddle2onnx
    except ImportError as error:
        raise ImportError(f"format='onnx' needs paddle2onnx, which is not installed: {ONNX_INSTALL_HINT}") from error
    except ValueError as error:  # paddle2onnx 2.x refuses to import on Paddle 2.x
        raise ImportError(f"the installed paddle2onnx does not work with Paddle {paddle.__version__} ({error}); "
                          "paddle2onnx 1.x works with Paddle 2.6 and 3.x: pip install 'paddle2onnx>=1.2,<2'") from error
    return paddle2onnx


def _convert_to_onnx(paddle2onnx, model: nn.Layer, tmp: str, input_size: List[int]) -> str:
    # paddle2onnx 1.x reads only ProgramDesc files; 2.x reads PIR too.
    old_ir = int(paddle2onnx.__version__.split(".")[0]) < 2
    files = save_program(model, os.path.join(tmp, "model"), input_size, old_ir=old_ir)
    program = next(f for f in files if f.endswith(PROGRAM_SUFFIXES))
    onnx_file = os.path.join(tmp, "model.onnx")
    options = {}
    if "optimize_tool" in inspect.signature(paddle2onnx.export).parameters:
        # paddle2onnx 2.x folds constants with polygraphy by default, which pip-installs packages at run time;
        # ONNX Runtime folds constants (and BatchNorm into convolutions) itself when it loads the model.
        options["optimize_tool"] = "none"
    try:
        paddle2onnx.export(program, os.path.join(tmp, "model.pdiparams"), onnx_file, opset_version=ONNX_OPSET,
                           verbose=False, **options)
    except SystemExit as error:  # paddle2onnx 2.x reports a failed conversion by calling sys.exit
        raise RuntimeError(f"paddle2onnx {paddle2onnx.__version__} could not convert the model "
                           "(its log above says why)") from error
    if not os.path.isfile(onnx_file) or os.path.getsize(onnx_file) == 0:
        raise RuntimeError(f"paddle2onnx {paddle2onnx.__version__} wrote no ONNX file (its log above says why)")
    return onnx_file


def _move_into_place(files: List[str], prefix: str) -> List[str]:
    """Rename ``tmp/model.<suffix>`` files to ``<prefix>.<suffix>``, the model file last."""
    written = []
    model_file = next(f for f in files if f.endswith((*PROGRAM_SUFFIXES, ".onnx")))
    for source in [f for f in files if f != model_file] + [model_file]:
        suffix = os.path.basename(source)[len("model"):]
        target = prefix + suffix
        os.replace(source, target)
        written.append(target)
    # A program in the other Paddle format left at the same prefix by an earlier export would make the prefix
    # ambiguous for Predictor (and pair an old program with the new parameters): remove it.
    if model_file.endswith(PROGRAM_SUFFIXES):
        for suffix in PROGRAM_SUFFIXES:
            if not model_file.endswith(suffix) and os.path.exists(prefix + suffix):
                os.remove(prefix + suffix)
    return written
