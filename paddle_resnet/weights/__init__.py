"""Weights: file formats (``files``, ``safetensors``), key naming conventions (``naming``), the official sources
and downloads (``official``), RGB weights for other input channels (``adapt``), and loading and saving
(``loading``)."""

from .loading import IncompatibleWeightsError, LoadReport, WeightsWarning, load_pretrained, load_weights, save_weights
from .official import OFFICIAL_WEIGHTS, PADDLECLAS_WEIGHTS, WeightsDownloadError

__all__ = ["IncompatibleWeightsError", "LoadReport", "OFFICIAL_WEIGHTS", "PADDLECLAS_WEIGHTS", "WeightsDownloadError",
           "WeightsWarning", "load_pretrained", "load_weights", "save_weights"]
