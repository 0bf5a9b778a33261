"""paddle_resnet: the ResNet family for PaddlePaddle, built from one table and verified against references.

>>> from paddle_resnet import resnet50, count_params
>>> count_params(resnet50()).total
25610152
"""

import warnings

# Pillow before Paddle: Paddle 2.6's native library carries its own zlib, and a Pillow loaded after it (10 and
# 13 checked) binds to that copy, then fails to read any PNG ("codec configuration error") and crashes writing one.
try:
    import PIL.Image  # noqa: F401
except ImportError:  # pragma: no cover - Pillow is a dependency of Paddle
    pass

try:
    with warnings.catch_warnings():  # Paddle warns about a C++ build cache on import; irrelevant here
        warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)
        import paddle  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a Paddle-free environment only
    raise ImportError(
        "paddle_resnet needs PaddlePaddle, which is not installed. Install the build for your machine: "
        "`pip install paddlepaddle` (CPU) or `pip install paddlepaddle-gpu` (CUDA; see "
        "https://www.paddlepaddle.org.cn/install/quick), or `pip install paddle_resnet[cpu]`."
    ) from error

from .blocks import BasicBlock, BottleneckBlock, ZeroPadShortcut
from .builders import *  # noqa: F401,F403  (one builder per architecture: resnet18, resnet50, ...)
from .builders import BUILDERS, create_model
from .config import ARCHITECTURES, ResNetConfig, list_models
from .counting import ParamCount, count_macs, count_params
from .network import ResNet
from .summary import summarize
from .verification import VerifyResult, fingerprint, verify_model
from .transfer import freeze, unfreeze
from .weights import load_weights, save_weights
from .export import export
from .inference import Predictor

__version__ = "0.1.0"

__all__ = [
    "ARCHITECTURES", "BasicBlock", "BottleneckBlock", "ParamCount", "ResNet", "ResNetConfig",
    "ZeroPadShortcut", "count_params", "create_model", "freeze", "list_models", "unfreeze", *BUILDERS,
    "VerifyResult", "count_macs", "fingerprint", "summarize", "verify_model",
    "load_weights", "save_weights",
    "Predictor", "export",
]
