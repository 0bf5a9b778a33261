"""The models: the configuration (``config``) and the table of architectures (``table``), the names of a ResNet's
parts (``stages``), the residual blocks (``blocks``), the network built from a table row (``network``), and
freezing for transfer learning (``transfer``). Nothing here knows about weight files, tracing or verification;
``paddle_resnet.builders`` combines an architecture with its pretrained weights."""

from .blocks import BasicBlock, BottleneckBlock, ZeroPadShortcut
from .config import OPTIONS, TRAINED_FIELDS, ResNetConfig
from .transfer import freeze, unfreeze
from .network import ResNet
from .table import ARCHITECTURES, get_config, list_models

__all__ = ["ARCHITECTURES", "BasicBlock", "BottleneckBlock", "OPTIONS", "ResNet", "ResNetConfig", "TRAINED_FIELDS",
           "ZeroPadShortcut", "freeze", "get_config", "list_models", "unfreeze"]
