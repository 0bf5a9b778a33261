"""The ResNet network: a stem, stages of residual blocks, and a classifier head, built from a config row.

    input -> stem (conv1, bn1, relu[, maxpool]) -> layer1 -> layer2 -> ... -> avgpool -> flatten -> fc

The deep stem (``stem="deep"``, ResNet-C/D) replaces the single ``conv1`` with a ``Sequential`` of three 3x3
convs with BatchNorm and ReLU between them, named as timm names it (``conv1.0``, ``conv1.1`` ... ``conv1.6``);
its last BatchNorm and ReLU are the usual ``bn1`` and ``relu``.

Each stage (``layer1`` ...) is a ``Sequential`` of blocks; its first block changes the width and, except
in the first stage, halves the resolution.
"""

from __future__ import annotations

from typing import List, Union

import numpy as np
import paddle
from paddle import nn

from .blocks import BasicBlock, BottleneckBlock
from .config import ResNetConfig, check_options
from .stages import stage_name
from .table import ARCHITECTURES, IMAGENET_DEPTHS, get_config

#: Downsampling factor of each stem: a stride-2 conv then a 3x3/2 max-pool, or a stride-1 3x3 conv.
STEM_REDUCTION = {"imagenet": 4, "deep": 4, "cifar": 1}

#: Input dtypes a ResNet can run in (with weights of the same dtype, or under autocast).
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _dtype_name(dtype) -> str:
    """``paddle.float32`` (Paddle 3), ``VarType.FP32`` (Paddle 2.6 static graphs) -> ``"float32"``."""
    text = str(dtype).split(".")[-1].lower()
    return {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "fp64": "float64"}.get(text, text)


def _autocast_enabled() -> bool:
    """Whether ``paddle.amp.auto_cast`` is on, or this is a static graph being traced (no eager tracer)."""
    try:
        from paddle.base.framework import _dygraph_tracer  # private: Paddle has no public query in 2.6

        tracer = _dygraph_tracer()
        return tracer is None or str(tracer._amp_level) != "AmpLevel.O0"
    except (ImportError, AttributeError):  # a Paddle that moved it: leave the dtype to Paddle's own check
        return True


def resolve_config(arch: Union[int, str, ResNetConfig], **options) -> ResNetConfig:
    """Turn ``ResNet``'s first argument (a depth, a table name or a config) plus options into a config."""
    if isinstance(arch, ResNetConfig):
        check_options(options)
        return arch.replace(**options)
    if isinstance(arch, bool) or not isinstance(arch, (int, str)):
        raise TypeError(f"ResNet({arch!r}): expected a depth (int), an architecture name or a ResNetConfig")
    if isinstance(arch, int):
        if arch not in IMAGENET_DEPTHS:
            cifar = f" (the CIFAR-10 net of depth {arch} is ResNet('resnet{arch}'))" \
                if f"resnet{arch}" in ARCHITECTURES else ""
            raise ValueError(f"ResNet({arch}): an integer depth names an ImageNet ResNet, one of "
                             f"{', '.join(map(str, IMAGENET_DEPTHS))}{cifar}")
        arch = IMAGENET_DEPTHS[arch]
    return get_config(arch, **options)


def _stem_conv(stem: str, in_channels: int, width: int) -> nn.Layer:
    """The stem's convolution(s) before ``bn1``: 7x7/2 (ImageNet), 3x3/1 (CIFAR), or the deep stem's three 3x3
    convs (the first with stride 2; the first two ``width // 2`` wide; Bag of Tricks' ResNet-C), which see an
    11x11 window of the input through two more nonlinearities where the 7x7 conv sees 7x7."""
    if stem == "imagenet":
        return nn.Conv2D(in_channels, width, 7, stride=2, padding=3, bias_attr=False)
    if stem == "cifar":
        return nn.Conv2D(in_channels, width, 3, stride=1, padding=1, bias_attr=False)
    half = width // 2
    return nn.Sequential(
        nn.Conv2D(in_channels, half, 3, stride=2, padding=1, bias_attr=False), nn.BatchNorm2D(half), nn.ReLU(),
        nn.Conv2D(half, half, 3, padding=1, bias_attr=False), nn.BatchNorm2D(half), nn.ReLU(),
        nn.Conv2D(half, width, 3, padding=1, bias_attr=False),
    )


class ResNet(nn.Layer):
    """A ResNet built from one row of the configuration table (or a custom ``ResNetConfig``).

    Args:
        arch: the depth of an ImageNet ResNet (``50``), a name from ``list_models()`` (``"resnext50_32x4d"``,
            ``"resnet20"``) or a ``ResNetConfig``.
        num_classes: classifier outputs (0: no classifier); ``None`` keeps the architecture's default.
        **options: the builder options (``config.OPTIONS``), described under ``create_model``.

    ``forward`` takes a ``paddle.Tensor`` ``[N, in_channels, H, W]`` (N, H, W >= 1) of the weights' dtype
    (float32 unless the model was converted; any float under ``paddle.amp.auto_cast``). It is not cast: another
    dtype, a numpy array or an empty input raises ``TypeError`` or ``ValueError`` saying what is accepted.
    It returns logits ``[N, num_classes]``; pooled features ``[N, C]`` when ``num_classes=0``; or, with
    ``out_stages``, a list of the requested stage feature maps (see ``feature_info``). As in timm,
    ``forward(x)`` is ``forward_head(forward_features(x))``: ``forward_features`` gives the last feature map,
    unpooled, and ``forward_head`` pools and classifies.

    >>> import paddle
    >>> list(ResNet(18, num_classes=10)(paddle.zeros([2, 3, 64, 64])).shape)
    [2, 10]
    """

    def __init__(self, arch: Union[int, str, ResNetConfig] = 50, num_classes: int | None = None, **options):
        super().__init__()
        if num_classes is not None:
            options["num_classes"] = num_classes
        self.config = config = resolve_config(arch, **options)

        self.conv1 = _stem_conv(config.stem, config.in_channels, config.stem_width)
        self.bn1 = nn.BatchNorm2D(config.stem_width)
        self.relu = nn.ReLU()
        self.maxpool = None if config.stem == "cifar" else nn.MaxPool2D(kernel_size=3, stride=2, padding=1)

        in_channels = config.stem_width
        for index in range(config.num_stages):
            stage = nn.Sequential(*[
                self._make_block(index, in_channels if i == 0 else config.stage_widths[index],
                                 config.stage_strides[index] if i == 0 else 1, first=i == 0)
                for i in range(config.blocks_per_stage[index])
            ])
            self.add_sublayer(stage_name(index + 1), stage)
            in_channels = config.stage_widths[index]

        self.avgpool = nn.AdaptiveAvgPool2D(1) if config.with_pool else None
        self.flatten = nn.Flatten() if config.with_pool else None
        self.fc = nn.Linear(config.stage_widths[-1], config.num_classes) if config.num_classes else None

    def _make_block(self, stage: int, in_channels: int, stride: int, first: bool) -> nn.Layer:
        config = self.config
        common = dict(stride=stride, shortcut=config.shortcut, zero_init_residual=config.zero_init_residual,
                      downsample=config.downsample, always_project=config.first_block_projection and first)
        if config.block == "basic":
            return BasicBlock(in_channels, config.stage_widths[stage], **common)
        return BottleneckBlock(in_channels, config.stage_widths[stage], groups=config.groups,
                               inner_width=config.inner_widths[stage], stride_on=config.stride_on, **common)

    @property
    def num_stages(self) -> int:
        """Stages that are built: all of them, or up to the last of ``out_stages``."""
        return self.config.num_stages

    @property
    def stages(self) -> List[nn.Sequential]:
        """The built stages, in order (``layer1``, ``layer2``, ...)."""
        return [getattr(self, stage_name(i + 1)) for i in range(self.num_stages)]

    @property
    def feature_info(self) -> List[dict]:
        """For each built stage: its ``name``, output ``channels`` and ``reduction`` (input size / map size).

        >>> [(f["name"], f["channels"], f["reduction"]) for f in ResNet(50).feature_info][:2]
        [('layer1', 256, 4), ('layer2', 512, 8)]
        """
        info, reduction = [], STEM_REDUCTION[self.config.stem]
        for i in range(self.num_stages):
            reduction *= self.config.stage_strides[i]
            info.append({"stage": i + 1, "name": stage_name(i + 1), "channels": self.config.stage_widths[i],
                         "reduction": reduction})
        return info

    def _check_input(self, x):
        """Refuse, with what is accepted, an input Paddle's kernels would fail on deep inside (or, for an empty
        image, answer with NaN or the classifier's bias).

        The dtype is not converted: a float64 or integer batch is a mistake upstream (an unnormalised uint8
        image, say) that a silent cast would hide, and PyTorch refuses it alike. Under ``paddle.amp.auto_cast``
        any floating dtype is accepted, since autocast converts it."""
        wanted = f"[batch, {self.config.in_channels}, height, width]"
        if isinstance(x, np.ndarray) or not hasattr(x, "shape"):
            raise TypeError(f"expected a paddle.Tensor of shape {wanted}, got {type(x).__module__}.{type(x).__name__}"
                            f"; convert it with paddle.to_tensor(x, dtype='float32')")
        shape = list(x.shape)
        if len(shape) != 4 or shape[1] != self.config.in_channels:
            raise ValueError(f"expected an input of shape {wanted}, got {shape}")
        if any(isinstance(size, int) and size == 0 for size in shape):  # traced: a dynamic size is -1 or a Tensor
            raise ValueError(f"expected an input of shape {wanted} with at least one image of at least 1x1 pixels, "
                             f"got {shape}")
        if not isinstance(x, paddle.Tensor):
            return  # a graph being traced (its input spec gives the dtype), or a symbolic shape-only trace
        # The first parameter is the stem's first conv (conv1, or conv1.0 in the deep stem): what x meets first.
        dtype, weights = _dtype_name(x.dtype), _dtype_name(next(iter(self.parameters())).dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"expected a floating-point input ({weights}, the dtype of the model's weights), got "
                            f"{dtype}; convert it with x.astype('{weights}') (after normalising the pixel values)")
        if dtype != weights and not _autocast_enabled():
            raise TypeError(f"expected a {weights} input (the dtype of the model's weights), got {dtype}; convert it "
                            f"with x.astype('{weights}'), or run the model under paddle.amp.auto_cast")

    def forward_stem(self, x):
        """The stem: conv1 (three convs in the deep stem), bn1, relu and (except the CIFAR stem) max-pool."""
        x = self.relu(self.bn1(self.conv1(x)))
        return x if self.maxpool is None else self.maxpool(x)

    def forward_stages(self, x) -> list:
        """Feature maps after each built stage, as a list (the stem is applied first)."""
        self._check_input(x)
        x = self.forward_stem(x)
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs

    def forward_features(self, x):
        """The last built stage's feature map ``[N, C, H, W]``, before pooling: timm's ``forward_features``.

        >>> import paddle
        >>> list(ResNet(18).forward_features(paddle.zeros([1, 3, 64, 64])).shape)
        [1, 512, 2, 2]
        """
        return self.forward_stages(x)[-1]

    def forward_head(self, x, pre_logits: bool = False):
        """The head on a feature map from ``forward_features``: global average pooling to ``[N, C]`` (if the
        model pools), then the classifier (if it has one). ``pre_logits=True`` stops before the classifier and
        returns the pooled features, as timm's ``forward_head`` does.

        >>> import paddle
        >>> model = ResNet(18, num_classes=10)
        >>> features = model.forward_features(paddle.zeros([1, 3, 64, 64]))
        >>> list(model.forward_head(features, pre_logits=True).shape), list(model.forward_head(features).shape)
        ([1, 512], [1, 10])
        """
        if self.avgpool is not None:
            x = self.flatten(self.avgpool(x))
        return x if pre_logits or self.fc is None else self.fc(x)

    def forward(self, x):
        if self.config.out_stages:
            stages = self.forward_stages(x)
            return [stages[i - 1] for i in self.config.out_stages]
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a fresh ``Linear`` for ``num_classes`` (0 removes it), e.g. to fine-tune.

        >>> model = ResNet(18)
        >>> model.reset_classifier(2)
        >>> model.fc.weight.shape[1]
        2
        """
        if self.config.out_stages:
            raise ValueError(f"this model returns the feature maps of stages {self.config.out_stages} "
                             "and has no classifier to reset; build it without out_stages")
        with_pool = self.config.with_pool or num_classes > 0  # a classifier needs pooled features
        self.config = self.config.replace(num_classes=num_classes, with_pool=with_pool)
        if with_pool and self.avgpool is None:
            self.avgpool, self.flatten = nn.AdaptiveAvgPool2D(1), nn.Flatten()
        self.fc = nn.Linear(self.config.stage_widths[-1], num_classes) if num_classes else None

    def extra_repr(self):
        names = [name for name, config in ARCHITECTURES.items() if config == self.config]
        return f"arch={names[0]}" if names else ""
