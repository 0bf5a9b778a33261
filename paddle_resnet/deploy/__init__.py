"""Deployment: exporting a model as a static graph (``export``: Paddle Inference or ONNX), running the exported
files (``predictor``: the facade; ``classification``, ``discovery``, and a runner per backend: ``paddle_runner``,
``onnx_runner``), and the tolerance an export's outputs are checked against (``compare``).

``export`` the function is ``paddle_resnet.export`` (or ``paddle_resnet.deploy.export.export``): it is not
re-exported here, where it would hide the module of the same name."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {  # imported when first used
    ".compare": ["RELATIVE_TOLERANCE", "max_relative_difference"],
    ".predictor": ["Predictor"],
})

__all__ = ["Predictor", "RELATIVE_TOLERANCE", "max_relative_difference"]
