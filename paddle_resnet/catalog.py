"""Which architectures there are: ``list_models(pattern, pretrained=...)``, as timm's ``list_models`` filters.

Beside ``builders`` (it sits above ``models`` and ``weights``), but without Paddle: listing names must not wait
seconds for Paddle to load (``--help`` texts list them).
"""

from __future__ import annotations

import fnmatch
from typing import List, Union

from .models import table
from .weights.official import VARIANTS
from .weights.pretrained import pretrained_cfg_for


def list_models(pattern: str = "*", pretrained: Union[bool, str] = False) -> List[str]:
    """Names of the architectures that match ``pattern`` (shell-style, as ``fnmatch``: ``"resnet50*"``,
    ``"*_vd"``), in natural order; with ``pretrained=True`` only those with published weights that
    ``create_model(name, pretrained=True)`` downloads (``pretrained="ssld"``: PaddleClas's distilled ones).

    >>> list_models("resnet50*")
    ['resnet50', 'resnet50_vd']
    >>> list_models("*_vd", pretrained="ssld")
    ['resnet34_vd', 'resnet50_vd', 'resnet101_vd']
    """
    if not isinstance(pattern, str):
        raise TypeError(f"pattern={pattern!r}: expected a string such as 'resnet50*'")
    if pretrained not in (True, False, *VARIANTS):
        raise ValueError(f"pretrained={pretrained!r}: expected True, False or {', '.join(map(repr, VARIANTS))}")
    names = [name for name in table.list_models() if fnmatch.fnmatchcase(name, pattern)]
    return [name for name in names if has_pretrained(name, pretrained)] if pretrained else names


def has_pretrained(name: str, variant: Union[bool, str] = True) -> bool:
    """Whether published weights of ``variant`` exist for architecture ``name``: a record of
    ``weights/pretrained.py`` (``list_pretrained``) says so."""
    return pretrained_cfg_for(name, variant) is not None
