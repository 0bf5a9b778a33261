"""The golden file: the recorded structural values of every architecture, each with where it came from.

It lives in ``tests/golden/architectures.json`` (where reviewers look for it) and ships inside the package as
``paddle_resnet/golden/`` so that verification works from an installed copy too. See ``docs/verification.md``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import List, Optional, Tuple

from .._checks import normalize_input_size
from .._files import atomic_write_text
from .fingerprint import fingerprint, flatten_metrics


class GoldenFileError(Exception):
    """The golden file is missing, unreadable, or has no entry for the requested architecture."""


def default_golden_path() -> Path:
    """The golden file: ``$PADDLE_RESNET_GOLDEN``, the copy inside an installed package, or the checkout's."""
    if os.environ.get("PADDLE_RESNET_GOLDEN"):
        return Path(os.environ["PADDLE_RESNET_GOLDEN"])
    package = Path(__file__).parents[1]
    packaged = package / "golden" / "architectures.json"
    return packaged if packaged.exists() else package.parent / "tests" / "golden" / "architectures.json"


def load_golden(path: Optional[os.PathLike] = None) -> dict:
    """Read and sanity-check the golden file; ``GoldenFileError`` says what is wrong and what to do."""
    path = Path(path) if path is not None else default_golden_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GoldenFileError(f"golden file {path} not found; pass its path, set PADDLE_RESNET_GOLDEN, or restore "
                              "tests/golden/architectures.json from git") from None
    except (OSError, ValueError) as error:
        raise GoldenFileError(f"golden file {path} is not readable JSON ({error}); restore it from git") from None
    if not isinstance(data, dict) or not isinstance(data.get("architectures"), dict):
        raise GoldenFileError(f"golden file {path} has no 'architectures' table; restore it from git")
    # A damaged entry is reported when it is used (golden_entry), not here: `--update` must be able to load the
    # file to repair it.
    data["path"] = str(path)
    return data


def golden_entry(name: str, golden: Optional[dict] = None) -> dict:
    """The golden entry for ``name``; ``GoldenFileError`` if the file has none or a damaged one."""
    golden = golden if golden is not None else load_golden()
    where = golden.get("path", "the golden file")
    if name not in golden["architectures"]:
        raise GoldenFileError(f"no golden values for {name!r} in {where}; "
                              f"record them with `scripts/verify.py --update {name}` (see docs/verification.md)")
    entry = golden["architectures"][name]
    problem = entry_problem(entry)
    if problem:
        raise GoldenFileError(f"golden entry {name!r} in {where} is damaged ({problem}); restore it from git or "
                              f"rewrite it with `scripts/verify.py --update {name}`")
    return entry


def entry_problem(entry) -> Optional[str]:
    """What is wrong with the layout of one golden entry, or ``None``: an object with an ``input_size`` (3 or 4
    positive ints), ``values`` and ``sources`` (objects). The values themselves are what verification compares."""
    if not isinstance(entry, dict):
        return f"expected an object, got {type(entry).__name__}"
    missing = [key for key in ("input_size", "values", "sources") if key not in entry]
    if missing:
        return f"no {', '.join(missing)}"
    try:
        normalize_input_size(entry["input_size"])
    except ValueError as error:
        return str(error)
    for key in ("values", "sources"):
        if not isinstance(entry[key], dict):
            return f"{key} is {type(entry[key]).__name__}, expected an object"
    return None


def write_golden(data: dict, path: Optional[os.PathLike] = None) -> Path:
    """Write the golden file atomically (a temporary file in the same folder, then a rename)."""
    path = Path(path) if path is not None else Path(data.get("path") or default_golden_path())
    content = {key: value for key, value in data.items() if key != "path"}
    # One line per shape or count list keeps the file readable and its diffs short.
    text = re.sub(r"\[\s+([-\d,\s]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]",
                  json.dumps(content, indent=1))
    atomic_write_text(path, text + "\n")
    return path


def update_entry(golden: dict, name: str, model, recorded_by: str) -> Optional[List[Tuple[str, object, object]]]:
    """Record ``model``'s fingerprint as the golden entry ``name`` in the loaded ``golden`` data (in memory;
    ``write_golden`` saves it). The input size stays the entry's, or is the model's default for a new entry.

    Values that change get ``recorded_by`` as their source; unchanged values keep theirs. Returns the
    ``(metric, old, new)`` changes, or ``None`` for a new entry. A damaged entry (``entry_problem``) is
    replaced as a new one.
    """
    entry = golden["architectures"].get(name)
    if entry is not None and entry_problem(entry):
        entry = None
    size = entry["input_size"] if entry else list(model.config.input_size)
    values = fingerprint(model, size)
    old = flatten_metrics(entry["values"]) if entry else {}
    new = flatten_metrics(values)
    sources = dict(entry["sources"]) if entry else {}
    for key in values:
        if not entry or flatten_metrics({key: values[key]}) != flatten_metrics({key: entry["values"].get(key)}):
            sources[key] = recorded_by
    golden["architectures"][name] = {"input_size": list(size), "values": values, "sources": sources}
    if not entry:
        return None
    return [(m, old.get(m), new.get(m)) for m in sorted(set(old) | set(new)) if old.get(m) != new.get(m)]
