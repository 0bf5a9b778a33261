"""An independent, closed-form description of every architecture, written from the papers.

This module does not import paddle_resnet or Paddle. From the published definitions alone it lists the rows of
the computation a correct model must produce at its default input size, in forward order: every layer (type,
output shape, parameters, settings) and every operation between layers (the residual addition, the ReLUs, the
flatten before the classifier, the zero padding of option A), each with the rows it takes its inputs from, named
the way ``paddle_resnet.analysis.trace`` names them (see its docstring): layers by their sublayer path in
torchvision's and paddle.vision's naming (``layer2.0.conv1``, ``layer2.0.downsample.0``), operations by the block
that performs them (``layer2.0:add``, ``layer2.0:relu#2``; ``:flatten`` for the network itself). Parameter counts,
MACs, per-stage shapes and layer counts follow in closed form.

Sources: He et al. 2015, "Deep Residual Learning for Image Recognition" (Table 1 for ImageNet, section 4.2
for CIFAR-10; Fig. 2 / eq. 1: y = F(x) + x, then the ReLU, "after the addition"); Xie et al. 2017 (ResNeXt:
grouped 3x3 conv, "CxWd" = C groups of W channels in the first stage); Zagoruyko & Komodakis 2016 / torchvision
(wide_resnet*_2: bottleneck inner width doubled). Stride on the 3x3 conv of the bottleneck ("v1.5", as
torchvision and paddle.vision), projection shortcuts (option B) on ImageNet, zero-padding identity shortcuts
(option A) on CIFAR: the input subsampled by taking every second pixel (what a stride-2 1x1 convolution reads)
and the new channels appended after the input's as zeros. BatchNorm as Ioffe & Szegedy 2015 with the settings
every framework defaults to (epsilon 1e-5; running averages updated with momentum 0.9 in Paddle's convention,
0.1 in PyTorch's), max pool 3x3/2 with padding 1 (torchvision's), global average pool before the classifier.

Plain nets (``PLAIN``) and shortcut options (``VARIANTS``): He et al. 2015, section 3.3 ("Plain Network": the
same stacks without shortcuts, so no addition: each block ends in the ReLU of its second branch output) and
section 3.3/4.1 ("Identity vs. Projection Shortcuts": A zero-pads, B projects where the shape changes, C projects
on every shortcut).

ResNet-D (``RESNET_D``): He et al. 2019, "Bag of Tricks for Image Classification with Convolutional Neural
Networks", section 4.1 and Figure 2: the stem's 7x7 conv replaced by three 3x3 convs (32, 32, 64 channels, the
first with stride 2; ResNet-C), and a shortcut that must halve the resolution average-pools 2x2 with stride 2
before its stride-1 1x1 conv (ResNet-D). The pool rounds up (ceil mode) and averages only the pixels inside the
input, as PaddleClas (``AvgPool2D(2, 2, ceil_mode=True)``, exclusive by default) and timm (``AvgPool2d(2, 2,
ceil_mode=True, count_include_pad=False)``) build it; where a projection keeps the resolution (the first stage)
its pool is an identity, which timm writes as ``nn.Identity`` so that the conv stays ``downsample.1`` (an
identity is a layer call but computes nothing: it has no row). Layers are named as timm names them (the deep
stem ``conv1.0`` ... ``conv1.6``, its ReLUs operations of ``conv1``). Two layouts differ between the libraries:
PaddleClas gives *every* stage's first block a projection, also ResNet-18/34's first stage where the shape does
not change (``ppcls/arch/backbone/legendary_models/resnet.py``: ``shortcut=False`` for ``i == 0``), and its
ResNet200_vd has (3, 12, 48, 3) blocks where timm's resnet200d has the (3, 24, 36, 3) of He et al. 2016,
"Identity Mappings in Deep Residual Networks".
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple


class Row(NamedTuple):
    id: str
    type: str  # a layer's class, or an operation's name
    inputs: List[str]
    output_shape: List[int]
    params: int  # all of the layer's own parameters, BatchNorm running statistics included
    trainable: int
    settings: dict
    stage: str
    layer: Optional[str]  # the layer class this row is a call of (ReLU for a relu row), counted in layer_counts


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

# The paper's plain baselines: each is the residual row named here without its shortcuts and additions (He et al.
# 2015, section 3.3 "Plain Network" and Table 1's 18- and 34-layer columns; section 4.2 for plain-20 ... plain-110,
# built like the CIFAR ResNets of the same depth).
PLAIN: Dict[str, str] = {"plain18": "resnet18", "plain34": "resnet34", "plain20": "resnet20", "plain32": "resnet32",
                         "plain44": "resnet44", "plain56": "resnet56", "plain110": "resnet110"}

# Shortcut options of table rows (Table 3: ResNet-34 A, B, C; Table 2 compares plain-18/34 with ResNet-18/34 A),
# named as ``verify --model`` spells a row with options: variant -> (row, option). A: zero-padding identity
# shortcuts; C: a 1x1 projection (and its BatchNorm) on every block, also where the shape does not change.
VARIANTS: Dict[str, Tuple[str, str]] = {
    "resnet18:shortcut=A": ("resnet18", "A"), "resnet34:shortcut=A": ("resnet34", "A"),
    "resnet18:shortcut=C": ("resnet18", "C"), "resnet34:shortcut=C": ("resnet34", "C"),
}

#: Every table row.
ROWS = sorted([*IMAGENET, *CIFAR, *RESNET_D, *PLAIN])
#: Every row and variant that has a golden entry.
ALL = ROWS + sorted(VARIANTS)


def _conv_settings(c_in, c_out, k, s, p, groups=1):
    return {"channels": [c_in, c_out], "kernel": [k, k], "stride": [s, s], "padding": [p, p, p, p],
            "dilation": [1, 1], "groups": groups, "padding_mode": "zeros", "data_format": "NCHW"}


class _Net:
    """Accumulates rows while walking the architecture; ``value`` is the row whose output flows on, ``c`` and
    ``h`` its channels and (square) resolution."""

    def __init__(self, channels: int, size: int):
        self.rows: List[Row] = []
        self.c, self.h = channels, size
        self.value = "input"
        self.macs = 0
        self.stage = "stem"
        self.uses: Dict[str, int] = {}
        self.rowless: Dict[str, int] = {}  # layer calls that compute nothing, so have no row (Identity)

    def add_row(self, base, kind, inputs, shape, params=0, settings=None, layer=None, trainable=None):
        self.uses[base] = count = self.uses.get(base, 0) + 1
        row_id = base if count == 1 else f"{base}#{count}"
        trainable = params if trainable is None else trainable
        self.rows.append(Row(row_id, kind, inputs, shape, params, trainable, settings or {}, self.stage, layer))
        return row_id

    def conv(self, path, source, c_in, c_out, k, s, p, h_in, groups=1):
        h_out = (h_in + 2 * p - k) // s + 1
        params = c_out * (c_in // groups) * k * k
        self.macs += h_out * h_out * params
        return self.add_row(path, "Conv2D", [source], [1, c_out, h_out, h_out], params,
                            _conv_settings(c_in, c_out, k, s, p, groups), "Conv2D"), h_out

    def bn(self, path, source, c, h):
        settings = {"channels": c, "epsilon": 1e-05, "momentum": 0.9, "data_format": "NCHW"}
        return self.add_row(path, "BatchNorm2D", [source], [1, c, h, h], 4 * c, settings, "BatchNorm2D", 2 * c)

    def relu(self, owner, source, c, h):
        return self.add_row(f"{owner}:relu", "relu", [source], [1, c, h, h], layer="ReLU")

    def residual(self, owner, branch, shortcut, c, h):
        """y = F(x) + shortcut(x), then the ReLU (the addition's inputs in sorted order: it commutes)."""
        added = self.add_row(f"{owner}:add", "add", sorted([branch, shortcut]), [1, c, h, h])
        return self.relu(owner, added, c, h)

    def shortcut(self, block, source, c_in, c_out, s, h_in, option):
        if s == 1 and c_in == c_out and option not in ("D-projected", "C"):
            return source
        path = f"{block}.downsample"
        if option in ("B", "C"):  # a 1x1 projection and its BatchNorm
            conv, h = self.conv(f"{path}.0", source, c_in, c_out, 1, s, 0, h_in)
            return self.bn(f"{path}.1", conv, c_out, h)
        if option.startswith("D"):  # ResNet-D: average pool (an identity at stride 1), stride-1 1x1 conv, BN
            if s == 1:
                self.rowless["Identity"] = self.rowless.get("Identity", 0) + 1
                pooled, h = source, h_in
            else:
                h = -(-(h_in - s) // s) + 1  # ceil mode, no padding
                pooled = self.add_row(f"{path}:avg_pool2d", "avg_pool2d", [source], [1, c_in, h, h],
                                      layer="AvgPool2D",
                                      settings={"kernel": [s, s], "stride": [s, s], "padding": [0, 0, 0, 0],
                                                "ceil_mode": True, "exclusive": True, "divisor": None,
                                                "data_format": "NCHW"})
            conv, _ = self.conv(f"{path}.1", pooled, c_in, c_out, 1, 1, 0, h)
            return self.bn(f"{path}.2", conv, c_out, h)
        h = -(-h_in // s)  # option A: every s-th pixel, then zero channels appended after the input's
        sampled = self.add_row(f"{path}:getitem", "getitem", [source], [1, c_in, h, h],
                               settings={"index": f":, :, ::{s}, ::{s}"})
        zeros = self.add_row(f"{path}:zeros", "zeros", [], [1, c_out - c_in, h, h],
                             settings={"shape": [1, c_out - c_in, h, h]})
        self.add_row(f"{path}:concat", "concat", [sampled, zeros], [1, c_out, h, h], settings={"axis": 1})
        return self.add_row(path, "ZeroPadShortcut", [source], [1, c_out, h, h], layer="ZeroPadShortcut")

    def basic(self, block, c_in, c_out, s, option):
        x, h_in = self.value, self.h
        out, h = self.conv(f"{block}.conv1", x, c_in, c_out, 3, s, 1, h_in)
        out = self.relu(block, self.bn(f"{block}.bn1", out, c_out, h), c_out, h)
        out, _ = self.conv(f"{block}.conv2", out, c_out, c_out, 3, 1, 1, h)
        out = self.bn(f"{block}.bn2", out, c_out, h)
        self.end_block(block, "BasicBlock", x, out, c_in, c_out, s, h_in, h, option)

    def bottleneck(self, block, c_in, c_out, s, width, groups, option="B"):
        x, h_in = self.value, self.h
        out, _ = self.conv(f"{block}.conv1", x, c_in, width, 1, 1, 0, h_in)
        out = self.relu(block, self.bn(f"{block}.bn1", out, width, h_in), width, h_in)
        out, h = self.conv(f"{block}.conv2", out, width, width, 3, s, 1, h_in, groups)
        out = self.relu(block, self.bn(f"{block}.bn2", out, width, h), width, h)
        out, _ = self.conv(f"{block}.conv3", out, width, c_out, 1, 1, 0, h)
        out = self.bn(f"{block}.bn3", out, c_out, h)
        self.end_block(block, "BottleneckBlock", x, out, c_in, c_out, s, h_in, h, option)

    def end_block(self, block, kind, x, branch, c_in, c_out, s, h_in, h, option):
        """The block's output: ``relu(branch + shortcut(x))`` (a plain block, ``option="none"``: ``relu(branch)``,
        no shortcut and no addition), then the block's own row."""
        if option == "none":
            self.relu(block, branch, c_out, h)
        else:
            self.residual(block, branch, self.shortcut(block, x, c_in, c_out, s, h_in, option), c_out, h)
        self.value = self.add_row(block, kind, [x], [1, c_out, h, h], layer=kind)
        self.c, self.h = c_out, h

    def head(self, classes):
        self.stage = "head"
        pooled = self.add_row(":adaptive_avg_pool2d", "adaptive_avg_pool2d", [self.value], [1, self.c, 1, 1],
                              settings={"output_size": [1, 1], "data_format": "NCHW"}, layer="AdaptiveAvgPool2D")
        flat = self.add_row(":flatten", "flatten", [pooled], [1, self.c],
                            settings={"start_axis": 1, "stop_axis": 3})  # a reshape: not counted as a layer
        params = self.c * classes + classes
        self.macs += self.c * classes
        self.add_row("fc", "Linear", [flat], [1, classes], params, {"features": [self.c, classes]}, "Linear")


    def max_pool(self, source, h_in):
        """The ImageNet stem's 3x3 max-pool with stride 2 and padding 1, on 64 channels."""
        h = (h_in + 2 - 3) // 2 + 1
        self.value = self.add_row(":max_pool2d", "max_pool2d", [source], [1, 64, h, h], layer="MaxPool2D",
                                  settings={"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1],
                                            "ceil_mode": False, "data_format": "NCHW"})
        self.c, self.h = 64, h

    def imagenet_stages(self, layers, add_block):
        """The four ImageNet stages: stage i has 64 * 2**i planes, and its first block halves the resolution
        (except in the first stage); ``add_block(block path, planes, stride, first)`` walks one block."""
        for i, count in enumerate(layers):
            self.stage = f"layer{i + 1}"
            for j in range(count):
                add_block(f"{self.stage}.{j}", 64 * 2 ** i, 2 if i > 0 and j == 0 else 1, j == 0)


def _row_and_option(name: str) -> Tuple[str, Optional[str]]:
    """``(the residual row, its shortcut option or None for the row's own)`` of a plain net or variant."""
    if name in PLAIN:
        return PLAIN[name], "none"
    return VARIANTS.get(name, (name, None))


def describe(name: str) -> _Net:
    """Walk architecture ``name`` (a row, a plain net or a variant) at its default input size (224x224 ImageNet,
    32x32 CIFAR)."""
    name, option = _row_and_option(name)
    if name in RESNET_D:
        return describe_resnet_d(name)
    if name in IMAGENET:
        option = option or "B"
        block, layers, groups, per_group = IMAGENET[name]
        net = _Net(3, 224)
        out, h = net.conv("conv1", "input", 3, 64, 7, 2, 3, 224)
        net.max_pool(net.relu("", net.bn("bn1", out, 64, h), 64, h), h)

        def add_block(path, planes, stride, first):
            if block == "basic":
                net.basic(path, net.c, planes, stride, option)
            else:
                net.bottleneck(path, net.c, 4 * planes, stride, planes * per_group // 64 * groups, groups, option)

        net.imagenet_stages(layers, add_block)
        net.head(1000)
        return net
    n = CIFAR[name]
    net = _Net(3, 32)
    out, _ = net.conv("conv1", "input", 3, 16, 3, 1, 1, 32)
    net.value = net.relu("", net.bn("bn1", out, 16, 32), 16, 32)
    net.c, net.h = 16, 32
    for i, width in enumerate((16, 32, 64)):
        net.stage = f"layer{i + 1}"
        for j in range(n):
            net.basic(f"{net.stage}.{j}", net.c, width, 2 if i > 0 and j == 0 else 1, option or "A")
    net.head(10)
    return net


def describe_resnet_d(name: str, size: int = 224) -> _Net:
    """Walk the ResNet-D ``name`` (``RESNET_D``) at ``size`` x ``size``: the deep stem, then stages whose
    projections average-pool (see the module docstring)."""
    block, layers, project_first = RESNET_D[name]
    net = _Net(3, size)
    out, h = net.conv("conv1.0", "input", 3, 32, 3, 2, 1, size)  # 3x3/2 32, 3x3 32, 3x3 64: BN and ReLU after each
    out = net.relu("conv1", net.bn("conv1.1", out, 32, h), 32, h)
    out, _ = net.conv("conv1.3", out, 32, 32, 3, 1, 1, h)
    out = net.relu("conv1", net.bn("conv1.4", out, 32, h), 32, h)
    out, _ = net.conv("conv1.6", out, 32, 64, 3, 1, 1, h)
    net.max_pool(net.relu("", net.bn("bn1", out, 64, h), 64, h), h)

    def add_block(path, planes, stride, first):
        option = "D-projected" if project_first and first else "D"
        if block == "basic":
            net.basic(path, net.c, planes, stride, option)
        else:
            net.bottleneck(path, net.c, 4 * planes, stride, planes, 1, option)

    net.imagenet_stages(layers, add_block)
    net.head(1000)
    return net


def input_size(name: str) -> List[int]:
    return [1, 3, 32, 32] if _row_and_option(name)[0] in CIFAR else [1, 3, 224, 224]


def closed_form(name: str) -> dict:
    """Everything the golden file records for ``name``: the fingerprint's metrics and its layer rows."""
    net = describe(name)
    total = sum(r.params for r in net.rows)
    trainable = sum(r.trainable for r in net.rows)
    counts: Dict[str, int] = {}
    stage_shapes: Dict[str, List[int]] = {}
    for row in net.rows:
        if row.layer:
            counts[row.layer] = counts.get(row.layer, 0) + 1
        stage_shapes[row.stage] = row.output_shape
    for layer, count in net.rowless.items():
        counts[layer] = counts.get(layer, 0) + count
    return {
        "params": {"total": total, "trainable": trainable, "non_trainable": total - trainable},
        "macs": net.macs,
        "output_shape": net.rows[-1].output_shape,
        "stage_shapes": stage_shapes,
        "layer_counts": dict(sorted(counts.items())),
        "layers": [[r.id, r.type, r.inputs, r.output_shape, r.params, r.settings] for r in net.rows],
    }
