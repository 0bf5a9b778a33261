"""Models a user of the package might check in their own CI: factories for ``verify --model MODULE:FACTORY``
(``helpers.user_models:detector``) and for the Python API. None of them is one of our table's rows."""

from __future__ import annotations

import paddle
from paddle import nn
from paddle.nn import functional as F

from paddle_resnet import resnet18


class Detector(nn.Layer):
    """Our backbone under a head of the user's own: a small feature pyramid (1x1 lateral convolutions, the
    coarser map upsampled and added) and a 3x3 prediction convolution."""

    def __init__(self, classes: int = 3, width: int = 32):
        super().__init__()
        self.backbone = resnet18(out_stages=(3, 4))
        self.lateral3 = nn.Conv2D(256, width, 1)
        self.lateral4 = nn.Conv2D(512, width, 1)
        self.predict = nn.Conv2D(width, classes, 3, padding=1)

    def forward(self, x):
        c3, c4 = self.backbone(x)
        p4 = self.lateral4(c4)
        p3 = self.lateral3(c3) + F.interpolate(p4, scale_factor=2, mode="nearest")
        return self.predict(F.relu(p3))


def detector(classes: int = 3, width: int = 32) -> Detector:
    return Detector(classes, width)


class GroupNormNet(nn.Layer):
    """A network with a Paddle layer the shape rules do not know (GroupNorm): traced by running it."""

    def __init__(self, groups: int = 4):
        super().__init__()
        self.conv = nn.Conv2D(3, 16, 3, padding=1)
        self.norm = nn.GroupNorm(groups, 16)
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.norm(self.conv(x)))
        return self.fc(paddle.flatten(self.pool(x), 1))


def group_norm_net(groups: int = 4) -> GroupNormNet:
    return GroupNormNet(groups)


def failing_factory():
    raise RuntimeError("the factory needs a config file")


def not_a_model():
    return {"weights": None}


NOT_CALLABLE = 42
