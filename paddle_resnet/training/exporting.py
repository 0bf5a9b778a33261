"""A training run's model exported for deployment (``<run>/export/model``, which ``Predictor.from_run`` finds)."""

from __future__ import annotations

from pathlib import Path
from typing import List

import paddle

from .._rundir import LAST, RUN_EXPORT, run_model_checkpoint
from ..builders import create_model
from ..deploy.export import METADATA_SUFFIX, export, read_metadata
from . import checkpoint as ckpt
from .factories import model_options


def export_best(export, model, out: Path, input_size: int, classes: List[str]) -> str:
    """Export the best checkpoint's weights (the last ones without validation) with ``paddle_resnet.export``
    to ``out/export/model.*``, with the class names and the evaluation transform; returns the model file."""
    ckpt.load_model_weights(model, run_model_checkpoint(out))
    files = export(model, str(out / RUN_EXPORT), input_size=(3, input_size, input_size), format="paddle",
                   classes=classes)
    return files[-1]


def export_run(path) -> str:
    """Export the training run in ``path`` (its ``--out`` folder) as ``train --export`` does at the end: the best
    checkpoint (the last one without validation) to ``path/export/model.*``, for ``Predictor.from_run``.
    Returns the model file. ``paddle-resnet predict RUN ...`` calls it when the run has no current export.
    """
    out = Path(path)
    source = run_model_checkpoint(out)
    if source is None:
        raise FileNotFoundError(f"{out}: not a training run (no {out / LAST / ckpt.TRAINER_FILE}); give the "
                                "--out folder of a run")
    trainer = ckpt.load_trainer(source)
    settings = trainer["config"]
    if settings.get("normalize", "imagenet") != "imagenet":
        raise NotImplementedError(f"{out}: the run subtracts its training images' mean image (normalize="
                                  f"{settings['normalize']!r}), which an exported model's per-channel "
                                  "normalisation cannot express; evaluate it with its validation in training")
    with paddle.utils.unique_name.guard():
        model = create_model(settings["model"], num_classes=len(trainer["classes"]), **model_options(settings))
    return export_best(export, model, out, settings["input_size"], trainer["classes"])


def needs_export(path) -> bool:
    """Whether ``path`` is a training run whose exported model is missing, or older than the checkpoint it
    would be exported from (the run went on after its last export)."""
    out = Path(path)
    source = run_model_checkpoint(out)
    if source is None:
        return False
    metadata = out / (RUN_EXPORT + METADATA_SUFFIX)
    if read_metadata(str(out / RUN_EXPORT)) is None:
        return True
    return metadata.stat().st_mtime < (source / ckpt.MODEL_FILE).stat().st_mtime

