"""Export a model for deployment, as a Paddle Inference program or as ONNX, with a dynamic batch dimension.

    export(model, "out/resnet50")                       # out/resnet50.json + .pdiparams (Paddle 3; .pdmodel on 2.6)
    export(model, "out/resnet50", format="onnx")        # out/resnet50.onnx beside them, converted by paddle2onnx

Each export also writes ``<prefix>_meta.json``: the input shape, the outputs, the class names (when given) and
the preprocessing an image needs (``preprocess.py``), which ``Predictor.classify`` applies. The two formats of
one model may share a prefix (their suffixes differ); exporting a format again replaces that format's files
only, and exporting a *different* model beside the other format is refused.

``paddle_resnet.Predictor`` (``predictor.py``) runs either file with the fast settings on. Exporting traces
``model.forward`` once into a static graph, so the files hold whatever the model computes in eval mode:
a classifier returns logits, a backbone built with ``out_stages`` returns its list of feature maps.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

from .._checks import MAX_IMAGE_SIDE, check_choice, is_int, normalize_input_size
from .._files import fsync_file, naming_write_errors
from .._quiet import native_notes_silenced
from .._rundir import RUN_EXPORT  # noqa: F401  (where a run keeps its export; re-exported for older imports)
from .preprocess import describe_preprocess

if TYPE_CHECKING:  # Paddle is imported when a model is exported, not to read FORMATS
    from paddle import nn

FORMATS = ("paddle", "onnx")
#: File suffixes of a saved Paddle program: PIR (Paddle 3's default) and the older ProgramDesc (Paddle 2).
PROGRAM_SUFFIXES = (".json", ".pdmodel")
#: The files each format may leave at its prefix: a program and its parameters (``.pdiparams.info`` is written
#: by Paddle 2.6, and by Paddle 3 for old-IR programs), or one ONNX file.
FORMAT_SUFFIXES: Dict[str, tuple] = {"paddle": (*PROGRAM_SUFFIXES, ".pdiparams", ".pdiparams.info"),
                                     "onnx": (".onnx",)}
EXPORT_SUFFIXES = (*FORMAT_SUFFIXES["paddle"], *FORMAT_SUFFIXES["onnx"])
#: What the model needs and gives, next to the model files (shared by both formats at a prefix). Not
#: ``.meta.json``: ``paddle.jit.load`` reads ``<prefix>.<name>.json`` as the program of a method ``name``.
METADATA_SUFFIX = "_meta.json"
#: The largest ``resize_short`` export metadata may ask for (its crops are at most ``MAX_IMAGE_SIDE``).
MAX_RESIZE = 2 * MAX_IMAGE_SIDE
#: ONNX opset written: 13 is read by every ONNX Runtime since 1.6 and covers every operator a ResNet uses.
ONNX_OPSET = 13
ONNX_INSTALL_HINT = "pip install 'paddle_resnet[onnx]'  (or: pip install 'paddle2onnx>=1.2,<2' onnxruntime)"


def export(model: "nn.Layer", path: str, input_size: Sequence[int] = (3, 224, 224), format: str = "paddle",
           classes: Optional[Sequence[str]] = None) -> List[str]:
    """Save ``model`` (in eval mode) as a static graph for ``[batch, *input_size]`` float32 images.

    Args:
        model: any Paddle layer taking one image batch, e.g. ``resnet50()``. A copy of it is exported in eval
            mode; the model itself is left as it was.
        path: a file prefix as ``paddle.jit.save`` takes it (``"out/resnet50"``); missing directories are
            created. An earlier export of the same format at that prefix is replaced (every file of that format,
            so that a Paddle 2.6 ``.pdmodel`` does not remain beside a new ``.json``). The other format's files
            are kept: both formats of one model may share a prefix. If they belong to a different model (other
            input size, outputs or classes in ``<prefix>_meta.json``), the export is refused before anything is
            written.
        input_size: ``(channels, height, width)``, or ``(None, channels, height, width)``. The batch
            dimension stays dynamic: the exported model runs on any batch size.
        format: ``"paddle"`` writes ``<path>.json`` (``.pdmodel`` on Paddle 2.x) and ``<path>.pdiparams``
            for Paddle Inference; ``"onnx"`` writes ``<path>.onnx`` through paddle2onnx 1.x (the ``onnx``
            extra).
        classes: the class names, in output order, for ``Predictor.classify`` (a training run's export has
            them); without them, classes are shown by index.

    Returns:
        The paths written, the model file last (``<path>_meta.json`` among them).

    Every file is written to a temporary directory, flushed to disk and then renamed into place, so an export
    that fails never leaves a truncated model behind.
    """
    import paddle

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
        outputs = model(paddle.zeros([1, *input_size]))
    metadata = _metadata(input_size, outputs, classes, getattr(model, "pretrained_cfg", None))
    _check_beside_other_format(prefix, format, metadata)
    os.makedirs(directory, exist_ok=True)
    with naming_write_errors(prefix), tempfile.TemporaryDirectory(dir=directory, prefix=".export-") as tmp, \
            native_notes_silenced():
        if converter is None:
            files = save_program(model, os.path.join(tmp, "model"), input_size)
        else:
            files = [_convert_to_onnx(converter, model, tmp, input_size)]
        with open(os.path.join(tmp, "model" + METADATA_SUFFIX), "w") as file:
            json.dump(metadata, file, indent=1)
        return _move_into_place([os.path.join(tmp, "model" + METADATA_SUFFIX), *files], prefix, format)


def read_metadata(prefix: str) -> Optional[dict]:
    """The ``<prefix>_meta.json`` an export wrote, or None (an export by an older version, or none at all)."""
    path = os.fspath(prefix) + METADATA_SUFFIX
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as file:
            metadata = json.load(file)
    except (OSError, ValueError, RecursionError) as error:
        raise ValueError(f"{path}: not readable export metadata ({str(error)[:200]}); export the model again"
                         ) from None
    problem = metadata_problem(metadata)
    if problem:
        raise ValueError(f"{path}: {problem}; export the model again (paddle_resnet.export)")
    return metadata


#: What ``preprocess`` in the metadata may say besides numbers: the values ``transform_from`` implements.
COLORS, LAYOUTS, INTERPOLATIONS = ("RGB",), ("CHW",), ("nearest", "bilinear", "bicubic", "lanczos", "hamming", "box")


def metadata_problem(metadata) -> Optional[str]:
    """What is wrong with export metadata (``<prefix>_meta.json``), naming the key, or None. Every value is
    checked for its type and range: the predictor allocates and computes from them (a ``resize_short`` of
    100000 is a 40 GB image), and a wrong one (std 0, a class list of another length) gives wrong answers."""
    if not isinstance(metadata, dict):
        return "not a JSON object"
    shape = metadata.get("input_shape")
    if not (isinstance(shape, list) and len(shape) == 4 and shape[0] is None and
            all(is_int(d) and 0 < d <= MAX_IMAGE_SIDE for d in shape[1:])):
        return f"input_shape {_short(shape)}: expected [null, channels, height, width] of ints 1 to {MAX_IMAGE_SIDE}"
    outputs = metadata.get("outputs")
    if not (isinstance(outputs, list) and outputs and all(
            isinstance(o, list) and o and o[0] is None and all(is_int(d) and d >= 0 for d in o[1:]) for o in outputs)):
        return f"outputs {_short(outputs)}: expected a list of output shapes [null, ...] of non-negative ints"
    classes = metadata.get("classes")
    if classes is not None:
        problem = classes_problem(classes)
        if problem:
            return problem
        if len(outputs) != 1 or len(outputs[0]) != 2 or outputs[0][1] != len(classes):
            return f"classes: {len(classes)} names, but the model's output is {_short(outputs)}"
    preprocess = metadata.get("preprocess")
    if preprocess is None:
        return None
    if not isinstance(preprocess, dict):
        return f"preprocess {_short(preprocess)}: expected an object"
    checks = [
        ("color", lambda v: v in COLORS, f"one of {', '.join(COLORS)}"),
        ("layout", lambda v: v in LAYOUTS, f"one of {', '.join(LAYOUTS)}"),
        ("interpolation", lambda v: v in INTERPOLATIONS, f"one of {', '.join(INTERPOLATIONS)}"),
        ("resize_short", lambda v: is_int(v) and 0 < v <= MAX_RESIZE, f"an int 1 to {MAX_RESIZE}"),
        ("crop", lambda v: isinstance(v, list) and len(v) == 2 and all(is_int(d) and 0 < d <= MAX_IMAGE_SIDE
                                                                       for d in v),
         f"[height, width], ints 1 to {MAX_IMAGE_SIDE}"),
        ("mean", lambda v: _numbers(v, shape[1]), f"{shape[1]} finite numbers (one per channel)"),
        ("std", lambda v: _numbers(v, shape[1]) and all(x > 0 for x in v),
         f"{shape[1]} finite positive numbers (one per channel)"),
    ]
    for key, valid, expected in checks:
        if key not in preprocess or not valid(preprocess[key]):
            return f"preprocess.{key} {_short(preprocess.get(key, '(missing)'))}: expected {expected}"
    return None


def classes_problem(classes) -> Optional[str]:
    """Why ``classes`` is not a list of class names (non-empty strings), or None."""
    if not isinstance(classes, (list, tuple)):
        return f"classes {_short(classes)}: expected a list of class names"
    bad = [name for name in classes if not isinstance(name, str) or not name.strip()]
    if bad:
        return (f"classes: {len(bad)} of the {len(classes)} names are not non-empty strings "
                f"({', '.join(map(_short, bad[:3]))})")
    return None


def _numbers(values, count: int) -> bool:
    return isinstance(values, list) and len(values) == count and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) or len(value) < 60 else json.dumps(value[:60]) + "..."
    return text if len(text) <= 80 else text[:80] + "..."


def _metadata(input_size: List[int], outputs, classes: Optional[Sequence[str]], weights=None) -> dict:
    """What an image classifier's user needs besides the graph: shapes, class names, preprocessing (that of the
    pretrained ``weights`` record the model was built with, if any)."""
    shapes = [[None, *list(o.shape)[1:]] for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
    if classes is not None:
        problem = classes_problem(classes)
        if problem:
            raise ValueError(problem)
        classes = list(classes)
        if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][1] != len(classes):
            raise ValueError(f"classes: {len(classes)} names given, but the model's output is "
                             f"{', '.join(str(s) for s in shapes)}; give one name per classifier output")
    return {"input_shape": [None, *input_size], "outputs": shapes, "classes": classes,
            "preprocess": describe_preprocess(*input_size[1:], weights=weights) if input_size[0] == 3 else None}


def _check_beside_other_format(prefix: str, format: str, metadata: dict) -> None:
    """Refuse to write next to the other format's files if they are a different model (by their metadata)."""
    others = [prefix + suffix for other in FORMATS if other != format for suffix in FORMAT_SUFFIXES[other]
              if os.path.exists(prefix + suffix)]
    existing = read_metadata(prefix) if others else None
    if existing is None:
        return
    differences = [f"{key} {existing.get(key)} vs {metadata[key]}" for key in ("input_shape", "outputs", "classes")
                   if existing.get(key) != metadata[key]]
    if differences:
        raise FileExistsError(f"{', '.join(others)} at the prefix {prefix!r} is a different model "
                              f"({'; '.join(differences)}); export to another prefix, or remove those files first")


def save_program(model: "nn.Layer", prefix: str, input_size: Sequence[int], old_ir: bool = False) -> List[str]:
    """``paddle.jit.save`` the eval-mode ``model`` for ``[None, *input_size]`` inputs; return the files written.

    ``old_ir`` asks Paddle 3 for the older ProgramDesc format (``.pdmodel``), which paddle2onnx 1.x reads;
    Paddle 2.x writes that format anyway.
    """
    import contextlib

    import paddle
    from paddle.static import InputSpec

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
    size = normalize_input_size(input_size)[1:]
    if max(size) > MAX_IMAGE_SIDE:
        gib = 4 * size[0] * size[1] * size[2] / 2 ** 30
        raise ValueError(f"input_size={input_size!r}: expected sizes of at most {MAX_IMAGE_SIDE} (a "
                         f"{size[1]}x{size[2]} input is {gib:.3g} GiB as float32, before any activation)")
    return size


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


def _move_into_place(files: List[str], prefix: str, format: str) -> List[str]:
    """Flush ``tmp/model.<suffix>`` files to disk and rename them to ``<prefix>.<suffix>``, the model file last;
    then remove the files of an earlier export of the same ``format`` at ``prefix`` that were not replaced."""
    model_file = next(f for f in files if f.endswith((*PROGRAM_SUFFIXES, ".onnx")) and
                      not f.endswith(METADATA_SUFFIX))
    written = []
    for source in [f for f in files if f != model_file] + [model_file]:
        fsync_file(source)
        target = prefix + os.path.basename(source)[len("model"):]
        os.replace(source, target)
        written.append(target)
    # Left in place, an old program of the other IR (.pdmodel beside a new .json) would make the prefix
    # ambiguous and pair with the new parameters. The other format's files stay: never delete another format.
    for stale in (prefix + suffix for suffix in FORMAT_SUFFIXES[format]):
        if stale not in written and os.path.exists(stale):
            os.remove(stale)
    return written
