"""PaddleClas's own ResNet code, built side by side as an independent reference (never paddle_resnet's).

PaddleClas (https://github.com/PaddlePaddle/PaddleClas) publishes the ResNet-D weights the Paddle ecosystem uses
(``ResNet50_vd`` ...). Its model code is ``ppcls/arch/backbone/legendary_models/resnet.py`` inside the
``paddleclas`` wheel. This module imports *only that file* from an installed ``paddleclas``; it downloads
nothing and copies no PaddleClas code.

Installing. ``pip install paddleclas`` would pull in about 60 packages, among them ``numpy==1.24.4`` (a
downgrade that breaks Paddle 3.x with numpy 2), opencv, faiss and visualdl. The ResNet file needs none of them,
so CI installs the wheel alone: ``pip install --no-deps paddleclas==2.6.0`` (see ``.ci/run``). Without it the
tests that use this module skip and say why.

Importing. ``import paddleclas`` runs the package's ``__init__``, which imports its whole application (cv2,
requests ...), and ``legendary_models/__init__`` imports every other backbone. So the package folders are
registered here as empty stand-in packages (under a private name, so that a real ``import paddleclas`` elsewhere
is not affected) and only the files ``resnet.py`` itself imports are loaded from the wheel: its logger, the
``TheseusLayer`` base class, the ``DiverseBranchBlock`` module, the custom average pool. Its weight-download
helper (``ppcls/utils/save_load.py``, which needs ``requests``) is replaced by a stub that refuses to download.

>>> resnet = load_resnet_module()                                   # doctest: +SKIP
>>> model = resnet.ResNet50_vd(pretrained=False)                    # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import types
from typing import Optional

#: The version the recipe below was written for and checked against (Paddle 2.6.2 and 3.3.1).
TESTED_VERSION = "2.6.0"
INSTALL = f"pip install --no-deps paddleclas=={TESTED_VERSION}"
_ALIAS = "_paddleclas_reference"  # the private package name the files are loaded under

#: PaddleClas constructor -> our table row, for every network both have. ``use_first_short_conv=False`` is
#: PaddleClas's switch for the layout without the first-stage projection (timm's resnet18d/34d).
ROWS = {
    "resnet18_vd": ("ResNet18_vd", {}),
    "resnet34_vd": ("ResNet34_vd", {}),
    "resnet50_vd": ("ResNet50_vd", {}),
    "resnet101_vd": ("ResNet101_vd", {}),
    "resnet152_vd": ("ResNet152_vd", {}),
    "resnet200_vd": ("ResNet200_vd", {}),
    "resnet18d": ("ResNet18_vd", {"use_first_short_conv": False}),
    "resnet34d": ("ResNet34_vd", {"use_first_short_conv": False}),
    "resnet50": ("ResNet50", {}),
    "resnet101": ("ResNet101", {}),
    "resnet152": ("ResNet152", {}),
}
#: PaddleClas has no 3-24-36-3 network; its ResNet class builds one from a config like its own NET_CONFIG rows.
RESNET200D_CONFIG = {"block_type": "BottleneckBlock", "block_depth": [3, 24, 36, 3],
                     "num_channels": [64, 256, 512, 1024]}

_module = None
_reason: Optional[str] = None


def unavailable_reason() -> Optional[str]:
    """``None`` when PaddleClas's ResNet module can be loaded, else why not (for ``pytest.mark.skipif``)."""
    try:
        load_resnet_module()
    except ImportError as error:
        return str(error)
    return None


def load_resnet_module():
    """PaddleClas's ``legendary_models/resnet.py`` as a module, loaded once; ``ImportError`` saying how to install
    it when ``paddleclas`` is missing or cannot be loaded."""
    global _module, _reason
    if _module is not None:
        return _module
    if _reason is not None:
        raise ImportError(_reason)
    try:
        _module = _load()
    except ImportError as error:
        _reason = f"PaddleClas is not available as a reference ({error}); install it with `{INSTALL}`"
        raise ImportError(_reason) from None
    except Exception as error:  # noqa: BLE001  a newer wheel may be laid out differently: say so, do not crash
        _reason = (f"PaddleClas's resnet.py could not be loaded ({type(error).__name__}: {error}); this recipe was "
                   f"written for paddleclas {TESTED_VERSION}: `{INSTALL}`")
        raise ImportError(_reason) from None
    return _module


def build(row: str, **kwargs):
    """PaddleClas's network equivalent to our table row ``row`` (see ``ROWS``), with random weights."""
    resnet = load_resnet_module()
    if row == "resnet200d":
        return resnet.ResNet(config=RESNET200D_CONFIG, stages_pattern=resnet.MODEL_STAGES_PATTERN["ResNet200"],
                             version="vd", **kwargs)
    constructor, options = ROWS[row]
    return getattr(resnet, constructor)(pretrained=False, **options, **kwargs)


def _load():
    spec = importlib.util.find_spec("paddleclas")  # finds the folder without running paddleclas/__init__.py
    if spec is None or spec.origin is None:
        raise ImportError("no module named 'paddleclas'")
    root = os.path.join(os.path.dirname(spec.origin), "ppcls")
    backbone = os.path.join(root, "arch", "backbone")
    # Empty stand-ins for every package on the way whose __init__ would import the rest of PaddleClas.
    for name, path in [("", root), (".utils", os.path.join(root, "utils")), (".arch", os.path.join(root, "arch")),
                       (".arch.backbone", backbone),
                       (".arch.backbone.legendary_models", os.path.join(backbone, "legendary_models"))]:
        _package(_ALIAS + name, path)
    save_load = types.ModuleType(f"{_ALIAS}.utils.save_load")

    def load_dygraph_pretrain(*args, **kwargs):
        raise RuntimeError("the PaddleClas reference never downloads weights")

    save_load.load_dygraph_pretrain = load_dygraph_pretrain
    sys.modules[save_load.__name__] = save_load
    resnet = importlib.import_module(f"{_ALIAS}.arch.backbone.legendary_models.resnet")
    # ResNet.__init__ logs through ppcls's logger, which is None until init_logger runs (PaddleClas's trainer does
    # that); without it building any model raises AttributeError.
    sys.modules[f"{_ALIAS}.utils.logger"].init_logger(name="ppcls_reference", log_level=logging.ERROR)
    return resnet


def _package(name: str, path: str) -> None:
    module = types.ModuleType(name)
    module.__path__ = [path]
    module.__package__ = name
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)
