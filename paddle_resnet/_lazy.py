"""Packages that import their modules when a name is first used (PEP 562 module ``__getattr__``).

Importing Paddle takes seconds. With lazy packages, ``import paddle_resnet`` and
``python -m paddle_resnet <command> --help`` cost a fraction of a second, and Paddle is imported by the first
name that needs it (``from paddle_resnet import resnet50`` imports it at once, as before).

Private: every package ``__init__`` uses it the same way::

    __getattr__, __dir__ = lazy_exports(__name__, {".builders": ["create_model", "resnet50"], ...})
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Callable, Dict, Iterable, List, Tuple


def lazy_exports(package: str, exports: Dict[str, Iterable[str]]) -> Tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for the package named ``package``.

    ``exports`` maps a module of the package (relative: ``".builders"``) to the public names it provides. A name
    is imported from its module on first access and then stored in the package, so later lookups are plain
    attribute reads. Any other attribute that is a module of the package (``paddle_resnet.training``) is
    imported on access too, as an eager package would have done.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
        elif not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> List[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
