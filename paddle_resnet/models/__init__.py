"""The models: the configuration table, the residual blocks, the network built from a table row, the builders,
and freezing for transfer learning (``transfer``). Nothing here knows about weight files, tracing or verification."""

from .blocks import BasicBlock, BottleneckBlock, ZeroPadShortcut
from .builders import BUILDERS, create_model
from .config import OPTIONS, TRAINED_FIELDS, ResNetConfig
from .transfer import freeze, unfreeze
from .network import ResNet
from .table import ARCHITECTURES, get_config, list_models

__all__ = ["ARCHITECTURES", "BUILDERS", "BasicBlock", "BottleneckBlock", "OPTIONS", "ResNet", "ResNetConfig",
           "TRAINED_FIELDS", "ZeroPadShortcut", "create_model", "freeze", "get_config", "list_models", "unfreeze"]
