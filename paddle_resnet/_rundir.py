"""The layout of a training run's directory (``--out``), and which of its checkpoints is the run's model.

A run writes ``last/`` (the checkpoint to resume from) and ``best/`` (the weights of the best validation epoch),
each with ``trainer.json``, and its deployment export under ``export/model``. Training writes the layout and
deployment reads it (``Predictor.from_run``), and deployment may import nothing of training's, so the names and
the one rule "best, else last" live here, in a private helper every layer may import;
``paddle_resnet.training.rundir`` re-exports them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

#: The checkpoint a run resumes from, and the one holding the best validation epoch's weights.
LAST, BEST = "last", "best"
#: The file of every checkpoint that holds its settings, classes and history.
TRAINER_FILE = "trainer.json"
#: Where a run's deployment export is, relative to the run directory (``export/model.json`` and so on).
RUN_EXPORT = os.path.join("export", "model")


def run_model_checkpoint(out) -> Optional[Path]:
    """The checkpoint that is the run's model: ``best/`` (the best validation epoch) if it is complete, else
    ``last/`` (a run without validation has no best); None if ``out`` holds no training run."""
    for name in (BEST, LAST):
        if (Path(out) / name / TRAINER_FILE).is_file():
            return Path(out) / name
    return None


def is_training_run(out) -> bool:
    """Whether ``out`` is a training run's directory (it holds a checkpoint)."""
    return run_model_checkpoint(out) is not None
