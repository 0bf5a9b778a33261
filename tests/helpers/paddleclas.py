"""PaddleClas's ResNet module for tests that compare with it, or a skip that says why it is not there.

The import recipe itself is the reference module ``tests/references/paddleclas.py`` (PaddleClas as an
independent reference: it needs ``pip install --no-deps paddleclas==2.6.0``); this only turns its absence into a
clear skip.
"""

from __future__ import annotations

import importlib

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
