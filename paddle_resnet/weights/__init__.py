"""Weights: file formats (``files``, ``safetensors``, and ``pickle_safe``, the reader of ``.pdparams`` that runs no
code), key naming conventions (``naming``, ``pytorch_cifar``), the official sources and downloads
(``official``), RGB weights for other input channels (``adapt``), and loading and saving (``loading``)."""

from .loading import IncompatibleWeightsError, LoadReport, WeightsWarning, load_pretrained, load_weights, save_weights
from .official import OFFICIAL_WEIGHTS, PADDLECLAS_WEIGHTS, WeightsDownloadError
from .pickle_safe import UnsafePickleError
from .pytorch_cifar import from_pytorch_cifar

__all__ = ["IncompatibleWeightsError", "LoadReport", "OFFICIAL_WEIGHTS", "PADDLECLAS_WEIGHTS", "UnsafePickleError",
           "WeightsDownloadError", "WeightsWarning", "from_pytorch_cifar", "load_pretrained", "load_weights",
           "save_weights"]
