"""Weights: file formats (``files``, ``safetensors``), key naming conventions (``naming``), the official sources
and downloads (``official``), and loading and saving (``loading``)."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {  # imported when first used
    ".loading": ["IncompatibleWeightsError", "LoadReport", "WeightsWarning", "load_pretrained", "load_weights",
                 "save_weights"],
    ".official": ["OFFICIAL_WEIGHTS", "WeightsDownloadError"],
})

__all__ = ["IncompatibleWeightsError", "LoadReport", "OFFICIAL_WEIGHTS", "WeightsDownloadError", "WeightsWarning",
           "load_pretrained", "load_weights", "save_weights"]
