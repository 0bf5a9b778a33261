"""The models: the configuration (``config``) and the table of architectures (``table``), the names of a ResNet's
parts (``stages``), the residual blocks (``blocks``), the network built from a table row (``network``), and
freezing for transfer learning (``transfer``). Nothing here knows about weight files, tracing or verification;
``paddle_resnet.builders`` combines an architecture with its pretrained weights.

``config``, ``table`` and ``stages`` need no Paddle; the layers are imported when first used (``_lazy``)."""

from .._lazy import lazy_exports
from .config import OPTIONS, TRAINED_FIELDS, ResNetConfig
from .table import ARCHITECTURES, get_config, list_models

__getattr__, __dir__ = lazy_exports(__name__, {
    ".blocks": ["BasicBlock", "BottleneckBlock", "ZeroPadShortcut"],
    ".network": ["ResNet"],
    ".transfer": ["freeze", "unfreeze"],
})

__all__ = ["ARCHITECTURES", "BasicBlock", "BottleneckBlock", "OPTIONS", "ResNet", "ResNetConfig", "TRAINED_FIELDS",
           "ZeroPadShortcut", "freeze", "get_config", "list_models", "unfreeze"]
