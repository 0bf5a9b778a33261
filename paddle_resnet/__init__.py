"""paddle_resnet: the ResNet family for PaddlePaddle, built from one table and verified against references.

>>> from paddle_resnet import resnet50, count_params
>>> count_params(resnet50()).total
25610152
"""

import warnings as _warnings

# Pillow before Paddle: Paddle 2.6's native library carries its own zlib, and a Pillow loaded after it (10 and
# 13 checked) binds to that copy, then fails to read any PNG ("codec configuration error") and crashes writing one.
try:
    import PIL.Image as _pil_image  # noqa: F401
except ImportError:  # pragma: no cover - Pillow is a dependency of Paddle
    pass

try:
    with _warnings.catch_warnings():  # Paddle warns about a C++ build cache on import; irrelevant here
        _warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)
        import paddle as _paddle  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a Paddle-free environment only
    raise ImportError(
        "paddle_resnet needs PaddlePaddle, which is not installed. Install the build for your machine: "
        "`pip install paddlepaddle` (CPU) or `pip install paddlepaddle-gpu` (CUDA; see "
        "https://www.paddlepaddle.org.cn/install/quick), or `pip install paddle_resnet[cpu]`."
    ) from error

from .analysis import ParamCount, count_macs, count_params, summarize
from .builders import (create_model, resnet18, resnet18_vd, resnet18d, resnet20, resnet32, resnet34, resnet34_vd,
                       resnet34d, resnet44, resnet50, resnet50_vd, resnet56, resnet101, resnet101_vd, resnet110,
                       resnet152, resnet152_vd, resnet200_vd, resnet200d, resnet1202, resnext50_32x4d,
                       resnext50_64x4d, resnext101_32x4d, resnext101_32x8d, resnext101_64x4d, resnext152_32x4d,
                       resnext152_64x4d, wide_resnet50_2, wide_resnet101_2)
from .deploy.export import export
from .deploy.predictor import Predictor
from .models import (ARCHITECTURES, BasicBlock, BottleneckBlock, ResNet, ResNetConfig, ZeroPadShortcut, freeze,
                     list_models, unfreeze)
from .verification import (VerifyResult, assert_structure, check_structure, diff_models, record_structure,
                           verify_model)
from .verification.fingerprint import fingerprint
from .weights import load_weights, save_weights

__version__ = "0.1.0"

__all__ = [
    # models
    "ARCHITECTURES", "BasicBlock", "BottleneckBlock", "ResNet", "ResNetConfig", "ZeroPadShortcut", "create_model",
    "list_models", "freeze", "unfreeze", *ARCHITECTURES,  # one builder per architecture: resnet50, ...
    # inspection and verification
    "ParamCount", "count_macs", "count_params", "summarize", "VerifyResult", "fingerprint", "verify_model",
    "record_structure", "check_structure", "assert_structure", "diff_models",
    # weights
    "load_weights", "save_weights",
    # deployment
    "Predictor", "export",
]
