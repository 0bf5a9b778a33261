"""Tiny training runs for the tests: resnet20 at 16x16 on a few synthetic images, a few seconds each."""

from __future__ import annotations

import io

from paddle_resnet.training import TrainConfig, train

#: A tiny, fast run: resnet20 at 16x16; with 3 x 16 images, 12 of each class train and 4 validate.
TINY = dict(model="resnet20", input_size=16, batch_size=8, val_split=0.25, num_workers=0, lr=0.05,
            warmup_epochs=0)


def run_training(**settings):
    """``train`` with its progress output captured; returns (result, output)."""
    stream = io.StringIO()
    result = train(TrainConfig(**settings), stream=stream)
    return result, stream.getvalue()
