"""The settings of a training run, their defaults, and which of them a resumed run may change."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from .._checks import MAX_IMAGE_SIDE
from ..models.stages import STEM, stage_name
from ..models.table import get_config, list_models
from ..weights.official import VARIANTS, official_names

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "plateau")
#: Training augmentations: ``imagenet`` (random resized crop and flip), ``cifar`` (the paper's CIFAR-10 one: 4-pixel
#: zero padding, random crop, flip; single-view evaluation of the image as it is) and ``scale`` (the paper's
#: ImageNet one: shorter side random in [256, 480] for 224 crops, random crop, flip, AlexNet's colour lighting).
AUGMENTATIONS = ("imagenet", "cifar", "scale")
#: Input normalisations: ``imagenet`` (per-channel mean and standard deviation of ImageNet) or ``pixel-mean``
#: (the paper's: the mean image of the training set subtracted, pixel by pixel; no division).
NORMALIZATIONS = ("imagenet", "pixel-mean")
#: Passes over the training images of a run that gives neither ``epochs`` nor ``max_steps``.
DEFAULT_EPOCHS = 10

#: Settings a resumed run may give anew: where things are and how fast they run, but nothing that changes the
#: numbers of the training itself (resuming with a different learning rate would not continue the same run).
RESUMABLE_CHANGES = ("data", "val_dir", "out", "num_workers", "threads", "skip_bad_images", "amp", "export",
                     "resume")
#: Settings a resumed run may increase: its length (the schedule is then planned anew for it).
EXTENDABLE = ("epochs", "max_steps")

#: Base learning rate per 256 images in a (global) batch, the linear scaling rule of Goyal et al. (2017).
BASE_LR = {"sgd": 0.1, "adamw": 1e-3}
DEFAULT_WEIGHT_DECAY = {"sgd": 1e-4, "adamw": 0.05}
DEFAULT_VAL_SPLIT = 0.1
#: CPU threads of the eager kernels when ``threads`` is not given: ``"paddle"`` (leave Paddle's own setting),
#: ``"all"`` (every core this process may run on, shared out between the training processes on the machine) or
#: a number. Measured with ``tools/train_threads.py`` (docs/performance.md, "Threads for training"): on 2 cores,
#: resnet18 trained at 5.2 images/s with both cores against 3.3 with Paddle's default, which behaved like one
#: thread, with or without 2 loader workers on the same cores.
DEFAULT_THREADS = "all"
#: Output directory of a new run that names none (a resumed run keeps writing to its own directory).
DEFAULT_OUT = "runs/train"
#: Largest training resolution: a ResNet-50 training step at 4096x4096 needs tens of GB per image already;
#: beyond it a value is a typo (it would fail while augmenting the first image, out of memory).
MAX_INPUT_SIZE = MAX_IMAGE_SIDE
#: The largest ``seed``: NumPy's global generator takes 32-bit seeds.
MAX_SEED = 2 ** 32 - 1


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (the command line's options, one field each).

    Attributes:
        data: the training image folder, ``data/<class>/<image>``, or a CIFAR archive or folder,
            ``cifar10:PATH`` or ``cifar100:PATH`` (see ``training.cifar``).
        model: architecture name from ``list_models()``.
        out: output directory: checkpoints ``last/`` and ``best/``, ``metrics.csv``, ``metrics.png``, ``export/``;
            by default ``runs/train`` for a new run, and for a resumed run the directory holding its checkpoint.
        val_dir: a separate validation image folder with the same class folders; without it,
            ``val_split`` of each class is held out (seeded), 0.1 by default; ``val_split=0`` trains on all.
        epochs: passes over the training images; ``DEFAULT_EPOCHS`` unless ``max_steps`` gives the length.
        max_steps: the run's length in optimizer steps (iterations, as the paper counts), instead of ``epochs``:
            the last epoch stops after the step that reaches it.
        batch_size: images per step in each process (the global batch is this times the process count).
        lr: peak learning rate; by default ``BASE_LR`` (0.1 for SGD, 0.001 for AdamW) times global batch / 256.
        optimizer: ``"sgd"`` (momentum 0.9) or ``"adamw"``.
        weight_decay: by default ``DEFAULT_WEIGHT_DECAY``: 1e-4 for SGD, 0.05 for AdamW.
        schedule: ``"cosine"`` decay to zero; ``"step"``: x0.1 at each of ``milestones`` (by default 50% and 75%
            of the steps after warm-up); ``"plateau"``: x0.1 when the validation error has stopped improving
            (``schedules.PLATEAU_PATIENCE`` epochs without a ``PLATEAU_THRESHOLD`` improvement).
        milestones: with ``schedule="step"``, the steps (counted from the first, warm-up included) after which
            the learning rate is divided by 10, e.g. ``(32000, 48000)``.
        warmup_epochs: linear warm-up from 0 to ``lr`` over this many epochs (must be < ``epochs``); by default
            1, or none in a run of a single epoch (``default_warmup_epochs``).
        warmup_lr, warmup_until_error: train at ``warmup_lr`` until the training error (over the last
            ``schedules.ERROR_WINDOW`` batches) is below ``warmup_until_error``, then follow the schedule (the
            paper's ResNet-110: 0.01 until the error is below 80%); both or neither.
        augment: the training augmentation, one of ``AUGMENTATIONS``.
        normalize: the input normalisation, one of ``NORMALIZATIONS``.
        shortcut: the model's shortcut option (``"A"``, ``"B"``, ``"C"`` or ``"none"``, see ``ResNetConfig``)
            instead of the table row's: the paper's ResNet-34 A and C are ``model="resnet34", shortcut="A"``.
        recipe: the name of the recipe (``recipes.RECIPES``) the settings came from; ``"default"`` for these.
        input_size: square training and evaluation resolution, 8 to ``MAX_INPUT_SIZE``; by default the
            architecture's (224 or 32).
        pretrained: ``True`` for the official weights (``weights.official.official_names()``), ``"ssld"`` for
            PaddleClas's distilled ones, or a weights file path (see ``create_model``).
        freeze: freeze the stem and stages up to this one (``"stem"``, ``"layer1"`` ... ``"layerN"`` for a model
            with N stages; see ``paddle_resnet.freeze``).
        amp: mixed precision on GPU; ignored with a notice on CPU.
        seed: seeds weight initialisation, the validation split, data order and augmentation.
        num_workers: data-loading worker processes per training process (0: load in the training process).
        threads: CPU threads for the training process's kernels; by default ``DEFAULT_THREADS`` (see
            ``cpu_threads``). It stays set for the process after training. Ignored on a GPU.
        skip_bad_images: leave out unreadable, non-image and misplaced files (counted and listed) instead of
            stopping.
        export: at the end, export the best model for deployment to ``out/export/``.
        resume: a checkpoint (or a run's ``out`` directory) to continue from. Every setting but those in
            ``RESUMABLE_CHANGES`` must equal the checkpoint's; ``resume_config`` fills them in from it. ``epochs``
            may grow: the run is then extended (the schedule is planned anew for the new number of epochs).
    """

    data: Optional[str] = None
    model: str = "resnet50"
    out: Optional[str] = None
    val_dir: Optional[str] = None
    val_split: Optional[float] = None
    epochs: Optional[int] = None
    batch_size: int = 32
    lr: Optional[float] = None
    optimizer: str = "sgd"
    weight_decay: Optional[float] = None
    schedule: str = "cosine"
    warmup_epochs: Optional[int] = None
    input_size: Optional[int] = None
    pretrained: Union[bool, str] = False
    freeze: Optional[str] = None
    amp: bool = False
    seed: int = 0
    num_workers: int = 2
    threads: Optional[int] = None
    skip_bad_images: bool = False
    export: bool = False
    resume: Optional[str] = None
    max_steps: Optional[int] = None
    milestones: Optional[Tuple[int, ...]] = None
    warmup_lr: Optional[float] = None
    warmup_until_error: Optional[float] = None
    augment: str = "imagenet"
    normalize: str = "imagenet"
    recipe: str = "default"
    shortcut: Optional[str] = None

    def __post_init__(self):
        if self.model not in list_models():
            raise ValueError(f"model={self.model!r}: unknown architecture; choose from {', '.join(list_models())}")
        if self.milestones is not None:
            if not isinstance(self.milestones, (tuple, list)):
                raise ValueError(f"milestones={self.milestones!r}: expected increasing step numbers, e.g. (32000, "
                                 "48000)")
            object.__setattr__(self, "milestones", tuple(self.milestones))
        from .recipes import RECIPES

        for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("augment", AUGMENTATIONS),
                              ("normalize", NORMALIZATIONS), ("recipe", tuple(RECIPES))):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected one of {', '.join(choices)}")
        for name, minimum in (("epochs", 1), ("batch_size", 1), ("warmup_epochs", 0), ("num_workers", 0),
                              ("input_size", 8), ("seed", 0), ("threads", 1), ("max_steps", 1)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
                raise ValueError(f"{name}={value!r}: expected an integer >= {minimum}")
        if self.seed > MAX_SEED:
            raise ValueError(f"seed={self.seed}: expected an integer 0 to {MAX_SEED} (NumPy's seeds are 32-bit)")
        if self.input_size is not None and self.input_size > MAX_INPUT_SIZE:
            gib = 3 * 4 * self.input_size ** 2 / 2 ** 30
            raise ValueError(f"input_size={self.input_size}: expected at most {MAX_INPUT_SIZE} (one "
                             f"{self.input_size}x{self.input_size} image is {gib:.3g} GiB as float32, before any "
                             "activation)")
        if self.epochs is not None and self.max_steps is not None:
            raise ValueError(f"epochs={self.epochs} and max_steps={self.max_steps}: give the run's length once, in "
                             "epochs or in steps")
        if self.milestones is not None:
            if not self.milestones or not all(isinstance(m, int) and not isinstance(m, bool) and m >= 1
                                              for m in self.milestones) or \
                    list(self.milestones) != sorted(set(self.milestones)):
                raise ValueError(f"milestones={self.milestones!r}: expected strictly increasing positive step numbers")
            if self.schedule != "step":
                raise ValueError(f"milestones={self.milestones!r} with schedule={self.schedule!r}: milestones "
                                 "belong to schedule='step'")
            if self.max_steps is not None and self.milestones[-1] >= self.max_steps:
                raise ValueError(f"milestones={self.milestones!r}: each must come before max_steps={self.max_steps}; "
                                 "give milestones for this length too (the paper's fractions, 50% and 75%: "
                                 f"{self.max_steps // 2},{self.max_steps * 3 // 4})")
        if (self.warmup_lr is None) != (self.warmup_until_error is None):
            raise ValueError(f"warmup_lr={self.warmup_lr!r}, warmup_until_error={self.warmup_until_error!r}: give "
                             "both (train at warmup_lr until the training error is below warmup_until_error) or "
                             "neither")
        if self.warmup_lr is not None:
            if not (_is_number(self.warmup_lr) and 0 < self.warmup_lr < math.inf):
                raise ValueError(f"warmup_lr={self.warmup_lr!r}: expected a positive finite number")
            if not (_is_number(self.warmup_until_error) and 0 < self.warmup_until_error < 1):
                raise ValueError(f"warmup_until_error={self.warmup_until_error!r}: expected a fraction in (0, 1)")
            if self.warmup_epochs:
                raise ValueError(f"warmup_lr={self.warmup_lr} with warmup_epochs={self.warmup_epochs}: choose one "
                                 "warm-up (by training error, or linear over epochs)")
        if self.schedule == "plateau":
            if self.warmup_epochs:
                raise ValueError(f"schedule='plateau' with warmup_epochs={self.warmup_epochs}: the plateau schedule "
                                 "takes no linear warm-up; give warmup_epochs=0")
            if self.val_split == 0:
                raise ValueError("schedule='plateau' with val_split=0: the plateau schedule is decided on the "
                                 "validation error, so it needs validation images (val_split > 0 or val_dir)")
        if self.normalize == "pixel-mean" and self.export:
            raise ValueError("export=True with normalize='pixel-mean': an exported model applies the per-channel "
                             "ImageNet normalisation, which cannot express a per-pixel mean; train with "
                             "normalize='imagenet' to export, or export=False")
        if self.warmup_epochs is not None and self.epochs is not None and self.warmup_epochs >= self.epochs:
            raise ValueError(f"warmup_epochs={self.warmup_epochs} must be less than epochs={self.epochs} "
                             "(the warm-up would never reach the full learning rate)")
        if self.lr is not None and not (_is_number(self.lr) and 0 < self.lr < math.inf):
            raise ValueError(f"lr={self.lr!r}: expected a positive finite number")
        if self.weight_decay is not None and not (_is_number(self.weight_decay) and 0 <= self.weight_decay < math.inf):
            raise ValueError(f"weight_decay={self.weight_decay!r}: expected a finite number >= 0")
        if self.val_split is not None:
            if self.val_dir is not None:
                raise ValueError("give val_dir or val_split, not both")
            if not 0 <= self.val_split < 1:
                raise ValueError(f"val_split={self.val_split!r}: expected a fraction in [0, 1)")
        if not isinstance(self.pretrained, (bool, str)) or self.pretrained == "":
            raise ValueError(f"pretrained={self.pretrained!r}: expected True/False or a weights file path")
        if isinstance(self.pretrained, str) and os.path.isdir(self.pretrained):
            raise ValueError(f"pretrained={self.pretrained!r} is a folder; expected a weights file (.pdparams or "
                             ".safetensors) or True for the official weights")
        official = self.pretrained is True or self.pretrained in VARIANTS
        if official and self.model not in official_names(self.pretrained):
            raise ValueError(f"pretrained={self.pretrained!r}: there are no official weights for {self.model}, only "
                             f"for {', '.join(official_names(self.pretrained))}; give a weights file path instead")
        if self.shortcut is not None:
            get_config(self.model, shortcut=self.shortcut)  # raises, naming the accepted options, if it does not fit
        stages = [STEM] + [stage_name(i) for i in range(1, get_config(self.model).num_stages + 1)]
        if self.freeze is not None and self.freeze not in stages:
            raise ValueError(f"freeze={self.freeze!r}: {self.model} can be frozen up to one of {', '.join(stages)}")

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def resolved(self, world_size: int = 1) -> "TrainConfig":
        """This config with every default that depends on something filled in and paths made absolute."""
        if self.data is None:
            raise ValueError("no training data: give the image folder (data=...), or resume=... a run")
        from .cifar import absolute_source  # a folder, or a CIFAR archive named cifar10:PATH

        global_batch = self.batch_size * world_size
        val_split = DEFAULT_VAL_SPLIT if self.val_split is None and self.val_dir is None else self.val_split
        epochs = DEFAULT_EPOCHS if self.epochs is None and self.max_steps is None else self.epochs
        return self.replace(
            epochs=epochs,
            data=absolute_source(self.data),
            val_dir=None if self.val_dir is None else os.path.abspath(self.val_dir),
            out=os.path.abspath(self.out or DEFAULT_OUT),
            val_split=val_split,
            lr=self.lr if self.lr is not None else BASE_LR[self.optimizer] * global_batch / 256,
            weight_decay=DEFAULT_WEIGHT_DECAY[self.optimizer] if self.weight_decay is None else self.weight_decay,
            input_size=self.input_size or get_config(self.model).image_size,
            warmup_epochs=(default_warmup_epochs(epochs) if epochs and self.warmup_lr is None else 0)
            if self.warmup_epochs is None else self.warmup_epochs,
        )

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict (what ``trainer.json`` stores)."""
        return dataclasses.asdict(self)


def default_warmup_epochs(epochs: int) -> int:
    """One warm-up epoch, or none in a run of one epoch (which must reach the full rate to train at all).

    >>> default_warmup_epochs(10), default_warmup_epochs(1)
    (1, 0)
    """
    return 1 if epochs > 1 else 0


def cpu_threads(threads: Optional[int] = None, default=DEFAULT_THREADS) -> Optional[int]:
    """The CPU thread count for one training process: ``threads`` if given, else from ``default``
    (``DEFAULT_THREADS``): ``"all"`` divides the cores this process may use between the training processes
    that ``paddle.distributed.launch`` started on this machine; ``"paddle"`` returns None (keep Paddle's own).
    """
    if threads is not None:
        return threads
    if default == "paddle":
        return None
    if default == "all":
        from .._process import available_threads

        return max(1, available_threads() // max(1, int(os.environ.get("PADDLE_LOCAL_SIZE", "1") or 1)))
    return int(default)


def resume_config(path, **changes) -> TrainConfig:
    """The config that continues the run in ``path`` (its ``out`` directory, or a checkpoint directory): the
    checkpoint's settings with ``changes`` applied.

    ``changes`` may only touch ``RESUMABLE_CHANGES`` (others must equal the saved value). ``out`` defaults to
    the directory holding the checkpoint (as in ``train``), so a moved run directory keeps writing to itself.
    """
    from .checkpoint import find_checkpoint, load_trainer

    checkpoint = find_checkpoint(path)
    saved = load_trainer(checkpoint)["config"]
    check_resumable(saved, changes)
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    values = {key: value for key, value in saved.items() if key in known}
    values.update(out=str(checkpoint.parent), resume=str(checkpoint))
    values.update(changes)
    return TrainConfig(**values)


def check_resumable(saved: dict, config: dict) -> None:
    """Raise ``ValueError`` naming every setting in ``config`` that differs from the checkpoint's ``saved``
    settings but may not change on resume."""
    differences = [f"{key}={config[key]!r} (checkpoint: {saved.get(key)!r})" for key in config
                   if key not in (*RESUMABLE_CHANGES, *EXTENDABLE)
                   and _as_saved(config[key]) != _as_saved(saved.get(key, _DEFAULTS.get(key)))]
    if differences:
        raise ValueError(
            "a resumed run keeps its settings, but these differ from the checkpoint's: " + ", ".join(differences)
            + ". Continue with the checkpoint's settings (resume_config(path) in Python, --resume alone on the "
            "command line), or start a new run from its weights with --pretrained <checkpoint>/model.safetensors. "
            "(A longer run is allowed: --resume RUN --epochs N extends a run, as --max-steps N does one counted "
            "in steps.)")


def total_steps(config: TrainConfig, steps_per_epoch: int) -> int:
    """The optimizer steps of a resolved run: ``max_steps``, or ``epochs`` x ``steps_per_epoch``."""
    return config.max_steps if config.max_steps is not None else config.epochs * steps_per_epoch


def planned_epochs(config: TrainConfig, steps_per_epoch: int, epochs_done: int = 0, steps_done: int = 0) -> int:
    """The last epoch of a resolved run: ``epochs``, or the epoch that ``max_steps`` reaches into (cut short at
    ``max_steps``) when the run continues after ``epochs_done`` epochs of ``steps_done`` steps."""
    if config.max_steps is None:
        return config.epochs
    return epochs_done + max(0, -(-(config.max_steps - steps_done) // steps_per_epoch))


def _as_saved(value):
    """``value`` as ``trainer.json`` gives it back (tuples come back as lists)."""
    return list(value) if isinstance(value, tuple) else value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: Field defaults: a checkpoint of a version without a field was trained with its default.
_DEFAULTS = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
