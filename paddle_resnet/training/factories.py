"""What a run's settings build: the model, the learning-rate schedule and the optimizer."""

from __future__ import annotations

from typing import List

import paddle

from ..builders import create_model
from ..models.transfer import freeze
from . import schedules
from .config import TrainConfig, total_steps


def build_model(config: TrainConfig, num_classes: int):
    """The architecture with ``num_classes`` outputs, pretrained and partly frozen as ``config`` says."""
    model = create_model(config.model, pretrained=config.pretrained, num_classes=num_classes,
                         **model_options(config.to_dict()))
    if config.freeze:
        freeze(model, up_to=config.freeze)
    return model


def build_schedule(config: TrainConfig, steps_per_epoch: int):
    """The per-step learning-rate schedule: linear warm-up (or the error warm-up of ``warmup_lr``), then cosine
    decay, x0.1 steps (at ``milestones``, by default 50% and 75% of the steps after warm-up), or the plateau rule
    (``schedules.plateau_schedule``)."""
    if config.schedule == "plateau":
        return schedules.plateau_schedule(config.lr)
    warmup = config.warmup_epochs * steps_per_epoch
    decay_steps = total_steps(config, steps_per_epoch) - warmup
    if decay_steps < 1:
        raise ValueError(f"warmup_epochs={config.warmup_epochs} is {warmup} steps, and the run has only "
                         f"{total_steps(config, steps_per_epoch)}: give fewer warm-up epochs")
    if config.schedule == "cosine":
        schedule = paddle.optimizer.lr.CosineAnnealingDecay(config.lr, T_max=decay_steps)
    elif config.milestones:  # counted from the run's first step: shifted past the warm-up the schedule follows
        if config.milestones[0] <= warmup:
            raise ValueError(f"milestones={config.milestones}: the first comes before the end of the {warmup}-step "
                             "warm-up; give later milestones or fewer warm-up epochs")
        schedule = paddle.optimizer.lr.MultiStepDecay(config.lr, milestones=[m - warmup for m in config.milestones])
    else:  # the ResNet paper's CIFAR recipe, scaled to any length: divide by 10 at 50% and 75% of training
        schedule = paddle.optimizer.lr.MultiStepDecay(config.lr, milestones=step_milestones(decay_steps))
    if config.warmup_lr is not None:
        return schedules.ErrorWarmup(schedule, config.warmup_lr, config.warmup_until_error)
    if warmup == 0:
        return schedule
    return paddle.optimizer.lr.LinearWarmup(schedule, warmup_steps=warmup, start_lr=0.0, end_lr=config.lr)


def step_milestones(decay_steps: int) -> List[int]:
    """The steps (counted after warm-up) at which the ``step`` schedule divides the learning rate by 10: 50% and
    75% of ``decay_steps``.

    In runs of fewer than 4 decay steps the two coincide or fall on step 0; they are then merged (Paddle needs
    strictly increasing milestones), and step 0 is dropped so the full learning rate is used at least once.
    """
    return sorted({decay_steps // 2, decay_steps * 3 // 4} - {0})


def model_options(settings: dict) -> dict:
    """The builder options a run's settings (``TrainConfig.to_dict()``, or a ``trainer.json``'s) give beyond the
    table row: the shortcut option, when one was chosen."""
    return {"shortcut": settings["shortcut"]} if settings.get("shortcut") else {}


def build_optimizer(config: TrainConfig, model, schedule):
    """SGD with momentum 0.9 or AdamW over the trainable (not frozen) parameters."""
    parameters = [p for p in model.parameters() if not p.stop_gradient]
    if config.optimizer == "sgd":
        return paddle.optimizer.Momentum(learning_rate=schedule, momentum=0.9, parameters=parameters,
                                         weight_decay=config.weight_decay)
    return paddle.optimizer.AdamW(learning_rate=schedule, parameters=parameters, weight_decay=config.weight_decay)

