"""Residual blocks: ``out = relu(F(x) + shortcut(x))``.

A block learns a residual ``F(x)`` on top of its input instead of a whole new mapping; when a block has
nothing useful to add, driving ``F(x)`` to zero is easier than learning an identity, which is what lets
very deep stacks train. Sublayer names (``conv1``, ``bn1``, ``downsample.0`` ...) are those of
``paddle.vision.models.resnet``, so its official state dicts load without renaming.

With ``shortcut="none"`` the same blocks are the paper's *plain* baselines: the same layers without the
shortcut and the addition, ``out = relu(F(x))``, so that a plain net and its residual twin differ in the
shortcuts alone.
"""

from __future__ import annotations

import paddle
from paddle import nn

from .._checks import check_choice, check_positive
from .config import DOWNSAMPLES, SHORTCUTS, STRIDE_PLACEMENTS


class ZeroPadShortcut(nn.Layer):
    """Shortcut option A of the paper: identity with no parameters.

    Subsamples ``x`` with ``stride`` (keeping every ``stride``-th pixel, exactly the positions a strided
    1x1 conv would read) and appends ``out_channels - in_channels`` all-zero channels.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"option-A shortcut from {in_channels} to {out_channels} channels: zero padding can only add "
                "channels; use shortcut='B' (projection) to reduce them"
            )
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_channels - self.in_channels
        if not extra:
            return x
        # Concatenated zeros rather than F.pad on the channel axis: Paddle Inference's oneDNN `pad` kernel
        # (2.6 to 3.3) corrupts memory on channel padding, so an exported model would crash on CPU.
        n, _, h, w = x.shape
        return paddle.concat([x, paddle.zeros([n, extra, h, w], dtype=x.dtype)], axis=1)

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def make_shortcut(in_channels: int, out_channels: int, stride: int, shortcut: str, downsample: str = "conv",
                  always_project: bool = False):
    """The shortcut path of a block, or ``None`` when it is the identity (same shape in and out, no
    ``always_project`` and not option C) or when there is none (``shortcut="none"``: the block then adds nothing).

    Option C is option B's projection on every block, also where the shape does not change (Table 3 of the
    paper: "all shortcuts are projections").

    A projection (option B) is ``Sequential(conv 1x1, BN)`` with the stride on the conv (``downsample="conv"``,
    paddle.vision's layout), or ``Sequential(pool, conv 1x1, BN)`` with ``downsample="avgpool"`` (ResNet-D,
    timm's layout, so that timm's keys ``downsample.1`` / ``downsample.2`` fit): the pool averages each
    ``stride x stride`` window (ceil mode, averaging only the pixels inside the input, as PaddleClas and timm do,
    so an odd size rounds up like the main path's padded 3x3 conv) and is an ``Identity`` where the stride is 1.
    """
    check_choice("shortcut", shortcut, SHORTCUTS)
    check_choice("downsample", downsample, DOWNSAMPLES)
    if shortcut == "none":
        if always_project or downsample != "conv":
            raise ValueError(f"shortcut='none' (a plain block) has no shortcut: it cannot take always_project="
                             f"{always_project} or downsample={downsample!r}; use shortcut='B' or 'C'")
        return None
    always_project = always_project or shortcut == "C"
    if stride == 1 and in_channels == out_channels and not always_project:
        return None
    if shortcut == "A":
        if always_project or downsample != "conv":
            raise ValueError(f"shortcut='A' is parameter-free: it cannot take always_project={always_project} or "
                             f"downsample={downsample!r}; use shortcut='B'")
        return ZeroPadShortcut(in_channels, out_channels, stride)
    if downsample == "conv":
        return nn.Sequential(
            nn.Conv2D(in_channels, out_channels, 1, stride=stride, bias_attr=False),
            nn.BatchNorm2D(out_channels),
        )
    # A strided 1x1 conv reads one pixel in four and drops the rest; averaging first lets every pixel count.
    pool = nn.AvgPool2D(stride, stride, ceil_mode=True, exclusive=True) if stride > 1 else nn.Identity()
    return nn.Sequential(pool, nn.Conv2D(in_channels, out_channels, 1, bias_attr=False), nn.BatchNorm2D(out_channels))


def _last_bn(channels: int, zero_init: bool):
    # A zero gamma makes the residual branch output 0 at the start, so the block begins as an identity
    # (Goyal et al. 2017); it helps large-batch training and is off by default, as in paddle.vision.
    if zero_init:
        return nn.BatchNorm2D(channels, weight_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(0.0)))
    return nn.BatchNorm2D(channels)


def _add_shortcut(block, out, x):
    """``out + shortcut(x)`` for a residual block; ``out`` alone for a plain one (``shortcut="none"``)."""
    if not block.residual:
        return out
    return out + (x if block.downsample is None else block.downsample(x))


def _check_channels_and_stride(in_channels, out_channels, stride):
    check_positive("in_channels", in_channels)
    check_positive("out_channels", out_channels)
    check_positive("stride", stride)


class BasicBlock(nn.Layer):
    """Two 3x3 convolutions: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Used by ResNet-18/34 and the CIFAR networks. The first conv carries the stride.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (and of both convolutions).
        stride: 2 halves the resolution, 1 keeps it.
        shortcut: ``"B"`` projects with a 1x1 conv + BN where the shape changes; ``"A"`` zero-pads; ``"C"``
            projects on every block; ``"none"``: no shortcut, no addition (``relu(bn2(conv2(...)))``: a plain block).
        downsample: how a projection halves the resolution: ``"conv"`` (strided 1x1 conv) or ``"avgpool"``
            (2x2 average pool, then the 1x1 conv: ResNet-D).
        always_project: project even where the shape does not change (PaddleClas's first blocks).

    >>> import paddle
    >>> list(BasicBlock(64, 128, 2)(paddle.zeros([1, 64, 56, 56])).shape)
    [1, 128, 28, 28]
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "B",
                 zero_init_residual: bool = False, downsample: str = "conv", always_project: bool = False):
        super().__init__()
        _check_channels_and_stride(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2D(in_channels, out_channels, 3, stride=stride, padding=1, bias_attr=False)
        self.bn1 = nn.BatchNorm2D(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2D(out_channels, out_channels, 3, padding=1, bias_attr=False)
        self.bn2 = _last_bn(out_channels, zero_init_residual)
        self.downsample = make_shortcut(in_channels, out_channels, stride, shortcut, downsample, always_project)
        self.residual = shortcut != "none"
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(_add_shortcut(self, out, x))


class BottleneckBlock(nn.Layer):
    """1x1 reduce, 3x3, 1x1 expand: ``relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + shortcut(x))``.

    Used by ResNet-50/101/152, ResNeXt (``groups`` > 1) and Wide ResNet (a wider ``inner_width``).
    The cheap 1x1 convs shrink the channels so the costly 3x3 conv runs on a quarter of them.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (the expanded width).
        stride: 2 halves the resolution, 1 keeps it.
        groups: groups of the 3x3 conv; must divide ``inner_width``.
        inner_width: channels inside the block (of the 3x3 conv); ``out_channels // 4`` by default.
        stride_on: ``"3x3"`` puts the stride on the 3x3 conv (paddle.vision, torchvision, "v1.5");
            ``"1x1"`` on the first 1x1 conv, as in the 2015 paper (cheaper, slightly less accurate).
        shortcut: ``"B"``, ``"A"``, ``"C"`` or ``"none"``, as for ``BasicBlock``.
        downsample, always_project: as for ``BasicBlock``.

    >>> import paddle
    >>> list(BottleneckBlock(64, 128, 2)(paddle.zeros([1, 64, 56, 56])).shape)
    [1, 128, 28, 28]
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, groups: int = 1,
                 inner_width: int | None = None, stride_on: str = "3x3", shortcut: str = "B",
                 zero_init_residual: bool = False, downsample: str = "conv", always_project: bool = False):
        super().__init__()
        _check_channels_and_stride(in_channels, out_channels, stride)
        check_choice("stride_on", stride_on, STRIDE_PLACEMENTS)
        width = out_channels // 4 if inner_width is None else inner_width
        check_positive("inner_width", width)
        check_positive("groups", groups)
        if width % groups:
            raise ValueError(f"groups={groups} does not divide the bottleneck's inner width {width}: "
                             f"choose groups among the divisors of {width}")
        stride_1x1, stride_3x3 = (stride, 1) if stride_on == "1x1" else (1, stride)
        self.conv1 = nn.Conv2D(in_channels, width, 1, stride=stride_1x1, bias_attr=False)
        self.bn1 = nn.BatchNorm2D(width)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2D(width, width, 3, stride=stride_3x3, padding=1, groups=groups, bias_attr=False)
        self.bn2 = nn.BatchNorm2D(width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2D(width, out_channels, 1, bias_attr=False)
        self.bn3 = _last_bn(out_channels, zero_init_residual)
        self.downsample = make_shortcut(in_channels, out_channels, stride, shortcut, downsample, always_project)
        self.residual = shortcut != "none"
        self.relu3 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(_add_shortcut(self, out, x))
