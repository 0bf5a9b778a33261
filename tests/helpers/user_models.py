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


class FunctionalBranches(nn.Layer):
    """An Inception-like block that calls Paddle's functions in its own forward (no ReLU or pooling layers of its
    own): five branches from one input, two of them through two ``F.relu``, two ``F.max_pool2d`` with other
    settings, a ``paddle.split`` whose halves go to other places, a commutative ``paddle.add`` and a
    non-commutative ``paddle.subtract`` of branches, and one ``paddle.concat`` of them all.

    ``order``: the order the forward computes the branches ``"abcde"`` in, and ``add`` the order of the add's
    operands (a refactor: the same computation). The others are changes: ``concat`` the order of the concat's
    operands, ``halves`` ``"fe"`` swaps the split's outputs, ``subtract`` ``"ed"`` swaps the subtraction's
    operands, ``relu6`` the branch whose last ReLU becomes a ReLU6, ``without_relu`` the branch whose last
    ``F.relu`` call is removed, ``extra_relu`` a branch given an ``F.relu`` it did not have (``"d"``)."""

    def __init__(self, channels: int = 4, order="abcde", add="ac", concat="sbtf", halves="ef", subtract="de",
                 relu6="", without_relu="", extra_relu=""):
        super().__init__()
        self.order, self.add, self.concat, self.halves, self.subtract = order, add, concat, halves, subtract
        self.relu6, self.without_relu, self.extra_relu = relu6, without_relu, extra_relu
        self.conv_a = nn.Conv2D(channels, 2, 1)
        self.conv_b1 = nn.Conv2D(channels, 2, 1)
        self.conv_b2 = nn.Conv2D(2, 2, 3, padding=1)
        self.conv_c = nn.Conv2D(channels, 2, 1)
        self.conv_d = nn.Conv2D(channels, 2, 1)
        self.conv_e = nn.Conv2D(channels, 4, 1)

    def _relu(self, branch, x):
        if branch == self.without_relu:
            return x
        return F.relu6(x) if branch == self.relu6 else F.relu(x)

    def forward(self, x):
        out = {}
        for branch in self.order:
            if branch == "a":
                out["a"] = self._relu("a", self.conv_a(x))
            elif branch == "b":
                out["b"] = self._relu("b", self.conv_b2(F.relu(self.conv_b1(x))))
            elif branch == "c":
                out["c"] = self._relu("c", self.conv_c(F.max_pool2d(x, 3, 1, 1)))
            elif branch == "d":
                d = self.conv_d(F.max_pool2d(x, 5, 1, 2))
                out["d"] = F.relu(d) if self.extra_relu == "d" else d
            else:
                out["e"], out["f"] = paddle.split(self.conv_e(x), 2, axis=1)
        if self.halves == "fe":
            out["e"], out["f"] = out["f"], out["e"]
        out["s"] = paddle.add(out[self.add[0]], out[self.add[1]])
        out["t"] = paddle.subtract(out[self.subtract[0]], out[self.subtract[1]])
        return paddle.concat([out[key] for key in self.concat], axis=1)


class FunctionalInception(nn.Layer):
    """A tiny network around ``FunctionalBranches`` (named ``block``): a stem convolution, the block, a
    classifier. Keyword arguments go to the block."""

    def __init__(self, classes: int = 3, **block):
        super().__init__()
        self.stem = nn.Conv2D(3, 4, 3, padding=1)
        self.block = FunctionalBranches(4, **block)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2D(1), nn.Flatten(), nn.Linear(8, classes))

    def forward(self, x):
        # x 8: the block's activations well beyond 6, where its ReLUs and a ReLU6 differ, whatever the seeded
        # weights of a value pass
        return self.head(self.block(self.stem(x) * 8))
