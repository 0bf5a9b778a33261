"""paddle_resnet: the ResNet family for PaddlePaddle, built from one table and verified against references.

>>> from paddle_resnet import resnet50, count_params
>>> count_params(resnet50()).total
25610152

The names below are imported from their modules when first used (``_lazy``), so ``import paddle_resnet`` and
``python -m paddle_resnet <command> --help`` do not wait for Paddle to load.
"""

import importlib.util as _importlib_util
import warnings as _warnings

# Pillow before Paddle: Paddle 2.6's native library carries its own zlib, and a Pillow loaded after it (10 and
# 13 checked) binds to that copy, then fails to read any PNG ("codec configuration error") and crashes writing one.
try:
    import PIL.Image as _pil_image  # noqa: F401
except ImportError:  # pragma: no cover - Pillow is a dependency of Paddle
    pass

def _started_as_a_command() -> bool:
    """Whether this process is our command line: ``python -m paddle_resnet`` (Python sets ``sys.argv[0]`` to
    ``-m`` while it finds the module), the ``paddle-resnet`` console script, or a checkout's ``scripts/*.py`` (which
    import ``_bootstrap`` first)."""
    import os
    import sys

    first = sys.argv[0] if sys.argv else ""
    return first == "-m" or os.path.basename(first).startswith("paddle-resnet") or "_bootstrap" in sys.modules


if _importlib_util.find_spec("paddle") is None:  # checked without importing Paddle (that takes seconds)
    _MISSING = ("paddle_resnet needs PaddlePaddle, which is not installed. Install the build for your machine: "
                "`pip install paddlepaddle` (CPU) or `pip install paddlepaddle-gpu` (CUDA; see "
                "https://www.paddlepaddle.org.cn/install/quick), or `pip install 'paddle_resnet[cpu]'`.")
    if _started_as_a_command():  # one line on the command line, not a traceback through runpy
        raise SystemExit(f"error: {_MISSING}")
    raise ImportError(_MISSING)

# Paddle warns on import that it found no ccache (a C++ compiler cache, used only when compiling custom C++
# operators). Paddle is imported later, by whichever of our modules needs it first, so the note is filtered
# here: this exact message, from that Paddle module only (it is issued once, while Paddle is imported).
_warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning,
                         module=r"paddle\.utils\.cpp_extension")

from ._lazy import lazy_exports as _lazy_exports  # noqa: E402
from .models.table import ARCHITECTURES  # noqa: E402  (the table itself needs no Paddle)

__version__ = "0.1.0"

__getattr__, __dir__ = _lazy_exports(__name__, {
    "._errors": ["PaddleResNetError"],
    ".catalog": ["list_models"],
    ".analysis": ["ParamCount", "count_macs", "count_params", "summarize"],
    ".builders": ["create_model", *ARCHITECTURES],  # one builder per architecture: resnet50, ...
    ".deploy.export": ["export"],
    ".deploy.predictor": ["Predictor"],
    ".evaluation": ["evaluate", "layer_responses"],
    ".models": ["BasicBlock", "BottleneckBlock", "ResNet", "ResNetConfig", "ZeroPadShortcut", "freeze",
                "unfreeze"],
    ".verification": ["VerifyResult", "assert_structure", "check_structure", "diff_models", "record_structure",
                      "verify_model"],
    ".verification.fingerprint": ["fingerprint"],
    ".weights": ["list_pretrained", "load_weights", "save_weights"],
})

__all__ = [
    # models
    "ARCHITECTURES", "BasicBlock", "BottleneckBlock", "ResNet", "ResNetConfig", "ZeroPadShortcut", "create_model",
    "list_models", "freeze", "unfreeze", *ARCHITECTURES,  # one builder per architecture: resnet50, ...
    # inspection and verification
    "ParamCount", "count_macs", "count_params", "summarize", "VerifyResult", "fingerprint", "verify_model",
    "record_structure", "check_structure", "assert_structure", "diff_models",
    # weights
    "list_pretrained", "load_weights", "save_weights",
    # deployment
    "Predictor", "export",
    # evaluation
    "evaluate", "layer_responses",
    # errors
    "PaddleResNetError",
]
