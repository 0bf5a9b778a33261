"""Pretrained weights: the official ``paddle.vision`` ImageNet files, and loading and saving weight files.

* ``resnet50(pretrained=True)`` downloads the official file once through Paddle's own downloader (cached
  under ``~/.cache/paddle/hapi/weights``, shared with ``paddle.vision``, md5-checked, fetched again when the
  cached copy is corrupt) and loads it.
* ``load_weights(model, source)`` loads a ``.pdparams`` or ``.safetensors`` file, a URL or a state dict, in
  our naming (= ``paddle.vision``'s) or in torchvision / timm naming, which it recognises and converts.
  It checks every tensor before touching the model and returns a ``LoadReport``.
* ``save_weights(model, path)`` writes ``.pdparams`` or ``.safetensors`` atomically.

The two naming conventions differ only in BatchNorm statistics, a counter, and the classifier layout::

    torchvision / timm                 paddle (ours)
    <bn>.running_mean                  <bn>._mean
    <bn>.running_var                   <bn>._variance
    <bn>.num_batches_tracked           (none: dropped)
    fc.weight  [out, in]               fc.weight  [in, out]  (transposed)
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from typing import Callable, Dict, List, Mapping, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import paddle
from paddle import nn

from . import safetensors_io
from .atomic import atomic_path
from .config import ARCHITECTURES

# fmt: off
#: The official ImageNet weights of ``paddle.vision.models.resnet``: URL and md5 sum of each file (a test
#: checks that this table still equals ``paddle.vision.models.resnet.model_urls``).
OFFICIAL_WEIGHTS: Dict[str, Tuple[str, str]] = {
    "resnet18":         ("https://paddle-hapi.bj.bcebos.com/models/resnet18.pdparams",
                         "cf548f46534aa3560945be4b95cd11c4"),
    "resnet34":         ("https://paddle-hapi.bj.bcebos.com/models/resnet34.pdparams",
                         "8d2275cf8706028345f78ac0e1d31969"),
    "resnet50":         ("https://paddle-hapi.bj.bcebos.com/models/resnet50.pdparams",
                         "ca6f485ee1ab0492d38f323885b0ad80"),
    "resnet101":        ("https://paddle-hapi.bj.bcebos.com/models/resnet101.pdparams",
                         "02f35f034ca3858e1e54d4036443c92d"),
    "resnet152":        ("https://paddle-hapi.bj.bcebos.com/models/resnet152.pdparams",
                         "7ad16a2f1e7333859ff986138630fd7a"),
    "resnext50_32x4d":  ("https://paddle-hapi.bj.bcebos.com/models/resnext50_32x4d.pdparams",
                         "dc47483169be7d6f018fcbb7baf8775d"),
    "resnext50_64x4d":  ("https://paddle-hapi.bj.bcebos.com/models/resnext50_64x4d.pdparams",
                         "063d4b483e12b06388529450ad7576db"),
    "resnext101_32x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext101_32x4d.pdparams",
                         "967b090039f9de2c8d06fe994fb9095f"),
    "resnext101_64x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext101_64x4d.pdparams",
                         "98e04e7ca616a066699230d769d03008"),
    "resnext152_32x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext152_32x4d.pdparams",
                         "18ff0beee21f2efc99c4b31786107121"),
    "resnext152_64x4d": ("https://paddle-hapi.bj.bcebos.com/models/resnext152_64x4d.pdparams",
                         "77c4af00ca42c405fa7f841841959379"),
    "wide_resnet50_2":  ("https://paddle-hapi.bj.bcebos.com/models/wide_resnet50_2.pdparams",
                         "0282f804d73debdab289bd9fea3fa6dc"),
    "wide_resnet101_2": ("https://paddle-hapi.bj.bcebos.com/models/wide_resnet101_2.pdparams",
                         "d4360a2d23657f059216f5d5a1a9ac93"),
}
# fmt: on

#: File formats ``load_weights`` and ``save_weights`` understand, by suffix.
SUFFIXES = (".pdparams", ".safetensors")

#: Config fields the official weights fix; the others (the head, out_stages, the init) may differ freely.
_TRAINED_FIELDS = ("block", "layers", "widths", "stem", "stem_width", "groups", "width_per_group",
                   "shortcut", "stride_on", "in_channels")

#: Key paddle.save adds to some state dicts to record parameter names; not a tensor.
_PADDLE_NAME_TABLE = "StructuredToParameterName@@"

#: Keys that only torchvision / timm naming has, and how the statistics are renamed for Paddle.
_TORCH_ONLY_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")
_TORCH_TO_PADDLE = {".running_mean": "._mean", ".running_var": "._variance"}

Source = Union[str, "os.PathLike[str]", Mapping[str, object]]


class WeightsWarning(UserWarning):
    """Some tensors were not loaded (e.g. a new head); the message lists them."""


class IncompatibleWeightsError(ValueError):
    """The weights do not fit the model; ``.report`` holds the full ``LoadReport``. The model is unchanged."""

    def __init__(self, message: str, report: "LoadReport"):
        super().__init__(message)
        self.report = report


class WeightsDownloadError(OSError):
    """A weights file could not be downloaded (offline, unreachable, or a corrupt download)."""


@dataclasses.dataclass
class LoadReport:
    """What ``load_weights`` did, key by key, in the model's (Paddle) naming.

    Attributes:
        source: the file, URL or ``"<state dict>"`` the weights came from.
        naming: ``"paddle"`` or ``"torchvision"`` (the latter was converted; timm uses the same names).
        loaded: keys copied into the model.
        missing: model keys the weights lack (they keep their initialisation).
        unexpected: keys of the weights the model does not have (ignored).
        mismatched: keys present in both with different shapes: ``{key: (shape in weights, shape in model)}``
            (not loaded; the model keeps its own).
    """

    source: str
    naming: str
    loaded: List[str]
    missing: List[str]
    unexpected: List[str]
    mismatched: Dict[str, Tuple[Tuple[int, ...], Tuple[int, ...]]]

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
        ]
        for title, keys in kinds:
            if keys:
                lines.append(f"  {title} ({len(keys)}): {_summarise(keys, limit)}")
        return "\n".join(lines)


def _summarise(keys: List[str], limit: int) -> str:
    """The keys themselves, or when there are more than ``limit``, a count per top-level layer."""
    if len(keys) <= limit:
        return ", ".join(keys)
    counts: Dict[str, int] = {}
    for key in keys:
        counts[key.split(".")[0]] = counts.get(key.split(".")[0], 0) + 1
    return ", ".join(f"{layer}.* ({count} keys)" for layer, count in counts.items())


def load_weights(model: nn.Layer, source: Source, strict: bool = True) -> LoadReport:
    """Load weights into ``model`` and report, key by key, what was loaded.

    Args:
        model: a ``ResNet`` (or any Paddle layer with ``paddle.vision``-style keys).
        source: a ``.pdparams`` or ``.safetensors`` path, an ``http(s)://`` URL of one (downloaded once into
            Paddle's weights cache), or a state dict ``{name: array or Tensor}``. Keys may use our naming or
            torchvision / timm naming, which is recognised and converted (see the module docstring).
        strict: if True, any missing, unexpected or mismatched key raises ``IncompatibleWeightsError``
            listing them, and the model is left unchanged. If False, the tensors that fit are loaded, the
            rest is listed in the report and in a ``WeightsWarning``.

    Returns:
        A ``LoadReport``.

    Every tensor is read, converted and checked before the model is modified, so a failure never leaves a
    half-loaded model. Note that a ``.pdparams`` file is a pickle: load only files you trust.
    """
    state, naming, label = _read_source(source, model)
    report = _compare(model, state, naming, label)
    if strict and not report.ok:
        raise IncompatibleWeightsError(
            f"the weights do not fit the model (nothing was loaded; pass strict=False to load the tensors that "
            f"fit):\n{report.describe()}{_prefix_hint(report)}", report)
    _apply(model, state, report)
    if not report.ok:
        warnings.warn(report.describe() + _prefix_hint(report), WeightsWarning, stacklevel=2)
    return report


def save_weights(model: nn.Layer, path: Union[str, "os.PathLike[str]"]) -> str:
    """Save ``model``'s weights to ``path``: ``.pdparams`` (Paddle's pickle) or ``.safetensors``, by suffix.

    The file is written to a temporary name in the same folder and then renamed over ``path``, so an
    interrupted save never leaves a truncated file where a good one was. Returns ``path``.
    """
    path = os.fspath(path)
    suffix = _suffix(path)
    if suffix not in SUFFIXES:
        raise ValueError(f"save_weights({path!r}): unknown suffix {suffix!r}; use one of {', '.join(SUFFIXES)}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save_weights({path!r}): the folder {directory} does not exist")
    state = model.state_dict()
    with atomic_path(path) as temporary:
        if suffix == ".pdparams":
            paddle.save(state, str(temporary))  # paddle.save wants a path or BytesIO, not an open file
        else:
            with open(temporary, "wb") as file:
                safetensors_io.dump({key: value.numpy() for key, value in state.items()}, file)
    return path


def load_pretrained(model: nn.Layer, name: str, source: Union[bool, str]) -> LoadReport:
    """Load pretrained weights into a freshly built ``model`` of architecture ``name`` (used by the builders).

    ``source`` is ``True`` for the official ``paddle.vision`` weights, or a path or URL. The backbone must
    load completely; only the head (``fc``) may be skipped, e.g. for another ``num_classes``, as may
    stages the model does not build (``out_stages``). Skipped keys are reported in a ``WeightsWarning``.
    """
    if source is True:
        _check_official(model, name)
        source = official_weights_path(name)
    elif not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"pretrained={source!r}: expected True (official weights) or a path or URL")
    state, naming, label = _read_source(source, model)
    report = _compare(model, state, naming, label)
    backbone = [key for key in report.skipped if not _is_head_or_unbuilt(model, key)]
    if backbone:
        raise IncompatibleWeightsError(
            f"the pretrained weights do not fit the backbone of this {name} (nothing was loaded); offending "
            f"keys: {', '.join(backbone[:12])}{' ...' if len(backbone) > 12 else ''}\n{report.describe()}", report)
    _apply(model, state, report)
    if not report.ok:
        fresh = "\n  the model's head keeps its fresh initialisation: train it before use" \
            if report.missing or report.mismatched else ""
        warnings.warn(report.describe() + fresh, WeightsWarning, stacklevel=3)
    return report


def official_weights_path(name: str) -> str:
    """Local path of the official weights of ``name``, downloading them into Paddle's cache if needed."""
    if name not in OFFICIAL_WEIGHTS:
        raise ValueError(
            f"no official pretrained weights for {name!r}; architectures with official weights: "
            f"{', '.join(OFFICIAL_WEIGHTS)}. Use pretrained='path/or/url' to load another file."
        )
    from paddle.utils import download

    url, md5 = OFFICIAL_WEIGHTS[name]
    cached = os.path.join(download.WEIGHTS_HOME, _url_filename(url))
    return _download(lambda: download.get_weights_path_from_url(url, md5), url, cached, md5)


def _download(fetch: Callable[[], str], url: str, cached: str, md5: Union[str, None]) -> str:
    """Run Paddle's downloader; turn its failures into an error that says where to put the file by hand."""
    try:
        return fetch()
    except (RuntimeError, OSError) as error:
        if md5 and os.path.exists(cached):
            reason = (f"the file at {cached} has md5 {_md5(cached)}, expected {md5} (a corrupt or changed "
                      f"download), and downloading it again did not fix that ({error})")
        else:
            reason = f"could not download it ({error})"
        check = f" with md5 {md5}" if md5 else ""
        raise WeightsDownloadError(
            f"{url}: {reason}. If this machine is offline, download the file elsewhere and place it at "
            f"{cached}{check}; it will be used from there."
        ) from error


def _url_filename(url: str) -> str:
    return os.path.split(url)[-1]  # the name Paddle's downloader gives the cached file


def _download_url(url: str) -> str:
    """Download any weights URL once into Paddle's cache, in a folder of its own (different URLs often share
    a file name such as ``model.safetensors``)."""
    from paddle.utils import download

    folder = os.path.join(download.WEIGHTS_HOME, "urls", hashlib.sha256(url.encode()).hexdigest()[:16])
    return _download(lambda: download.get_path_from_url(url, folder, None, decompress=False),
                     url, os.path.join(folder, _url_filename(url)), None)


def _check_official(model: nn.Layer, name: str) -> None:
    """The official weights were trained for the table's architecture: refuse options that change it."""
    config, trained = getattr(model, "config", None), ARCHITECTURES[name]
    if config is None:
        return
    for field in _TRAINED_FIELDS:
        if getattr(config, field) != getattr(trained, field):
            raise ValueError(
                f"the official {name} weights were trained with {field}={getattr(trained, field)!r}; this "
                f"model has {field}={getattr(config, field)!r}. Build it without that option, or use "
                "pretrained=False (or a weights file trained for it)."
            )


def _is_head_or_unbuilt(model: nn.Layer, key: str) -> bool:
    """Keys pretrained loading may skip: the classifier, and stages beyond those the model builds."""
    if key.startswith("fc."):
        return True
    first = key.split(".")[0]
    num_stages = getattr(model, "num_stages", None)
    return first.startswith("layer") and first[5:].isdigit() and num_stages is not None and \
        int(first[5:]) > num_stages


def _suffix(path: str) -> str:
    return os.path.splitext(urlparse(path).path if _is_url(path) else path)[1].lower()


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _read_source(source: Source, model: nn.Layer) -> Tuple[Dict[str, np.ndarray], str, str]:
    """Read ``source`` into numpy arrays in Paddle naming: ``(state, original naming, label for messages)``."""
    if isinstance(source, Mapping):
        label = "<state dict>"
        state = {key: value.numpy() if isinstance(value, paddle.Tensor) else np.asarray(value)
                 for key, value in source.items() if key != _PADDLE_NAME_TABLE}
    elif isinstance(source, (str, os.PathLike)):
        label = os.fspath(source)
        suffix = _suffix(label)
        if suffix not in SUFFIXES:
            raise ValueError(f"{label}: unknown weights format {suffix!r}; accepted: {', '.join(SUFFIXES)}")
        path = _download_url(label) if _is_url(label) else label
        if not os.path.isfile(path):
            raise FileNotFoundError(f"weights file {path} does not exist")
        state = _read_pdparams(path) if suffix == ".pdparams" else safetensors_io.load(path)[0]
    else:
        raise TypeError(f"weights source {source!r}: expected a file path, a URL or a state dict")
    naming = "torchvision" if any(key.endswith(_TORCH_ONLY_SUFFIXES) for key in state) else "paddle"
    if naming == "torchvision":
        state = _from_torchvision(state, model)
    return state, naming, label


def _read_pdparams(path: str) -> Dict[str, np.ndarray]:
    try:
        state = paddle.load(path, return_numpy=True)
    except Exception as error:  # a truncated or foreign pickle fails in many ways
        raise ValueError(f"{path}: cannot be read as a .pdparams file ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a state dict")
    state.pop(_PADDLE_NAME_TABLE, None)
    nested = [key for key, value in state.items() if not isinstance(value, np.ndarray)]
    if nested:
        raise ValueError(
            f"{path}: entries {', '.join(nested[:5])} are not tensors; is it a training checkpoint? Save or "
            "pass its model state dict instead"
        )
    return state


def _from_torchvision(state: Mapping[str, np.ndarray], model: nn.Layer) -> Dict[str, np.ndarray]:
    """Rename torchvision / timm keys to Paddle's and transpose Linear weights from [out, in] to [in, out]."""
    linear_weights = {f"{name}.weight" for name, layer in model.named_sublayers() if isinstance(layer, nn.Linear)}
    converted = {}
    for key, value in state.items():
        if key.endswith(".num_batches_tracked"):
            continue  # PyTorch's BatchNorm step counter; Paddle has none and does not need it
        for torch_suffix, paddle_suffix in _TORCH_TO_PADDLE.items():
            if key.endswith(torch_suffix):
                key = key[:-len(torch_suffix)] + paddle_suffix
        if key in linear_weights and value.ndim == 2:
            value = np.ascontiguousarray(value.T)
        converted[key] = value
    return converted


def _compare(model: nn.Layer, state: Mapping[str, np.ndarray], naming: str, label: str) -> LoadReport:
    own = model.state_dict()
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


def _apply(model: nn.Layer, state: Mapping[str, np.ndarray], report: LoadReport) -> None:
    # set_value on each tensor (what set_state_dict does), without its warnings about keys we skip on purpose.
    own = model.state_dict()
    for key in report.loaded:
        value, dtype = state[key], _numpy_dtype(own[key])
        own[key].set_value(value.astype(dtype) if dtype is not None and value.dtype != dtype else value)


def _numpy_dtype(tensor) -> Union[np.dtype, None]:
    try:
        return np.dtype(str(tensor.dtype).split(".")[-1])  # "paddle.float32" -> float32
    except TypeError:
        return None  # bfloat16 and other types numpy lacks: let Paddle convert


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _prefix_hint(report: LoadReport) -> str:
    """When nothing matched, the usual cause is a prefix such as ``module.`` or ``model.`` on every key."""
    if report.loaded or not report.unexpected:
        return ""
    prefixes = {key.split(".", 1)[0] for key in report.unexpected}
    if len(prefixes) == 1:
        return (f"\n  every key of the weights starts with {prefixes.pop()!r}.: strip that prefix and pass the "
                "state dict")
    return ""
