"""Independent references that are not our own model: paddle.summary printouts and the published metadata of
torchvision, timm and PaddleClas."""

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

# PaddleClas's model zoo, docs/zh_CN/models/ImageNet1k/ResNet.md (PaddlePaddle/PaddleClas at commit d178931,
# Oct 2024): "Params (M)" as printed, and ImageNet top-1 of the published weights ("_ssld": the SSLD-distilled ones).
PADDLECLAS_PUBLISHED = {
    "resnet18_vd": (11.71, 0.723), "resnet34_vd": (21.82, 0.760), "resnet50_vd": (25.58, 0.791),
    "resnet101_vd": (44.57, 0.802), "resnet152_vd": (60.21, 0.806), "resnet200_vd": (74.74, 0.809),
}
PADDLECLAS_SSLD_TOP1 = {"resnet34_vd": 0.797, "resnet50_vd": 0.830, "resnet101_vd": 0.837}

# timm's results table, results/results-imagenet.csv (huggingface/pytorch-image-models at commit aa4b585):
# param_count in millions, as printed, for timm's model -> our row with the same network.
TIMM_PUBLISHED_PARAMS_M = {
    "resnet18d": ("resnet18d", 11.71), "resnet34d": ("resnet34d", 21.82), "resnet50_vd": ("resnet50d", 25.58),
    "resnet101_vd": ("resnet101d", 44.57), "resnet152_vd": ("resnet152d", 60.21),
    "resnet200d": ("resnet200d", 64.69),
}

# He et al. 2015, Table 6 (CIFAR-10): parameters in millions, as printed.
PAPER_CIFAR_PARAMS_M = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85,
                        "resnet110": 1.7, "resnet1202": 19.4}


# He et al. 2015, Table 1 ("FLOPs" row: 1.8x10^9 for 18 layers, 3.6x10^9 for 34) and section 3.3 ("Our 34-layer
# baseline has 3.6 billion FLOPs (multiply-adds)"), as printed, in billions. They are the plain nets' and, by
# section 4.1 (option A adds "no extra parameter" and no multiply-add), the option-A ResNets' too.
PAPER_FLOPS_BILLIONS = {"plain18": 1.8, "plain34": 3.6, "resnet18:shortcut=A": 1.8, "resnet34:shortcut=A": 3.6}

# He et al. 2015, section 4.1 on Table 3: option C's gain over B comes from "many (thirteen) projection shortcuts"
# that ResNet-34 C has and ResNet-34 B has not.
PAPER_OPTION_C_EXTRA_PROJECTIONS = 13


def summary_params(layer, input_size):
    """``{"total", "trainable", "non_trainable"}`` parsed from what ``paddle.summary`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        paddle.summary(layer, input_size)
    numbers = {key: int(value.replace(",", "")) for key, value in
               re.findall(r"^(Total|Trainable|Non-trainable) params: ([\d,]+)$", out.getvalue(), re.M)}
    return {"total": numbers["Total"], "trainable": numbers["Trainable"], "non_trainable": numbers["Non-trainable"]}
