"""Finding an exported model: the model file a prefix names, the export of a training run or folder."""

from __future__ import annotations

import os
from typing import Optional

from .._checks import check_choice
from .._rundir import RUN_EXPORT, is_training_run
from .export import FORMATS, METADATA_SUFFIX, PROGRAM_SUFFIXES

MODEL_SUFFIXES = (*PROGRAM_SUFFIXES, ".onnx")


def find_export(path: str) -> str:
    """The exported model that ``path`` names: a training run (its ``export/model``), an export folder holding
    one exported model, or an export prefix or model file (returned as it is)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return path
    run_export = os.path.join(path, RUN_EXPORT)
    if any(os.path.isfile(run_export + suffix) for suffix in MODEL_SUFFIXES):
        return run_export
    prefixes = sorted({prefix for prefix in (prefix_of(os.path.join(path, name)) for name in os.listdir(path))
                       if os.path.isfile(prefix + ".onnx") or os.path.isfile(prefix + ".pdiparams")})
    if len(prefixes) == 1:
        return prefixes[0]
    if prefixes:
        raise ValueError(f"{path} holds several exported models ({', '.join(prefixes)}); give the prefix of one")
    if is_training_run(path):
        raise FileNotFoundError(f"{path} is a training run without an exported model ({run_export}.*): export "
                                f"it once with paddle_resnet.training.export_run({path!r}) (the predict command "
                                "does that by itself), or train with --export")
    raise FileNotFoundError(f"no exported model in {path}: expected a training run's {run_export}.* or the files "
                            "of paddle_resnet.export")


def find_model_file(path: str, format: Optional[str] = None) -> str:
    """The model file that ``path`` names: the file itself, or the exported model at that prefix (of ``format``,
    ``"paddle"`` or ``"onnx"``, when both were exported there)."""
    path = os.fspath(path)
    if format is not None:
        check_choice("format", format, FORMATS)
    if path.endswith(MODEL_SUFFIXES) and not path.endswith(METADATA_SUFFIX):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no exported model at {path}")
        return path
    found = [path + suffix for suffix in MODEL_SUFFIXES if os.path.isfile(path + suffix)]
    if not found and not os.path.exists(path):  # most often a run or folder name with a typo
        raise FileNotFoundError(f"{path} does not exist: expected a training run, an export folder, or the prefix "
                                f"of an exported model ({', '.join(path + s for s in MODEL_SUFFIXES)})")
    if not found:
        raise FileNotFoundError(f"no exported model at prefix {path!r}: looked for "
                                f"{', '.join(path + s for s in MODEL_SUFFIXES)} (write one with paddle_resnet.export)")
    if format is not None:
        chosen = [f for f in found if f.endswith(".onnx") == (format == "onnx")]
        if not chosen:
            raise FileNotFoundError(f"no {format} export at prefix {path!r}; found {', '.join(found)}")
        found = chosen
    if len(found) > 1:
        raise ValueError(f"several exported models share the prefix {path!r}: {', '.join(found)}; "
                         "pass format='paddle' or 'onnx' (--model-format on the command line), or the file to run")
    return found[0]


def prefix_of(model_file: str) -> str:
    """``out/resnet50.json`` -> ``out/resnet50``."""
    for suffix in MODEL_SUFFIXES:
        if model_file.endswith(suffix):
            return model_file[:-len(suffix)]
    return model_file

