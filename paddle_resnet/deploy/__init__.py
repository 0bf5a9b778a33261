"""Deployment: exporting a model as a static graph (``export``: Paddle Inference or ONNX), running the exported
files (``predictor``), and the tolerance an export's outputs are checked against (``compare``).

``export`` the function is ``paddle_resnet.export`` (or ``paddle_resnet.deploy.export.export``): it is not
re-exported here, where it would hide the module of the same name."""

from .compare import RELATIVE_TOLERANCE, max_relative_difference
from .predictor import Predictor

__all__ = ["Predictor", "RELATIVE_TOLERANCE", "max_relative_difference"]
