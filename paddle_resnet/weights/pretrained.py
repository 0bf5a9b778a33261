"""The published pretrained weight sets, one typed record each, named ``arch.tag`` as timm names them.

``resnet50.paddle`` is ``paddle.vision``'s ImageNet file for resnet50, ``resnet50_vd.paddleclas`` PaddleClas's,
``resnet50_vd.ssld`` PaddleClas's SSLD-distilled one. Each ``PretrainedCfg`` says where the file is (URL and
checksum, from the download tables of ``weights/official.py``), how an image must be prepared for it (mean, std,
input size, crop, interpolation), its license, and the top-1 accuracy its publisher reports, with the source.

>>> list_pretrained("resnet50*")
['resnet50.paddle', 'resnet50_vd.paddleclas', 'resnet50_vd.ssld']
>>> cfg = get_pretrained_cfg("resnet50_vd.ssld")
>>> cfg.top1, cfg.crop_pct, cfg.interpolation
(83.0, 0.875, 'bilinear')

``create_model("resnet50_vd.ssld", pretrained=True)`` loads one by name; ``create_model("resnet50_vd",
pretrained="ssld")`` (the earlier spelling) is the same set.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

from .._errors import PaddleResNetError
from .official import OFFICIAL_WEIGHTS, PADDLECLAS_WEIGHTS

#: ImageNet's channel statistics on the 0-1 scale (RGB), which both publishers' evaluation transforms use.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_PADDLECLAS_ZOO = ("PaddleClas model zoo, docs/en/algorithm_introduction/ImageNet_models_en.md, section 4 "
                   "(ResNet series), ImageNet-1k val")

#: Top-1 accuracy (%) that PaddleClas reports for each of its files (source: ``_PADDLECLAS_ZOO``).
_PADDLECLAS_TOP1 = {
    ("resnet18_vd", "paddleclas"): 72.26, ("resnet34_vd", "paddleclas"): 75.98, ("resnet34_vd", "ssld"): 79.72,
    ("resnet50_vd", "paddleclas"): 79.12, ("resnet50_vd", "ssld"): 83.00, ("resnet101_vd", "paddleclas"): 80.17,
    ("resnet101_vd", "ssld"): 83.73, ("resnet152_vd", "paddleclas"): 80.59, ("resnet200_vd", "paddleclas"): 80.93,
}


class UnknownPretrainedError(PaddleResNetError, ValueError):
    """A pretrained weight set name (``arch.tag``) or tag that is not published for the architecture."""


@dataclass(frozen=True)
class PretrainedCfg:
    """One published set of weights: what it is, where it is, and how its input must be prepared.

    The URL and checksum are read from ``weights/official.py``'s download tables when asked for, so the record
    and the download always agree."""

    architecture: str  #: the table row the weights fit (``resnet50_vd``)
    tag: str  #: ``paddle``, ``paddleclas`` or ``ssld``
    publisher: str  #: ``paddle.vision`` or ``PaddleClas``
    top1: Optional[float]  #: published ImageNet-1k top-1 accuracy in %, or None where none is published
    top1_source: str  #: where ``top1`` comes from (or why there is none)
    license: str = "Apache-2.0"  #: the license of the publisher's repository, under which the files are released
    mean: Tuple[float, float, float] = IMAGENET_MEAN  #: per channel (RGB), on the 0-1 pixel scale
    std: Tuple[float, float, float] = IMAGENET_STD
    input_size: Tuple[int, int, int] = (3, 224, 224)  #: channels, height, width of the evaluation input
    crop_pct: float = 0.875  #: the center crop's share of the resized short side (224 of 256)
    interpolation: str = "bilinear"  #: how the short side is resized

    @property
    def name(self) -> str:
        """``arch.tag``: ``resnet50_vd.ssld``."""
        return f"{self.architecture}.{self.tag}"

    @property
    def variant(self) -> Union[bool, str]:
        """The ``pretrained=`` value that loads these weights for the architecture: ``True`` or ``"ssld"``."""
        return "ssld" if self.tag == "ssld" else True

    @property
    def url(self) -> str:
        if self.publisher == "paddle.vision":
            return OFFICIAL_WEIGHTS[self.architecture][0]
        return PADDLECLAS_WEIGHTS[self.architecture]["imagenet" if self.tag == "paddleclas" else self.tag]

    @property
    def checksum(self) -> str:
        """``md5:<hex>`` where the publisher gives one; PaddleClas gives none, so its files are checked against
        the sha256 recorded at their first download."""
        if self.publisher == "paddle.vision":
            return f"md5:{OFFICIAL_WEIGHTS[self.architecture][1]}"
        return "sha256 recorded at first download"


def _records() -> Dict[str, PretrainedCfg]:
    records = [PretrainedCfg(name, "paddle", "paddle.vision", None,
                             "paddle.vision publishes no accuracy for its ResNet files") for name in OFFICIAL_WEIGHTS]
    for name, variants in PADDLECLAS_WEIGHTS.items():
        for variant in variants:
            tag = "paddleclas" if variant == "imagenet" else variant
            records.append(PretrainedCfg(name, tag, "PaddleClas", _PADDLECLAS_TOP1.get((name, tag)), _PADDLECLAS_ZOO))
    return {record.name: record for record in records}


#: Every published weight set, by ``arch.tag``.
PRETRAINED: Dict[str, PretrainedCfg] = _records()


def list_pretrained(pattern: str = "*") -> List[str]:
    """The names (``arch.tag``) of the published weight sets that match ``pattern`` (``fnmatch``), sorted."""
    return sorted(name for name in PRETRAINED if fnmatch.fnmatchcase(name, pattern))


def get_pretrained_cfg(name: str) -> PretrainedCfg:
    """The record of the weight set ``name`` (``arch.tag``); ``UnknownPretrainedError`` naming the sets there are."""
    if name in PRETRAINED:
        return PRETRAINED[name]
    architecture = name.partition(".")[0]
    published = list_pretrained(f"{architecture}.*")
    where = (f"{architecture} has {', '.join(published)}" if published else
             f"the published sets are {', '.join(list_pretrained())}")
    close = difflib.get_close_matches(name, list(PRETRAINED), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise UnknownPretrainedError(f"no pretrained weights named {name!r}{hint}; {where}")


def pretrained_cfg_for(architecture: str, pretrained: Union[bool, str]) -> Optional[PretrainedCfg]:
    """The record that ``pretrained`` (``True`` or ``"ssld"``) loads for ``architecture``; None for a path, a
    URL, or an architecture without published weights."""
    if pretrained is not True and pretrained != "ssld":
        return None
    for record in PRETRAINED.values():
        if record.architecture == architecture and record.variant == pretrained:
            return record
    return None
