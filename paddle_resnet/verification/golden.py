"""Golden files: recorded structural values, each with where it came from.

The package's own file lives in ``tests/golden/architectures.json`` (where reviewers look for it) and ships inside
the package as ``paddle_resnet/golden/`` so that verification works from an installed copy too. Users keep files
of the same format for their own models (``record_structure``). See ``docs/verification.md``.

Format 2 (this version): ``{"format": 2, "about": ..., "architectures": {name: {"input_size", "values",
"sources"}}}``. ``values`` holds the fingerprint (``fingerprint.py``), ``layers`` included, one row per line, so
that a change to one layer changes a few lines of a diff; ``sources`` says, for every value, where it came from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional, Tuple

from .._checks import normalize_input_size
from .._files import atomic_write_text
from ..analysis.trace import Row, paused_gc
from .compare import compare_rows, summarize_row
from .fingerprint import LAYERS, fingerprint_and_rows, flatten_metrics
from .._errors import PaddleResNetError

FORMAT = 2
#: What each format changed, for the error an old file gets.
_FORMATS = {1: "format 1 kept a digest of the layers instead of the rows that locate a change"}


class GoldenFileError(PaddleResNetError):
    """The golden file is missing, unreadable, of an old format, or has no entry for the requested model."""


def default_golden_path() -> Path:
    """The golden file: ``$PADDLE_RESNET_GOLDEN``, the copy inside an installed package, or the checkout's."""
    if os.environ.get("PADDLE_RESNET_GOLDEN"):
        return Path(os.environ["PADDLE_RESNET_GOLDEN"])
    package = Path(__file__).parents[1]
    packaged = package / "golden" / "architectures.json"
    return packaged if packaged.exists() else package.parent / "tests" / "golden" / "architectures.json"


def new_golden(about: str) -> dict:
    """An empty golden file's data (``write_golden`` saves it)."""
    return {"format": FORMAT, "about": about, "architectures": {}}


def load_golden(path: Optional[os.PathLike] = None) -> dict:
    """Read and sanity-check a golden file; ``GoldenFileError`` says what is wrong and what to do."""
    path = Path(path) if path is not None else default_golden_path()
    try:
        with paused_gc():
            data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GoldenFileError(f"golden file {path} not found; pass its path, set PADDLE_RESNET_GOLDEN, or restore "
                              "tests/golden/architectures.json from git") from None
    except (OSError, ValueError) as error:
        raise GoldenFileError(f"golden file {path} is not readable JSON ({error}); restore it from git") from None
    if not isinstance(data, dict) or not isinstance(data.get("architectures"), dict):
        raise GoldenFileError(f"golden file {path} has no 'architectures' table; restore it from git")
    if data.get("format") != FORMAT:
        why = _FORMATS.get(data.get("format"), "it is not a format this version knows")
        raise GoldenFileError(
            f"golden file {path} has format {data.get('format')!r}, and this version of paddle_resnet reads format "
            f"{FORMAT} ({why}). Record it again: `python tests/make_golden.py` for the package's own file; for a "
            "file of your own models, `python -m paddle_resnet verify --model MODULE:FACTORY --golden FILE "
            "--update` or record_structure() (see docs/verification.md)")
    # A damaged entry is reported when it is used (golden_entry), not here: `--update` must be able to load the
    # file to repair it.
    data["path"] = str(path)
    return data


def golden_entry(name: str, golden: Optional[dict] = None) -> dict:
    """The golden entry for ``name``; ``GoldenFileError`` if the file has none or a damaged one."""
    golden = golden if golden is not None else load_golden()
    where = golden.get("path", "the golden file")
    if name not in golden["architectures"]:
        known = ", ".join(sorted(golden["architectures"])) or "none"
        raise GoldenFileError(f"no golden values for {name!r} in {where} (entries: {known}); record them "
                              "deliberately (see docs/verification.md)")
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
    """Write a golden file atomically (a temporary file in the same folder, then a rename)."""
    path = Path(path) if path is not None else Path(data.get("path") or default_golden_path())
    content = {key: value for key, value in data.items() if key != "path"}
    atomic_write_text(path, _dump(content) + "\n")
    return path


def _dump(value, indent: int = 0) -> str:
    """JSON that reads well in a diff: objects one key per line, a list of lists (the layer rows) one item per
    line, every other list (a shape, a row) on one line."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        items = (f"{pad} {json.dumps(key)}: {_dump(item, indent + 1)}" for key, item in value.items())
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
        return "[\n" + ",\n".join(f"{pad} {json.dumps(item)}" for item in value) + f"\n{pad}]"
    return json.dumps(value)


def update_entry(golden: dict, name: str, model, recorded_by: str,
                 input_size=None) -> Optional[List[Tuple[str, object, object]]]:
    """Record ``model``'s fingerprint as the golden entry ``name`` in the loaded ``golden`` data (in memory;
    ``write_golden`` saves it). The input size is ``input_size``, else the entry's, else (a new entry) the
    model's default if it has one (``model.config.input_size``).

    Values that change get ``recorded_by`` as their source; unchanged values keep theirs. Returns the
    ``(metric, old, new)`` changes (a changed layer row as ``("layers: <id>", old, new)``), or ``None`` for a
    new entry. A damaged entry (``entry_problem``) is replaced as a new one.
    """
    entry = golden["architectures"].get(name)
    if entry is not None and entry_problem(entry):
        entry = None
    if input_size is not None:
        size = normalize_input_size(input_size)
    elif entry:
        size = entry["input_size"]
    elif hasattr(getattr(model, "config", None), "input_size"):
        size = list(model.config.input_size)
    else:
        raise ValueError(f"a new golden entry {name!r} needs an input size, e.g. input_size=(1, 3, 224, 224)")
    values, _ = fingerprint_and_rows(model, size)
    sources = dict(entry["sources"]) if entry else {}
    for key in values:
        if not entry or values[key] != entry["values"].get(key):
            sources[key] = recorded_by
    golden["architectures"][name] = {"input_size": list(size), "values": values, "sources": sources}
    if not entry:
        return None
    old, new = flatten_metrics(entry["values"]), flatten_metrics(values)
    changes = [(m, old.get(m), new.get(m)) for m in sorted(set(old) | set(new)) if old.get(m) != new.get(m)]
    if entry["values"].get(LAYERS) != values[LAYERS]:
        rows = compare_rows([Row.from_list(r) for r in entry["values"].get(LAYERS, [])],
                            [Row.from_list(r) for r in values[LAYERS]])
        changes += [(f"{LAYERS}: {d.where}", *_sides(d)) for d in rows]
    return changes


def _sides(difference) -> Tuple[str, str]:
    if difference.change == "removed":
        return summarize_row(difference.expected), "(removed)"
    if difference.change == "added":
        return "(none)", summarize_row(difference.actual)
    return tuple("; ".join(f"{name} {json.dumps(values[side])}" for name, values in difference.attributes.items())
                 for side in (0, 1))
