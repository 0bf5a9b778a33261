"""Structural checks for any model, against a golden file of your own: ``record_structure``, ``check_structure``
and, for tests, ``assert_structure``.

A golden file records a model's structure once, deliberately; CI then checks that the model still has it, and a
failure says which layers changed and how. Nothing writes a golden file implicitly: only ``record_structure``,
``assert_structure`` with ``PADDLE_RESNET_UPDATE_GOLDEN=1`` set, or ``verify --update``.

>>> import tempfile, os
>>> from paddle_resnet import resnet18
>>> path = os.path.join(tempfile.mkdtemp(), "structure.json")
>>> record_structure(resnet18(num_classes=2), path, (1, 3, 64, 64), name="classifier")  # a new entry: None
>>> check_structure(resnet18(num_classes=2), path).ok
True
>>> print(check_structure(resnet18(num_classes=3), path).report())  # doctest: +ELLIPSIS
classifier: MISMATCH at input [1, 3, 64, 64] (train mode)
  macs: 148046848 -> 148047360
  ...
  1 layer row differs from the golden entry:
    fc: features [512, 2] -> [512, 3]; params 1026 -> 1539; output shape [1, 2] -> [1, 3]
  values: the first row whose values differ is fc ...
"""

from __future__ import annotations

import datetime
import os
import warnings
from pathlib import Path
from typing import Optional

from .golden import GoldenFileError, golden_entry, load_golden, new_golden, update_entry, write_golden
from .verify import VerifyResult, check_entry

#: Set to 1 to make ``assert_structure`` record the structure instead of checking it (a deliberate update).
UPDATE_ENV = "PADDLE_RESNET_UPDATE_GOLDEN"
_ABOUT = ("Structural golden values recorded by paddle_resnet (record_structure, or `python -m paddle_resnet verify "
          "--model ... --update`); check them with check_structure or `python -m paddle_resnet verify --model ... "
          "--golden THIS_FILE`. See paddle_resnet's docs/verification.md.")


def record_structure(model, path, input_size=None, name: Optional[str] = None, source: Optional[str] = None,
                     values: Optional[bool] = None, mode: Optional[str] = None):
    """Record ``model``'s structure and what it computes (the value digests of every row, ``values.py``) as entry
    ``name`` of the golden file ``path`` (created if missing; other entries are kept). Writes atomically.

    Args:
        model: any ``paddle.nn.Layer`` (built under ``paddle.LazyGuard()`` is fine and fast).
        path: the golden file, e.g. ``tests/golden/my_model.json`` in your repository.
        input_size: ``(batch, channels, height, width)``; needed for a new entry, else the entry's is kept.
        name: the entry's name; default the model's class name.
        source: what the values come from, stored with them; default says this function recorded them.
        values: ``False`` records the structure only (for a model too large to run; its check then says values
            were not checked); default on for a new entry, the entry's choice for an existing one.
        mode: ``"eval"`` or ``"train"``, the mode the model is checked in; default the entry's, else the model's
            own (a freshly built model is in train mode: BatchNorm on batch statistics).

    Returns:
        ``None`` for a new entry, else the ``(metric, old, new)`` changes (empty if nothing changed).
    """
    path = Path(path)
    golden = load_golden(path) if path.exists() else new_golden(_ABOUT)
    name = name or type(model).__name__
    source = source or (f"recorded from {type(model).__module__}.{type(model).__name__} by "
                        f"paddle_resnet.record_structure on {datetime.date.today().isoformat()}")
    changes = update_entry(golden, name, model, source, input_size, mode, values)
    path.parent.mkdir(parents=True, exist_ok=True)  # tests/golden/ in a repository that has none yet
    write_golden(golden, path)
    return changes


def check_structure(model, path, name: Optional[str] = None, input_size=None) -> VerifyResult:
    """Check ``model`` against entry ``name`` of the golden file ``path`` (the only entry when ``name`` is
    omitted and the file has one, else the model's class name). Returns the ``VerifyResult`` that
    ``verify_model`` returns: ``.ok``, ``.mismatches``, ``.differences`` and ``.report()``."""
    golden = _load(path)
    name = name or _default_name(golden, model)
    return check_entry(model, golden_entry(name, golden), name, input_size)


def assert_structure(model, path, name: Optional[str] = None, input_size=None,
                     update: Optional[bool] = None) -> VerifyResult:
    """``check_structure`` for tests: raises ``AssertionError`` whose message is the localised report.

    With ``update=True``, or the environment variable ``PADDLE_RESNET_UPDATE_GOLDEN=1`` (``update=None``), it
    records the structure instead (``record_structure``), for a deliberate update; review the file's diff before
    committing it.

    >>> import tempfile, os
    >>> from paddle_resnet import resnet18
    >>> path = os.path.join(tempfile.mkdtemp(), "structure.json")
    >>> _ = assert_structure(resnet18(), path, input_size=(1, 3, 64, 64), update=True)  # records
    >>> assert_structure(resnet18(), path).ok
    True
    """
    __tracebackhide__ = True  # pytest shows the report, not this function's source
    if update is None:
        update = os.environ.get(UPDATE_ENV, "").strip().lower() in ("1", "true", "yes")
    if update:
        path = Path(path)
        if not name and path.exists():
            name = _default_name(_load(path), model)
        changes = record_structure(model, path, input_size, name)
        # A warning, so that pytest lists it in its summary even for a passing test (it captures what is printed).
        warnings.warn(GoldenFileUpdated(_changes_text(path, name or type(model).__name__, changes)), stacklevel=2)
    try:
        result = check_structure(model, path, name, input_size)
    except GoldenFileError as error:
        raise AssertionError(f"{error}\nTo record it deliberately, run this test once with {UPDATE_ENV}=1 set.") \
            from None
    if not result.ok:
        raise AssertionError(f"{result.report()}\nIf this change is intended, re-record the golden file: run the "
                             f"test with {UPDATE_ENV}=1 set and review the file's diff.")
    return result


class GoldenFileUpdated(UserWarning):
    """What ``assert_structure`` rewrote in a golden file when ``PADDLE_RESNET_UPDATE_GOLDEN=1`` is set."""


def _changes_text(path, name: str, changes) -> str:
    """``golden/mine.json, entry 'mine': 1 change: macs 1 -> 2``: what a deliberate update rewrote."""
    if changes is None:
        return f"{UPDATE_ENV}=1: recorded the new entry {name!r} in {path}"
    listed = "; ".join(f"{metric} {'absent' if old is None else old} -> {'absent' if new is None else new}"
                       for metric, old, new in changes[:5]) + (f"; and {len(changes) - 5} more" if changes[5:] else "")
    count = f"{len(changes)} change{'s' if len(changes) != 1 else ''}"
    return f"{UPDATE_ENV}=1: entry {name!r} in {path}: {count}" + (f": {listed}" if changes else " (the same values)")


def _load(path) -> dict:
    if not Path(path).exists():
        raise GoldenFileError(f"golden file {path} not found; record it first with record_structure(model, "
                              f"{str(path)!r}, input_size) or `python -m paddle_resnet verify --model MODULE:FACTORY "
                              f"--golden {path} --update --input-size ...`")
    return load_golden(path)


def _default_name(golden: dict, model) -> str:
    entries = list(golden["architectures"])
    return entries[0] if len(entries) == 1 else type(model).__name__
