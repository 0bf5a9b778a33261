"""Which architectures of a parametrized test run in the fast tier.

A test that runs over many architectures keeps, in the fast tier (``python -m pytest``), one architecture of each
kind of block, stem and shortcut: together they take every code path of the model (basic and bottleneck blocks,
grouped convolutions, the CIFAR stem with option-A shortcuts, the deep stem with average-pool shortcuts, the
first-stage projection of PaddleClas's layout). The others differ from those only in depth or width, and run
with ``--runslow`` (as CI does).
"""

from __future__ import annotations

from typing import Iterable, List

import pytest

#: One architecture of each kind (see the module docstring).
REPRESENTATIVES = ("resnet18", "resnet50", "resnext50_32x4d", "resnet20", "resnet18d", "resnet18_vd", "resnet50_vd")


def representatives(names: Iterable, fast: Iterable = REPRESENTATIVES) -> List:
    """``names`` as ``parametrize`` values: those in ``fast`` run in the fast tier, the others are marked slow."""
    fast = set(fast)
    return [name if name in fast else pytest.param(name, marks=pytest.mark.slow) for name in names]
