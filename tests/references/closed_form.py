"""An independent, closed-form description of every architecture, written from the papers.

This module does not import paddle_resnet or Paddle. From the published definitions alone it lists the
layer rows a correct model must produce at its default input size: type, output shape, parameters and
conv/pool settings, in forward order, children before their block (as ``paddle.summary`` lists them).
Parameter counts, MACs, per-stage shapes, layer counts and the row digest all follow in closed form.

Sources: He et al. 2015, "Deep Residual Learning for Image Recognition" (Table 1 for ImageNet, section 4.2
for CIFAR-10); Xie et al. 2017 (ResNeXt: grouped 3x3 conv, "CxWd" = C groups of W channels in the first
stage); Zagoruyko & Komodakis 2016 / torchvision (wide_resnet*_2: bottleneck inner width doubled). Stride on
the 3x3 conv of the bottleneck ("v1.5", as torchvision and paddle.vision), projection shortcuts (option B)
on ImageNet, zero-padding identity shortcuts (option A) on CIFAR.

ResNet-D (``RESNET_D``): He et al. 2019, "Bag of Tricks for Image Classification with Convolutional Neural
Networks", section 4.1 and Figure 2: the stem's 7x7 conv replaced by three 3x3 convs (32, 32, 64 channels, the
first with stride 2; ResNet-C), and a shortcut that must halve the resolution average-pools 2x2 with stride 2
before its stride-1 1x1 conv (ResNet-D). The pool rounds up (ceil mode) and averages only the pixels inside the
input, as PaddleClas (``AvgPool2D(2, 2, ceil_mode=True)``, exclusive by default) and timm (``AvgPool2d(2, 2,
ceil_mode=True, count_include_pad=False)``) build it; where a projection keeps the resolution (the first stage)
its pool is an identity, which timm writes as ``nn.Identity`` so that the conv stays ``downsample.1``. Two layouts
differ between the libraries: PaddleClas gives *every* stage's first block a projection, also ResNet-18/34's
first stage where the shape does not change (``ppcls/arch/backbone/legendary_models/resnet.py``: ``shortcut=False``
for ``i == 0``), and its ResNet200_vd has (3, 12, 48, 3) blocks where timm's resnet200d has the (3, 24, 36, 3) of
He et al. 2016, "Identity Mappings in Deep Residual Networks".
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Tuple


class Row(NamedTuple):
    type: str
    output_shape: List[int]
    params: int  # all of the layer's own parameters, BatchNorm running statistics included
    trainable: int
    settings: dict
    stage: str


# name: (block, blocks per stage, groups, channels per group in the first stage)
IMAGENET: Dict[str, Tuple[str, Tuple[int, ...], int, int]] = {
    "resnet18": ("basic", (2, 2, 2, 2), 1, 64),
    "resnet34": ("basic", (3, 4, 6, 3), 1, 64),
    "resnet50": ("bottleneck", (3, 4, 6, 3), 1, 64),
    "resnet101": ("bottleneck", (3, 4, 23, 3), 1, 64),
    "resnet152": ("bottleneck", (3, 8, 36, 3), 1, 64),
    "resnext50_32x4d": ("bottleneck", (3, 4, 6, 3), 32, 4),
    "resnext50_64x4d": ("bottleneck", (3, 4, 6, 3), 64, 4),
    "resnext101_32x4d": ("bottleneck", (3, 4, 23, 3), 32, 4),
    "resnext101_32x8d": ("bottleneck", (3, 4, 23, 3), 32, 8),
    "resnext101_64x4d": ("bottleneck", (3, 4, 23, 3), 64, 4),
    "resnext152_32x4d": ("bottleneck", (3, 8, 36, 3), 32, 4),
    "resnext152_64x4d": ("bottleneck", (3, 8, 36, 3), 64, 4),
    "wide_resnet50_2": ("bottleneck", (3, 4, 6, 3), 1, 128),
    "wide_resnet101_2": ("bottleneck", (3, 4, 23, 3), 1, 128),
}

# name: n, for 6n+2 layers (section 4.2: n = 3, 5, 7, 9, 18, 200)
CIFAR: Dict[str, int] = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18,
                         "resnet1202": 200}

# ResNet-D: name -> (block, blocks per stage, projection on every stage's first block)
RESNET_D: Dict[str, Tuple[str, Tuple[int, ...], bool]] = {
    "resnet18_vd": ("basic", (2, 2, 2, 2), True),
    "resnet34_vd": ("basic", (3, 4, 6, 3), True),
    "resnet50_vd": ("bottleneck", (3, 4, 6, 3), True),
    "resnet101_vd": ("bottleneck", (3, 4, 23, 3), True),
    "resnet152_vd": ("bottleneck", (3, 8, 36, 3), True),
    "resnet200_vd": ("bottleneck", (3, 12, 48, 3), True),
    "resnet18d": ("basic", (2, 2, 2, 2), False),
    "resnet34d": ("basic", (3, 4, 6, 3), False),
    "resnet200d": ("bottleneck", (3, 24, 36, 3), False),
}

ALL = sorted([*IMAGENET, *CIFAR, *RESNET_D])


class _Net:
    """Accumulates rows while walking the architecture; ``h`` is the current (square) resolution."""

    def __init__(self, channels: int, size: int):
        self.rows: List[Row] = []
        self.c, self.h = channels, size
        self.macs = 0
        self.stage = "stem"

    def conv(self, c_in, c_out, k, s, p, h_in, groups=1):
        h_out = (h_in + 2 * p - k) // s + 1
        params = c_out * (c_in // groups) * k * k
        self.macs += h_out * h_out * params
        self.rows.append(Row("Conv2D", [1, c_out, h_out, h_out], params, params,
                             {"kernel": [k, k], "stride": [s, s], "padding": [p, p, p, p], "dilation": [1, 1],
                              "groups": groups}, self.stage))
        return h_out

    def bn(self, c, h):
        self.rows.append(Row("BatchNorm2D", [1, c, h, h], 4 * c, 2 * c, {}, self.stage))

    def relu(self, c, h):
        self.rows.append(Row("ReLU", [1, c, h, h], 0, 0, {}, self.stage))

    def max_pool(self, c, h_in):
        """The ImageNet stem's 3x3 max-pool with stride 2 and padding 1."""
        h = (h_in + 2 - 3) // 2 + 1
        self.rows.append(Row("MaxPool2D", [1, c, h, h], 0, 0,
                             {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1], "ceil_mode": False},
                             self.stage))
        self.c, self.h = c, h

    def shortcut(self, c_in, c_out, s, h_in, option):
        if s == 1 and c_in == c_out and option != "D-projected":
            return
        if option.startswith("D"):  # ResNet-D: pool (or identity), then a stride-1 1x1 conv and BN
            if s == 1:
                self.rows.append(Row("Identity", [1, c_in, h_in, h_in], 0, 0, {}, self.stage))
                h = h_in
            else:
                h = -(-(h_in - s) // s) + 1  # ceil mode, no padding
                self.rows.append(Row("AvgPool2D", [1, c_in, h, h], 0, 0,
                                     {"kernel": [s, s], "stride": [s, s], "padding": [0, 0, 0, 0], "ceil_mode": True,
                                      "exclusive": True}, self.stage))
            self.conv(c_in, c_out, 1, 1, 0, h)
            self.bn(c_out, h)
        elif option == "B":
            h = self.conv(c_in, c_out, 1, s, 0, h_in)
            self.bn(c_out, h)
        else:  # option A: subsample, zero-pad channels: no parameters
            h = -(-h_in // s)
            self.rows.append(Row("ZeroPadShortcut", [1, c_out, h, h], 0, 0, {"stride": [s, s]}, self.stage))

    def basic(self, c_in, c_out, s, option):
        h_in = self.h
        h = self.conv(c_in, c_out, 3, s, 1, h_in)
        self.bn(c_out, h)
        self.relu(c_out, h)
        self.conv(c_out, c_out, 3, 1, 1, h)
        self.bn(c_out, h)
        self.shortcut(c_in, c_out, s, h_in, option)
        self.relu(c_out, h)
        self.rows.append(Row("BasicBlock", [1, c_out, h, h], 0, 0, {}, self.stage))
        self.c, self.h = c_out, h

    def bottleneck(self, c_in, c_out, s, width, groups, option="B"):
        h_in = self.h
        self.conv(c_in, width, 1, 1, 0, h_in)
        self.bn(width, h_in)
        self.relu(width, h_in)
        h = self.conv(width, width, 3, s, 1, h_in, groups)
        self.bn(width, h)
        self.relu(width, h)
        self.conv(width, c_out, 1, 1, 0, h)
        self.bn(c_out, h)
        self.shortcut(c_in, c_out, s, h_in, option)
        self.relu(c_out, h)
        self.rows.append(Row("BottleneckBlock", [1, c_out, h, h], 0, 0, {}, self.stage))
        self.c, self.h = c_out, h

    def head(self, classes):
        self.stage = "head"
        self.rows.append(Row("AdaptiveAvgPool2D", [1, self.c, 1, 1], 0, 0, {"output_size": [1, 1]}, "head"))
        params = self.c * classes + classes
        self.macs += self.c * classes
        self.rows.append(Row("Linear", [1, classes], params, params, {}, "head"))


def _imagenet_stages(net: _Net, layers, add_block) -> None:
    """The four ImageNet stages: stage i has 64 * 2**i planes, and its first block halves the resolution (except
    in the first stage); ``add_block(planes, stride, first)`` appends one block."""
    for i, count in enumerate(layers):
        net.stage = f"layer{i + 1}"
        for j in range(count):
            add_block(64 * 2 ** i, 2 if i > 0 and j == 0 else 1, j == 0)


def describe(name: str) -> _Net:
    """Walk architecture ``name`` at its default input size (224x224 ImageNet, 32x32 CIFAR)."""
    if name in RESNET_D:
        return describe_resnet_d(name)
    if name in IMAGENET:
        block, layers, groups, per_group = IMAGENET[name]
        net = _Net(3, 224)
        h = net.conv(3, 64, 7, 2, 3, 224)
        net.bn(64, h)
        net.relu(64, h)
        net.max_pool(64, h)
        def add_block(planes, stride, first):
            if block == "basic":
                net.basic(net.c, planes, stride, "B")
            else:
                net.bottleneck(net.c, 4 * planes, stride, planes * per_group // 64 * groups, groups)

        _imagenet_stages(net, layers, add_block)
        net.head(1000)
        return net
    n = CIFAR[name]
    net = _Net(3, 32)
    net.conv(3, 16, 3, 1, 1, 32)
    net.bn(16, 32)
    net.relu(16, 32)
    net.c, net.h = 16, 32
    for i, width in enumerate((16, 32, 64)):
        net.stage = f"layer{i + 1}"
        for j in range(n):
            net.basic(net.c, width, 2 if i > 0 and j == 0 else 1, "A")
    net.head(10)
    return net


def describe_resnet_d(name: str, size: int = 224) -> _Net:
    """Walk the ResNet-D ``name`` (``RESNET_D``) at ``size`` x ``size``: the deep stem, then stages whose
    projections average-pool (see the module docstring)."""
    block, layers, project_first = RESNET_D[name]
    net = _Net(3, size)
    h = net.conv(3, 32, 3, 2, 1, size)  # the deep stem: 3x3/2 32, 3x3 32, 3x3 64, BN and ReLU after each
    net.bn(32, h)
    net.relu(32, h)
    net.conv(32, 32, 3, 1, 1, h)
    net.bn(32, h)
    net.relu(32, h)
    net.conv(32, 64, 3, 1, 1, h)
    net.bn(64, h)
    net.relu(64, h)
    net.max_pool(64, h)

    def add_block(planes, stride, first):
        option = "D-projected" if project_first and first else "D"
        if block == "basic":
            net.basic(net.c, planes, stride, option)
        else:
            net.bottleneck(net.c, 4 * planes, stride, planes, 1, option)

    _imagenet_stages(net, layers, add_block)
    net.head(1000)
    return net


def input_size(name: str) -> List[int]:
    return [1, 3, 32, 32] if name in CIFAR else [1, 3, 224, 224]


def closed_form(name: str) -> dict:
    """Everything the golden file records for ``name``, except the digest (which needs the project's hash)."""
    net = describe(name)
    total = sum(r.params for r in net.rows)
    trainable = sum(r.trainable for r in net.rows)
    counts: Dict[str, int] = {}
    stage_shapes: Dict[str, List[int]] = {}
    for row in net.rows:
        counts[row.type] = counts.get(row.type, 0) + 1
        stage_shapes[row.stage] = row.output_shape
    return {
        "params": {"total": total, "trainable": trainable, "non_trainable": total - trainable},
        "macs": net.macs,
        "output_shape": net.rows[-1].output_shape,
        "stage_shapes": stage_shapes,
        "layer_counts": dict(sorted(counts.items())),
    }
