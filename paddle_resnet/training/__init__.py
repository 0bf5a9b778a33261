"""Train or fine-tune a ResNet on an image folder: ``train(TrainConfig(data=..., model=...))``.

The command line ``python -m paddle_resnet train`` (also ``scripts/train.py``) is a thin layer over this;
``docs/training.md`` explains the whole workflow.

* ``config``: ``TrainConfig``, the settings of a run and what a resumed run may change;
* ``data``: checking an image folder, splitting it, loading it in a reproducible order;
* ``checkpoint``: atomic checkpoint directories, resume state;
* ``distributed``: data-parallel helpers for ``paddle.distributed.launch``;
* ``report``: progress line, ``metrics.csv``, ``metrics.png``;
* ``datasets``: a run's checked training and validation images (image folder or CIFAR archive) and loaders;
* ``factories``: the model, learning-rate schedule and optimizer a run's settings build;
* ``exporting``: a run's best model exported for deployment (``export_run``, ``needs_export``);
* ``loop``: ``train`` itself.
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {  # imported when first used (the command line's --help needs none)
    ".checkpoint": ["find_checkpoint", "load_trainer"],
    ".config": ["TrainConfig", "resume_config"],
    ".data": ["BadDataError", "ImageFolder"],
    ".exporting": ["export_run", "needs_export"],
    ".loop": ["TrainResult", "evaluate", "train"],
})

__all__ = ["BadDataError", "ImageFolder", "TrainConfig", "TrainResult", "evaluate", "export_run", "find_checkpoint",
           "load_trainer", "needs_export", "resume_config", "train"]
