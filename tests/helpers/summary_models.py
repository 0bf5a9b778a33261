"""Small models for the summary's cases that paddle.summary and torchinfo users report: a layer that creates a
parameter of its own beside its sublayers (Paddle issue #42579), parameter-free layers (#43421), a layer called
twice, an operation between layers (``paddle.concat``), and a model that fails partway (torchinfo #288)."""

from __future__ import annotations

import paddle
from paddle import nn


class ScaledBranches(nn.Layer):
    """Two convolutions whose outputs are concatenated, scaled by a parameter the layer creates itself; the
    same ReLU layer applied twice; a max-pool."""

    def __init__(self):
        super().__init__()
        self.left = nn.Conv2D(3, 4, 3, padding=1, bias_attr=False)
        self.right = nn.Conv2D(3, 4, 1, bias_attr=False)
        self.scale = self.create_parameter([1, 8, 1, 1])  # the layer's own, beside its sublayers
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2D(2)

    def forward(self, x):
        x = paddle.concat([self.relu(self.left(x)), self.right(x)], axis=1) * self.scale
        return self.pool(self.relu(x))


def scaled_branches() -> ScaledBranches:
    return ScaledBranches()


class Mismatched(nn.Layer):
    """A classifier whose linear layer expects 16 features where the convolution gives 8 x 4 x 4 = 128."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(3, 8, 3, stride=2, padding=1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc(self.flatten(self.conv(x)))


def mismatched() -> Mismatched:
    return Mismatched()
