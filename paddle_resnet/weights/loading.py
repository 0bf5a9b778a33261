"""Loading and saving weights: ``load_weights``, ``load_pretrained`` (used by the builders) and ``save_weights``.

* ``load_weights(model, source)`` loads a ``.pdparams`` or ``.safetensors`` file, a URL or a state dict, in our
  naming (= ``paddle.vision``'s) or in torchvision / timm naming, which it recognises and converts
  (``naming.py``). It checks every tensor before touching the model and returns a ``LoadReport``.
* ``resnet50(pretrained=True)`` loads the official weights (``official.py``); ``pretrained=PATH_OR_URL`` any file.
* ``save_weights(model, path)`` writes ``.pdparams`` or ``.safetensors`` atomically.

Both loads run one pipeline: read the source (``.pdparams`` with a reader that cannot run code, ``files.py``),
convert its naming, compare it with the model key by key, refuse what may not be skipped, convert every value to
the model's dtype (so far nothing is copied: any failure leaves the model as it was), copy, and warn about what
was skipped or holds NaN / infinity.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from typing import Callable, Dict, List, Mapping, Tuple, Union

import numpy as np
from paddle import nn

from .._files import atomic_path
from ..models.stages import HEAD, part_of, stage_number
from .files import SUFFIXES, Source, read_source, suffix_of, write_state
from .adapt import adapt_input_channels
from .naming import NamingConflictError, layout_hints, to_paddle_naming
from .official import VARIANTS, check_official, official_weights_path
from .pytorch_cifar import padding_warning
from .._errors import PaddleResNetError


class WeightsWarning(UserWarning):
    """Some tensors were not loaded (e.g. a new head); the message lists them."""


class IncompatibleWeightsError(PaddleResNetError, ValueError):
    """The weights do not fit the model; ``.report`` holds the full ``LoadReport``. The model is unchanged."""

    def __init__(self, message: str, report: "LoadReport"):
        super().__init__(message)
        self.report = report


@dataclasses.dataclass
class LoadReport:
    """What ``load_weights`` did, key by key, in the model's (Paddle) naming.

    Attributes:
        source: the file, URL or ``"<state dict>"`` the weights came from.
        naming: ``"paddle"``, or the naming that was converted: ``"torchvision"`` (timm uses the same names),
            ``"paddleclas"`` or ``"paddleclas-2.0"`` (see ``naming.py``).
        loaded: keys copied into the model.
        missing: model keys the weights lack (they keep their initialisation).
        unexpected: keys of the weights the model does not have (ignored).
        mismatched: keys present in both with different shapes: ``{key: (shape in weights, shape in model)}``
            (not loaded; the model keeps its own).
        nonfinite: loaded keys whose values include NaN or infinity (loaded as they are, with a warning).
        adapted: ``{key: how}`` for tensors changed to fit: the first conv's RGB kernel adapted to the model's
            ``in_channels`` (see ``adapt.py``); they are also in ``loaded``.
    """

    source: str
    naming: str
    loaded: List[str]
    missing: List[str]
    unexpected: List[str]
    mismatched: Dict[str, Tuple[Tuple[int, ...], Tuple[int, ...]]]
    nonfinite: List[str] = dataclasses.field(default_factory=list)
    adapted: Dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def skipped(self) -> List[str]:
        """Every key that was not loaded: missing, unexpected and mismatched."""
        return self.missing + self.unexpected + list(self.mismatched)

    @property
    def ok(self) -> bool:
        """True when every tensor of the model was loaded and nothing in the weights was left over."""
        return not self.skipped

    def describe(self, limit: int = 12) -> str:
        """A readable summary naming the skipped keys (at most ``limit`` per kind)."""
        total = len(self.loaded) + len(self.missing) + len(self.mismatched)
        lines = [f"{self.source} ({self.naming} naming): {len(self.loaded)} of the model's {total} tensors match"]
        kinds = [
            ("shape mismatch, kept the model's own",
             [f"{key} (weights {list(a)}, model {list(b)})" for key, (a, b) in self.mismatched.items()]),
            ("missing from the weights, kept the model's own", self.missing),
            ("in the weights but not in the model, ignored", self.unexpected),
            ("loaded, but hold NaN or infinite values", self.nonfinite),
        ]
        for title, keys in kinds:
            if keys:
                lines.append(f"  {title} ({len(keys)}): {_summarise(keys, limit)}")
        lines += [f"  adapted to the model's input channels: {key} {how}" for key, how in self.adapted.items()]
        return "\n".join(lines)


def _summarise(keys: List[str], limit: int) -> str:
    """The keys themselves, or when there are more than ``limit``, a count per top-level layer (the first
    ``limit`` layers, then how many keys the rest hold: a file of 300,000 unknown keys gives one line, not
    megabytes)."""
    if len(keys) <= limit:
        return ", ".join(_short_key(key) for key in keys)
    counts: Dict[str, int] = {}
    for key in keys:
        counts[key.split(".")[0]] = counts.get(key.split(".")[0], 0) + 1
    shown = list(counts.items())[:limit]
    rest = len(keys) - sum(count for _, count in shown)
    return ", ".join(f"{_short_key(layer)}.* ({count} keys)" for layer, count in shown) + \
        (f" and {rest} more keys in {len(counts) - len(shown)} other layers" if rest else "")


def _short_key(key: str, width: int = 80) -> str:
    return key if len(key) <= width else key[:width] + "..."


def load_weights(model: nn.Layer, source: Source, strict: bool = True, trusted: bool = False) -> LoadReport:
    """Load weights into ``model`` and report, key by key, what was loaded.

    Args:
        model: a ``ResNet`` (or any Paddle layer with ``paddle.vision``-style keys).
        source: a ``.pdparams`` or ``.safetensors`` path, an ``http(s)://`` URL of one (downloaded once into
            Paddle's weights cache), or a state dict ``{name: array or Tensor}``. Keys may use our naming or
            torchvision / timm naming, which is recognised and converted (see ``weights.naming``).
        strict: if True, any missing, unexpected or mismatched key raises ``IncompatibleWeightsError``
            listing them, and the model is left unchanged. If False, the tensors that fit are loaded, the
            rest is listed in the report and in a ``WeightsWarning``.
        trusted: read a ``.pdparams`` file with ``paddle.load``, which runs any code the file contains. By
            default it is read by a restricted reader that accepts only what ``paddle.save`` writes for a state
            dict and refuses anything else before it can run (``UnsafePickleError``). Only for files you trust.

    Returns:
        A ``LoadReport``.

    Every tensor is read, converted and checked before the model is modified, so a failure never leaves a
    half-loaded model. Tensors holding NaN or infinity are loaded and named in a ``WeightsWarning``.
    """
    def refuse(report: LoadReport, keys: List[str]) -> str:
        return (f"the weights do not fit the model (nothing was loaded; pass strict=False to load the tensors "
                f"that fit):\n{report.describe()}{_prefix_hint(report)}")

    return _load(model, source, may_skip=lambda key: not strict, refuse=refuse, note=_prefix_hint,
                 trusted=trusted)


def load_pretrained(model: nn.Layer, name: str, source: Union[bool, str]) -> LoadReport:
    """Load pretrained weights into a freshly built ``model`` of architecture ``name`` (used by the builders).

    ``source`` is ``True`` for the official weights (``paddle.vision``'s, or PaddleClas's for the ResNet-D rows),
    ``"ssld"`` for PaddleClas's SSLD-distilled ones, or a path or URL. The backbone must
    load completely; only the head (``fc``) may be skipped, e.g. for another ``num_classes``, as may
    stages the model does not build (``out_stages``). Skipped keys are reported in a ``WeightsWarning``.
    """
    if source is True or (isinstance(source, str) and source in VARIANTS):
        check_official(model, name)
        source = official_weights_path(name, source)
    elif not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"pretrained={source!r}: expected True (official weights), "
                        f"{' or '.join(map(repr, VARIANTS))}, or a path or URL")

    def refuse(report: LoadReport, keys: List[str]) -> str:
        return (f"the pretrained weights do not fit the backbone of this {name} (nothing was loaded); offending "
                f"keys: {', '.join(map(_short_key, keys[:12]))}"
                f"{f' and {len(keys) - 12} more' if len(keys) > 12 else ''}"
                f"\n{report.describe()}")

    def note(report: LoadReport) -> str:
        fresh = report.missing or report.mismatched
        return "\n  the model's head keeps its fresh initialisation: train it before use" if fresh else ""

    return _load(model, source, may_skip=lambda key: _is_head_or_unbuilt(model, key), refuse=refuse, note=note)


def save_weights(model: nn.Layer, path: Union[str, "os.PathLike[str]"]) -> str:
    """Save ``model``'s weights to ``path``: ``.pdparams`` (Paddle's pickle) or ``.safetensors``, by suffix.

    The file is written to a temporary name in the same folder and then renamed over ``path``, so an
    interrupted save never leaves a truncated file where a good one was (see ``_files.atomic_path``: a symlink
    is followed, an existing file's permissions are kept). Returns ``path``.
    """
    path = os.fspath(path)
    suffix = suffix_of(path)
    if suffix not in SUFFIXES:
        raise ValueError(f"save_weights({path!r}): unknown suffix {suffix!r}; use one of {', '.join(SUFFIXES)}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save_weights({path!r}): the folder {directory} does not exist")
    state = model.state_dict()
    _check_initialised(state, path)
    with atomic_path(path) as temporary:
        write_state(str(temporary), state, suffix)
    return path


def _check_initialised(state: Mapping[str, object], path: str) -> None:
    """A model built under ``paddle.LazyGuard`` has no values yet: saving it would write empty tensors."""
    lazy = [key for key, tensor in state.items() if not getattr(tensor, "_is_initialized", lambda: True)()]
    if lazy:
        raise ValueError(
            f"save_weights({path!r}): {len(lazy)} tensors of the model have no values yet ({_summarise(lazy, 5)}): "
            "it was built under paddle.LazyGuard. Initialise it first (for p in model.parameters(): "
            "p.initialize()) or load weights into it; nothing was written"
        )


def _load(model: nn.Layer, source: Source, may_skip: Callable[[str], bool],
          refuse: Callable[["LoadReport", List[str]], str], note: Callable[["LoadReport"], str],
          trusted: bool = False) -> LoadReport:
    """The one load pipeline: read, convert, compare, refuse (``refuse(report, keys)`` gives the message when a
    key that ``may_skip`` does not allow was skipped), convert every value to the model's dtype, and only then
    copy; warn (with ``note(report)`` appended)."""
    state, label = read_source(source, trusted)
    try:
        state, naming = to_paddle_naming(state, model)
    except NamingConflictError as error:
        raise NamingConflictError(f"{label}: {error}") from None
    state, adapted = adapt_input_channels(state, model)
    own = model.state_dict()
    report = _compare(own, state, naming, label)
    report.adapted = adapted
    refused = [key for key in report.skipped if not may_skip(key)]
    if refused:
        hints = "".join(f"\n  {hint}" for hint in layout_hints(report.missing, report.unexpected))
        raise IncompatibleWeightsError(refuse(report, refused) + hints, report)
    values = _converted(own, state, report)
    for key, value in values.items():  # set_value is what set_state_dict does, without its warnings
        own[key].set_value(value)
    padding = padding_warning(model, naming, label)
    if padding:
        _warn_at_caller(padding, WeightsWarning)
    if not report.ok or report.nonfinite or report.adapted:
        _warn_at_caller(report.describe() + note(report), WeightsWarning)
    return report


def _warn_at_caller(message: str, category) -> None:
    """Warn with the location of the first caller outside this package, however deep the call came from
    (``resnet50(pretrained=...)`` and ``load_weights(...)`` both point at the user's line)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 2  # stacklevel 2 is our caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _is_head_or_unbuilt(model: nn.Layer, key: str) -> bool:
    """Keys pretrained loading may skip: the classifier, and stages beyond those the model builds."""
    part = part_of(key)
    if part == HEAD:
        return True
    number, num_stages = stage_number(part), getattr(model, "num_stages", None)
    return number is not None and num_stages is not None and number > num_stages


def _compare(own: Mapping[str, object], state: Mapping[str, np.ndarray], naming: str, label: str) -> LoadReport:
    loaded, missing, mismatched = [], [], {}
    for key, tensor in own.items():
        if key not in state:
            missing.append(key)
        elif tuple(state[key].shape) != tuple(tensor.shape):
            mismatched[key] = (tuple(state[key].shape), tuple(tensor.shape))
        else:
            loaded.append(key)
    unexpected = [key for key in state if key not in own]
    return LoadReport(label, naming, loaded, missing, unexpected, mismatched)


def _converted(own: Mapping[str, object], state: Mapping[str, np.ndarray], report: LoadReport) -> Dict[str, object]:
    """The values of ``report.loaded`` in the dtypes of the model's tensors, all converted before any is copied,
    so that a value that cannot be converted leaves the model untouched. Notes NaN / infinity in the report."""
    values, unusable = {}, []
    with np.errstate(over="ignore", invalid="ignore"):  # the finiteness check overflows on purpose
        for key in report.loaded:
            value, dtype = state[key], _numpy_dtype(own[key])
            if value.dtype.kind not in "biuf":  # strings, objects, complex numbers: not weights
                unusable.append(f"{key} ({value.dtype})")
                continue
            if value.dtype.kind == "f" and not _all_finite(value):
                report.nonfinite.append(key)
            values[key] = value.astype(dtype) if dtype is not None and value.dtype != dtype else value
    if unusable:
        raise IncompatibleWeightsError(
            f"{report.source}: tensors of a dtype that is not a number (nothing was loaded): "
            f"{', '.join(unusable[:12])}{f' and {len(unusable) - 12} more' if len(unusable) > 12 else ''}; accepted: "
            "bool, integer and "
            "floating-point arrays", report)
    return values


def _all_finite(value: np.ndarray) -> bool:
    """No NaN or infinity in ``value``. A sum of squares is one fast pass (BLAS) and is finite exactly when every
    element is, unless huge finite values overflow it: only then are the elements checked one by one."""
    flat = value.reshape(-1)
    if value.dtype.itemsize >= 4 and np.isfinite(np.dot(flat, flat)):
        return True
    return bool(np.isfinite(flat).all())


def _numpy_dtype(tensor) -> Union[np.dtype, None]:
    try:
        return np.dtype(str(tensor.dtype).split(".")[-1])  # "paddle.float32" -> float32
    except TypeError:
        return None  # bfloat16 and other types numpy lacks: let Paddle convert


def _prefix_hint(report: LoadReport) -> str:
    """When nothing matched, the usual cause is a prefix such as ``module.`` or ``model.`` on every key."""
    if report.loaded or not report.unexpected:
        return ""
    prefixes = {key.split(".", 1)[0] for key in report.unexpected}
    if len(prefixes) == 1:
        return (f"\n  every key of the weights starts with {prefixes.pop()!r}.: strip that prefix and pass the "
                "state dict")
    return ""
