"""The learning-rate schedules that need more than Paddle's: a warm-up that lasts until the training error is low
enough (the paper's ResNet-110), and the "divide by 10 on plateaus" rule of its ImageNet training.

The training loop steps a schedule through ``after_batch`` (once per optimizer step) and ``after_epoch`` (once
per epoch, with the epoch's metrics), so each kind of schedule decides for itself what it listens to. Their
state is part of ``state_dict``, so a resumed run continues them exactly.
"""

from __future__ import annotations

import warnings
from typing import List

import paddle

#: Batches whose mean training error decides the end of an error warm-up: one batch of 128 images is noisy
#: (a standard deviation of about 3.5 points at 80% error), ten are steady enough.
ERROR_WINDOW = 10
#: The plateau rule (``schedule="plateau"``): divide by 10 when more than this many epochs in a row have not
#: improved the best validation error by at least ``PLATEAU_THRESHOLD`` (absolute: 0.001 is 0.1 percentage points).
PLATEAU_PATIENCE = 5
PLATEAU_THRESHOLD = 1e-3


class ErrorWarmup(paddle.optimizer.lr.LRScheduler):
    """``warmup_lr`` until the mean training error of the last ``ERROR_WINDOW`` batches is below ``until_error``,
    then ``schedule``'s rate at the same step (``schedule`` is stepped all along, so its milestones count from
    the run's first step).

    >>> base = paddle.optimizer.lr.MultiStepDecay(0.1, milestones=[5])  # 0.1, and 0.01 from step 5 on
    >>> warm = ErrorWarmup(base, warmup_lr=0.01, until_error=0.8, window=2)
    >>> rates = []
    >>> for error in (0.9, 0.9, 0.7, 0.7, 0.7, 0.7):
    ...     rates.append(warm()); warm.observe(error); warm.step()
    >>> [round(rate, 4) for rate in rates]  # warm until the mean of two batch errors is below 0.8
    [0.01, 0.01, 0.01, 0.01, 0.1, 0.01]
    """

    def __init__(self, schedule, warmup_lr: float, until_error: float, window: int = ERROR_WINDOW):
        self.schedule, self.warmup_lr, self.until_error, self.window = schedule, warmup_lr, until_error, window
        self.errors: List[float] = []
        self.warm = True
        super().__init__(learning_rate=warmup_lr)

    def observe(self, error: float) -> None:
        """Record one batch's training error; the warm-up ends once the window's mean is below the threshold."""
        self.errors = (self.errors + [float(error)])[-self.window:]
        if self.warm and len(self.errors) == self.window and sum(self.errors) / self.window < self.until_error:
            self.warm = False

    def step(self, epoch=None) -> None:
        if self.last_epoch >= 0:  # Paddle's constructor steps once to set the first rate; the wrapped one has too
            self.schedule.step()
        super().step(epoch)

    def get_lr(self) -> float:
        return self.warmup_lr if self.warm else self.schedule()

    def state_keys(self) -> None:
        self.keys = ["last_epoch", "last_lr", "errors", "warm"]

    def state_dict(self):
        state = super().state_dict()
        state["schedule"] = self.schedule.state_dict()
        return state

    def set_state_dict(self, state_dict) -> None:
        with warnings.catch_warnings():  # the base class warns about the nested "schedule", loaded just below
            warnings.filterwarnings("ignore", message="There are some unused values in state_dict")
            super().set_state_dict(state_dict)
        self.schedule.set_state_dict(state_dict["schedule"])
        self.errors = [float(e) for e in self.errors]


def plateau_schedule(lr: float):
    """The ``plateau`` schedule: ``lr``, divided by 10 when the validation error plateaus (see
    ``PLATEAU_PATIENCE``)."""
    return paddle.optimizer.lr.ReduceOnPlateau(lr, mode="min", factor=0.1, patience=PLATEAU_PATIENCE,
                                               threshold=PLATEAU_THRESHOLD, threshold_mode="abs")


def after_batch(scheduler, error: float) -> None:
    """Advance ``scheduler`` after one optimizer step whose batch had training ``error``."""
    if isinstance(scheduler, paddle.optimizer.lr.ReduceOnPlateau):
        return  # decided once per epoch
    if isinstance(scheduler, ErrorWarmup):
        scheduler.observe(error)
    scheduler.step()


def after_epoch(scheduler, record: dict) -> None:
    """Advance ``scheduler`` after an epoch with metrics ``record`` (the plateau rule reads its validation
    accuracy)."""
    if isinstance(scheduler, paddle.optimizer.lr.ReduceOnPlateau):
        if record.get("val_acc") is None:
            raise ValueError("the plateau schedule needs a validation accuracy after each epoch")
        scheduler.step(1.0 - record["val_acc"])
