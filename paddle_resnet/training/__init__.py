"""Train or fine-tune a ResNet on an image folder: ``train(TrainConfig(data=..., model=...))``.

The command line ``python -m paddle_resnet train`` (also ``scripts/train.py``) is a thin layer over this;
``docs/training.md`` explains the whole workflow.

* ``config``: ``TrainConfig``, the settings of a run and what a resumed run may change;
* ``data``: checking an image folder, splitting it, loading it in a reproducible order;
* ``checkpoint``: atomic checkpoint directories, resume state;
* ``distributed``: data-parallel helpers for ``paddle.distributed.launch``;
* ``report``: progress line, ``metrics.csv``, ``metrics.png``;
* ``loop``: ``train`` itself.
"""

from .checkpoint import find_checkpoint, load_trainer
from .config import TrainConfig, resume_config
from .data import BadDataError, ImageFolder
from .loop import TrainResult, evaluate, train

__all__ = ["BadDataError", "ImageFolder", "TrainConfig", "TrainResult", "evaluate", "find_checkpoint",
           "load_trainer", "resume_config", "train"]
