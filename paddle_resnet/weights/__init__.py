"""Weights: file formats (``files``, ``safetensors``, and ``pickle_safe``, the reader of ``.pdparams`` that runs no
code), key naming conventions (``naming``, ``pytorch_cifar``), the official sources and downloads
(``official``), the published weight sets and their metadata (``pretrained``), RGB weights for other input
channels (``adapt``), and loading and saving (``loading``)."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {  # imported when first used
    ".loading": ["IncompatibleWeightsError", "LoadReport", "WeightsWarning", "load_pretrained", "load_weights",
                 "save_weights"],
    ".official": ["OFFICIAL_WEIGHTS", "PADDLECLAS_WEIGHTS", "WeightsDownloadError"],
    ".pickle_safe": ["UnsafePickleError"],
    ".pretrained": ["PRETRAINED", "PretrainedCfg", "UnknownPretrainedError", "get_pretrained_cfg", "list_pretrained"],
    ".pytorch_cifar": ["from_pytorch_cifar"],
})

__all__ = ["IncompatibleWeightsError", "LoadReport", "OFFICIAL_WEIGHTS", "PADDLECLAS_WEIGHTS", "PRETRAINED",
           "PretrainedCfg", "UnknownPretrainedError", "UnsafePickleError", "WeightsDownloadError", "WeightsWarning",
           "from_pytorch_cifar", "get_pretrained_cfg", "list_pretrained", "load_pretrained", "load_weights",
           "save_weights"]
