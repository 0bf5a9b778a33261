"""Golden files: recorded structural values, each with where it came from.

The package's own file lives in ``tests/golden/architectures.json`` (where reviewers look for it) and ships inside
the package as ``paddle_resnet/golden/`` so that verification works from an installed copy too. Users keep files
of the same format for their own models (``record_structure``). See ``docs/verification.md``.

Format 4 (this version): ``{"format": 4, "about": ..., "architectures": {name: {"input_size", "mode", "values",
"outputs", "sources"}}}``. ``values`` holds the structural fingerprint (``fingerprint.py``), ``layers`` included,
one row per line, so that a change to one layer changes a few lines of a diff; ``mode`` is the mode (``eval`` or
``train``) the model is checked in; ``outputs`` the value digests of every row (``values.py``), ``null`` where
values are switched off; ``sources`` says, for every value, where it came from. ``entry_problem`` checks an entry
against this format (every table present, every value of its type), so a damaged entry is an error, never a check
with something left out.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import List, Optional, Tuple

from .._checks import is_int, normalize_input_size
from .._files import atomic_write_text
from .._progress import counted
from ..analysis.trace import Row, paused_gc
from .compare import compare_rows, summarize_row
from .fingerprint import LAYERS, flatten_metrics, measure
from .values import DIGEST_SIZE, MODES, RTOL
from .._errors import PaddleResNetError

FORMAT = 4
#: What each format changed, for the error an old file gets.
_FORMATS = {1: "format 1 kept a digest of the layers instead of the rows that locate a change",
            2: "format 2 recorded neither the mode (train or eval) nor what the model computes (the value digests)",
            3: "format 3's value digests were computed with weights seeded another way, so they cannot be compared"}


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
        with open(path, "rb") as file:
            content = file.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise GoldenFileError(f"golden file {path} is larger than {MAX_BYTES // 2**20} MB, far more than a golden "
                                  "file holds; restore it from git")
        with paused_gc():
            data = json.loads(content)
    except RecursionError:
        raise GoldenFileError(f"golden file {path} is nested too deeply to be a golden file; restore it from "
                              "git") from None
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


#: The largest golden file read (the package's own is a few megabytes; this bounds what a damaged one costs).
MAX_BYTES = 64 * 2**20
#: The largest input a golden entry may ask to trace at (elements of the input tensor): a damaged size must not
#: make a check allocate gigabytes.
MAX_INPUT_ELEMENTS = 2**26
#: The keys every entry's ``values`` holds (``stage_shapes`` only for models with ResNet parts).
REQUIRED_VALUES = ("params", "macs", "output_shape", "layer_counts", LAYERS)


def entry_problem(entry) -> Optional[str]:
    """What is wrong with one golden entry against its format, or ``None``; the message names the key.

    An entry is ``{"input_size": [4 positive ints], "mode": "eval" | "train", "values": {...}, "outputs":
    {...} | null, "sources": {key: text}}``; ``values`` holds every table of ``REQUIRED_VALUES`` with its type
    (a table missing is damage, not "nothing to compare"); ``outputs`` the value digests (``values.py``), or
    ``null`` where values are switched off."""
    if not isinstance(entry, dict):
        return f"expected an object, got {type(entry).__name__}"
    missing = [key for key in ("input_size", "mode", "values", "outputs", "sources") if key not in entry]
    if missing:
        return f"no {', '.join(missing)}"
    problem = _size_problem("input_size", entry["input_size"])
    if problem:
        return problem
    if entry["mode"] not in MODES:
        return f"mode is {_short(entry['mode'])}, expected one of {', '.join(map(repr, MODES))}"
    for key in ("values", "sources"):
        if not isinstance(entry[key], dict):
            return f"{key} is {_kind(entry[key])}, expected an object"
    values = entry["values"]
    missing = [key for key in REQUIRED_VALUES if key not in values]
    if missing:
        return f"values has no {', '.join(missing)} table"
    checks = (("params", _is_counts), ("macs", _is_count), ("output_shape", _is_shape),
              ("layer_counts", _is_counts), ("stage_shapes", lambda v: isinstance(v, dict) and all(
                  _is_shape(s) for s in v.values())), (LAYERS, lambda v: isinstance(v, list)))
    for key, valid in checks:
        if key in values and not valid(values[key]):
            return f"values.{key} is {_short(values[key])}, which is not {_EXPECTED[key]}"
    for index, row in enumerate(values[LAYERS]):
        if not _is_row(row):
            return f"values.{LAYERS}[{index}] is {_short(row)}, expected [id, type, inputs, shape, params, settings]"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in entry["sources"].items()):
        return "sources holds a value that is not a text"
    return _outputs_problem(entry["outputs"])


_EXPECTED = {"params": "an object of non-negative integers", "macs": "a non-negative integer",
             "output_shape": "a shape (a list of non-negative integers)",
             "layer_counts": "an object of non-negative integers", "stage_shapes": "an object of shapes",
             LAYERS: "a list of rows"}


def _is_count(value) -> bool:
    return is_int(value) and value >= 0


def _is_counts(value) -> bool:
    return isinstance(value, dict) and all(_is_count(v) for v in value.values())


def _is_shape(value, depth: int = 0) -> bool:
    """A shape, or a list of shapes for a layer with several outputs."""
    return isinstance(value, list) and depth < 4 and (
        all(_is_count(d) for d in value) or all(_is_shape(v, depth + 1) for v in value))


def _is_row(row) -> bool:
    return (isinstance(row, list) and len(row) == 6 and isinstance(row[0], str) and isinstance(row[1], str)
            and isinstance(row[2], list) and (row[3] == [] or _is_shape(row[3]) or isinstance(row[3], dict))
            and _is_count(row[4]) and isinstance(row[5], dict))


def _outputs_problem(outputs) -> Optional[str]:
    if outputs is None:
        return None
    if not isinstance(outputs, dict) or set(outputs) != {"dtype", "input_size", "rows"}:
        return f"outputs is {_short(outputs)}, expected null or an object with dtype, input_size and rows"
    if outputs["dtype"] not in RTOL:
        return f"outputs.dtype is {_short(outputs['dtype'])}, expected one of {', '.join(map(repr, RTOL))}"
    problem = _size_problem("outputs.input_size", outputs["input_size"])
    if problem or not isinstance(outputs["rows"], list):
        return problem or f"outputs.rows is {_kind(outputs['rows'])}, expected a list"
    for index, row in enumerate(outputs["rows"]):
        if not (isinstance(row, list) and len(row) == 2 and isinstance(row[0], str) and (row[1] is None or (
                isinstance(row[1], list) and row[1] and len(row[1]) % DIGEST_SIZE == 0
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                        for v in row[1])))):
            return (f"outputs.rows[{index}] is {_short(row)}, expected [row id, null or {DIGEST_SIZE} finite "
                    "numbers per tensor]")
    return None


def _size_problem(key: str, size) -> Optional[str]:
    if not (isinstance(size, list) and len(size) == 4 and all(is_int(d) and d > 0 for d in size)):
        return f"{key} is {_short(size)}, expected 4 positive integers (batch, channels, height, width)"
    if math.prod(size) > MAX_INPUT_ELEMENTS:
        return f"{key} {size} asks for more than {MAX_INPUT_ELEMENTS:,} input elements"
    return None


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _short(value) -> str:
    """``value`` as JSON, cut to 60 characters (a damaged entry's value may be huge), and its kind."""
    text = json.dumps(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{_kind(value)} ({text})"


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


def update_entry(golden: dict, name: str, model, recorded_by: str, input_size=None, mode: Optional[str] = None,
                 values: Optional[bool] = None) -> Optional[List[Tuple[str, object, object]]]:
    """Record ``model``'s fingerprint as the golden entry ``name`` in the loaded ``golden`` data (in memory;
    ``write_golden`` saves it). The input size is ``input_size``, else the entry's, else (a new entry) the
    model's default if it has one (``model.config.input_size``); the mode ``mode``, else the entry's, else the
    model's own (a freshly built model is in ``train`` mode); ``values`` (the value digests) on unless ``False``
    or the entry has them switched off.

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
    mode = mode or (entry["mode"] if entry else "train" if model.training else "eval")
    if values is None:
        values = not entry or entry["outputs"] is not None
    kept = entry and entry["outputs"] and entry["input_size"] == list(size)
    measured = measure(model, size, mode, values, value_size=entry["outputs"]["input_size"] if kept else None)
    new = measured.entry()
    sources = dict(entry["sources"]) if entry else {}
    for key, value in new["values"].items():
        if not entry or value != entry["values"].get(key):
            sources[key] = recorded_by
    if not entry or new["outputs"] != entry["outputs"]:
        sources["outputs"] = recorded_by if values else VALUES_OFF
    golden["architectures"][name] = {**new, "sources": sources}
    if not entry:
        return None
    old, now = flatten_metrics(entry["values"]), flatten_metrics(new["values"])
    changes = [(m, old.get(m), now.get(m)) for m in sorted(set(old) | set(now)) if old.get(m) != now.get(m)]
    if entry["mode"] != mode:
        changes.append(("mode", entry["mode"], mode))
    if entry["values"].get(LAYERS) != new["values"][LAYERS]:
        rows = compare_rows([Row.from_list(r) for r in entry["values"].get(LAYERS, [])],
                            [Row.from_list(r) for r in new["values"][LAYERS]])
        changes += [(f"{LAYERS}: {d.where}", *_sides(d)) for d in rows]
    if entry["outputs"] != new["outputs"]:
        changes.append(("outputs", _describe_outputs(entry["outputs"]), _describe_outputs(new["outputs"])))
    return changes


#: The source of an entry whose values are switched off.
VALUES_OFF = "values switched off for this entry (recorded with values=False): its check compares the structure only"


def _describe_outputs(outputs) -> str:
    if outputs is None:
        return "values off"
    return f"{counted(len(outputs['rows']), 'value row')} ({outputs['dtype']}, at {outputs['input_size']})"


def _sides(difference) -> Tuple[str, str]:
    if difference.change == "removed":
        return summarize_row(difference.expected), "(removed)"
    if difference.change == "added":
        return "(none)", summarize_row(difference.actual)
    return tuple("; ".join(f"{name} {json.dumps(values[side])}" for name, values in difference.attributes.items())
                 for side in (0, 1))
