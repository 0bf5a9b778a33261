"""PaddleClas's ResNet module for tests that compare with it, or a skip that says why it is not there.

The import recipe itself is the reference module ``tests/references/paddleclas.py`` (PaddleClas as an
independent reference: it needs ``pip install --no-deps paddleclas==2.6.0``); this only turns its absence into a
clear skip.
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest


def paddleclas_reference():
    """``references.paddleclas``, or ``pytest.skip`` with the reason it cannot be used."""
    try:
        reference = importlib.import_module("references.paddleclas")
    except ImportError:
        pytest.skip("tests/references/paddleclas.py (PaddleClas's ResNet as a test reference) is not in this checkout")
    reason = reference.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return reference


def paddleclas_backbone(module: str):
    """PaddleClas's backbone module ``module`` (``"model_zoo.ghostnet"``, ``"legendary_models.mobilenet_v3"``),
    loaded from the installed wheel next to the ResNet reference (the same stand-in packages, nothing else of
    PaddleClas imported), or ``pytest.skip``."""
    reference = paddleclas_reference()
    package = f"{reference._ALIAS}.arch.backbone.model_zoo"
    if package not in sys.modules:  # model_zoo/__init__ imports every backbone: an empty stand-in instead
        legendary = sys.modules[f"{reference._ALIAS}.arch.backbone.legendary_models"]
        reference._package(package, os.path.join(os.path.dirname(legendary.__path__[0]), "model_zoo"))
    return importlib.import_module(f"{reference._ALIAS}.arch.backbone.{module}")
