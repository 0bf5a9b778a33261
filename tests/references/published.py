"""Independent references that are not our own model: paddle.summary printouts and torchvision's published
metadata."""

from __future__ import annotations

import contextlib
import io
import re

import paddle

# torchvision/models/resnet.py, the weights metadata (torchvision >= 0.13): "num_params" (trainable parameters;
# PyTorch keeps BatchNorm running statistics as buffers) and "_ops" (GMACs of convs and linears at 224x224,
# the number torchvision labels GFLOPS). Copied from the published file, not computed here.
TORCHVISION_PUBLISHED = {
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
    "resnext50_32x4d": (25_028_904, 4.230),
    "resnext101_32x8d": (88_791_336, 16.414),
    "resnext101_64x4d": (83_455_272, 15.460),
    "wide_resnet50_2": (68_883_240, 11.398),
    "wide_resnet101_2": (126_886_696, 22.753),
}

# He et al. 2015, Table 6 (CIFAR-10): parameters in millions, as printed.
PAPER_CIFAR_PARAMS_M = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85,
                        "resnet110": 1.7, "resnet1202": 19.4}


def summary_params(layer, input_size):
    """``{"total", "trainable", "non_trainable"}`` parsed from what ``paddle.summary`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        paddle.summary(layer, input_size)
    numbers = {key: int(value.replace(",", "")) for key, value in
               re.findall(r"^(Total|Trainable|Non-trainable) params: ([\d,]+)$", out.getvalue(), re.M)}
    return {"total": numbers["Total"], "trainable": numbers["Trainable"], "non_trainable": numbers["Non-trainable"]}
