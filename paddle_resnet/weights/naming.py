"""Key naming conventions of weight files, recognised and converted to ours (= ``paddle.vision``'s).

torchvision and timm name the same ResNet tensors as we do, except for BatchNorm statistics, a counter and the
classifier layout::

    torchvision / timm                 paddle (ours)
    <bn>.running_mean                  <bn>._mean
    <bn>.running_var                   <bn>._variance
    <bn>.num_batches_tracked           (none: dropped)
    fc.weight  [out, in]               fc.weight  [in, out]  (transposed)

timm's ResNet-D (``resnet50d`` ...) uses the same names for its deep stem (``conv1.0`` ... ``conv1.6``, ``bn1``)
and average-pool shortcut (``downsample.1`` conv, ``downsample.2`` BN) as our ResNet-D rows, so it converts the
same way.

PaddleClas names every conv + BN pair as one ``ConvBNLayer`` and numbers the blocks through the whole network,
without stages. Two of its schemes are recognised (see ``docs/weights.md``), with BatchNorm statistics already in
Paddle's naming and the classifier already [in, out]::

    PaddleClas >= 2.1 ("legendary")    PaddleClas 2.0                     ours
    stem.0.conv.weight (7x7)           conv._conv.weight                  conv1.weight
    stem.J.conv / .bn  (deep, J=0,1,2) conv1_{J+1}._conv / ._batch_norm   conv1.{0,3,6} / conv1.1, conv1.4, bn1
    blocks.N.convK.conv / .bn          bb_S_I.convK... / res{S+2}{a,b..}  layer{S+1}.I.conv{K+1} / bn{K+1}
    blocks.N.short.conv / .bn          ... .short._conv / ._batch_norm    layer{S+1}.I.downsample.{0,1} (or .{1,2})
    fc.weight, fc.bias                 out.weight, out.bias               fc.weight, fc.bias

The block number N becomes stage S and block I from the weights themselves: every stage's first block has a
``short`` projection in PaddleClas's networks (only the very first block may lack one), so the blocks with one
mark where stages begin. A shortcut's conv is ``downsample.1`` in the ResNet-D layout (deep stem), whose
``downsample.0`` is the average pool, and ``downsample.0`` otherwise.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import numpy as np
from paddle import nn

from .._errors import PaddleResNetError

class NamingConflictError(PaddleResNetError, ValueError):
    """The keys of a weights file follow two naming conventions at once."""


#: Keys that only torchvision / timm naming has, and how the statistics are renamed for Paddle.
_TORCH_ONLY_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")
_TORCH_TO_PADDLE = {".running_mean": "._mean", ".running_var": "._variance"}
_PADDLE_ONLY_SUFFIXES = ("._mean", "._variance")


def to_paddle_naming(state: Mapping[str, np.ndarray], model: nn.Layer) -> Tuple[Dict[str, np.ndarray], str]:
    """``(state in our naming, the naming it came in)``: torchvision / timm and PaddleClas keys are recognised
    and converted for ``model`` (whose Linear layers tell which weights to transpose); our own naming is returned
    as is."""
    if any(_PADDLECLAS_BLOCK.match(key) for key in state):
        return _from_paddleclas(state, _paddleclas_unit), "paddleclas"
    if any(_PADDLECLAS_2_0.search(key) for key in state):
        return _from_paddleclas(state, _paddleclas_2_0_unit), "paddleclas-2.0"
    if _is_torch_naming(state, model):
        return _from_torchvision(state, model), "torchvision"
    return dict(state), "paddle"


def _is_torch_naming(state: Mapping[str, np.ndarray], model: nn.Layer) -> bool:
    """Decided from every signal the keys and shapes give, not from one kind of key: BatchNorm statistics
    named PyTorch's way (or Paddle's way), and failing both (a file of parameters only), a Linear weight whose
    shape is the model's transposed ([out, in] instead of [in, out])."""
    torch = [key for key in state if key.endswith(_TORCH_ONLY_SUFFIXES)]
    paddle = [key for key in state if key.endswith(_PADDLE_ONLY_SUFFIXES)]
    if torch and paddle:  # e.g. one stray PyTorch key in a Paddle file: guessing could transpose a classifier
        raise NamingConflictError(
            f"the weights mix two namings: {len(torch)} key(s) in PyTorch's ({', '.join(k[:80] for k in torch[:3])}) "
            f"and {len(paddle)} in Paddle's ({', '.join(k[:80] for k in paddle[:3])}) BatchNorm statistics names; "
            "which one applies "
            "(and whether Linear weights are transposed) cannot be told. Rename or drop the odd keys and pass the "
            "state dict")
    if torch:
        return True
    if paddle:
        return False
    own = model.state_dict()
    transposed = [key for key in _linear_weights(model) if key in state and key in own
                  and np.ndim(state[key]) == 2 and tuple(state[key].shape) != tuple(own[key].shape)
                  and tuple(state[key].shape) == tuple(own[key].shape)[::-1]]
    return bool(transposed)


def _linear_weights(model: nn.Layer):
    return {f"{name}.weight" for name, layer in model.named_sublayers() if isinstance(layer, nn.Linear)}


def _from_torchvision(state: Mapping[str, np.ndarray], model: nn.Layer) -> Dict[str, np.ndarray]:
    """Rename torchvision / timm keys to Paddle's and transpose Linear weights from [out, in] to [in, out]."""
    linear_weights = _linear_weights(model)
    converted = {}
    for key, value in state.items():
        if key.endswith(".num_batches_tracked"):
            continue  # PyTorch's BatchNorm step counter; Paddle has none and does not need it
        for torch_suffix, paddle_suffix in _TORCH_TO_PADDLE.items():
            if key.endswith(torch_suffix):
                key = key[:-len(torch_suffix)] + paddle_suffix
        if key in linear_weights and value.ndim == 2:
            value = np.ascontiguousarray(value.T)
        converted[key] = value
    return converted


# ------------------------------------------------------------------------------------------------ PaddleClas

_PADDLECLAS_BLOCK = re.compile(r"^blocks\.(\d+)\.(conv\d|short)\.(conv|bn)\.(.+)$")
_PADDLECLAS_STEM = re.compile(r"^stem\.(\d)\.(conv|bn)\.(.+)$")
_PADDLECLAS_2_0 = re.compile(r"\.(_conv|_batch_norm)\.")
_PADDLECLAS_2_0_KEY = re.compile(r"^(conv1_(\d)|conv|bb_(\d+)_(\d+)|res(\d)([a-z])(\d*))\.(?:(conv\d|short)\.)?"
                                 r"(_conv|_batch_norm)\.(.+)$")

#: A PaddleClas conv + BN pair, identified as ("stem", J) or ("block", (stage, block), "convK" or "short").
Unit = Tuple


def _paddleclas_unit(key: str, stage_starts: List[int]) -> Optional[Tuple[Unit, str, str]]:
    """``(unit, "conv" or "bn", leaf)`` of a PaddleClas >= 2.1 key, ``None`` for keys outside conv/BN pairs."""
    match = _PADDLECLAS_STEM.match(key)
    if match:
        return ("stem", int(match.group(1))), match.group(2), match.group(3)
    match = _PADDLECLAS_BLOCK.match(key)
    if match:
        number = int(match.group(1))
        stage = max(i for i, start in enumerate(stage_starts) if start <= number)
        return ("block", (stage, number - stage_starts[stage]), match.group(2)), match.group(3), match.group(4)
    return None


def _paddleclas_2_0_unit(key: str, stage_starts: List[int]) -> Optional[Tuple[Unit, str, str]]:
    """The same for PaddleClas 2.0's keys: ``conv1_2._conv.weight``, ``bb_2_5.conv1._batch_norm._mean`` (ResNet-vd),
    ``conv._conv.weight``, ``res4b22.short._conv.weight`` (plain ResNet; res4b<i> numbers stage 3 of 101/152)."""
    match = _PADDLECLAS_2_0_KEY.match(key)
    if not match:
        return None
    name, stem_number, bb_stage, bb_block, res_stage, letter, number, branch, kind, leaf = match.groups()
    kind = "conv" if kind == "_conv" else "bn"
    if name == "conv":
        return ("stem", 0), kind, leaf
    if stem_number:
        return ("stem", int(stem_number) - 1), kind, leaf
    if branch is None:
        return None
    if bb_stage is not None:
        position = (int(bb_stage), int(bb_block))
    else:  # res2a, res2b ...; res4a, res4b1, res4b2 ... where a stage has more blocks than letters are sensible
        position = (int(res_stage) - 2, int(number) if number else ord(letter) - ord("a"))
    return ("block", position, branch), kind, leaf


def _from_paddleclas(state: Mapping[str, np.ndarray], unit_of) -> Dict[str, np.ndarray]:
    """Rename PaddleClas keys to ours (the tensors keep their layout: both are Paddle)."""
    starts = sorted({0} | {int(m.group(1)) for m in map(_PADDLECLAS_BLOCK.match, state) if m and m.group(2) == "short"})
    units = {key: unit_of(key, starts) for key in state}
    deep_stem = any(u and u[0] == ("stem", 1) for u in units.values())
    converted = {}
    for key, value in state.items():
        if key in ("out.weight", "out.bias"):  # PaddleClas 2.0's classifier
            key = "fc." + key.split(".")[1]
        elif units[key] is not None:
            unit, kind, leaf = units[key]
            key = f"{_our_layer(unit, kind, deep_stem)}.{leaf}"
        converted[key] = value
    return converted


def _our_layer(unit: Unit, kind: str, deep_stem: bool) -> str:
    """Our name of the conv (``kind="conv"``) or BatchNorm (``"bn"``) of a PaddleClas conv + BN pair."""
    if unit[0] == "stem":
        number = unit[1]
        if not deep_stem:
            return "conv1" if kind == "conv" else "bn1"
        if kind == "conv":
            return f"conv1.{3 * number}"
        return f"conv1.{3 * number + 1}" if number < 2 else "bn1"
    _, (stage, block), branch = unit
    prefix = f"layer{stage + 1}.{block}"
    if branch == "short":
        first = 1 if deep_stem else 0  # ResNet-D: downsample.0 is the average pool (or its Identity)
        return f"{prefix}.downsample.{first if kind == 'conv' else first + 1}"
    number = int(branch[-1]) + 1
    return f"{prefix}.{'conv' if kind == 'conv' else 'bn'}{number}"


# ------------------------------------------------------------------------------- when the layout differs

_BLOCK_KEY = re.compile(r"^layer(\d+)\.(\d+)\.")


def layout_hints(missing: Iterable[str], unexpected: Iterable[str]) -> List[str]:
    """The builder options (or rows) under which weights would fit, read from the keys missing from the weights
    and the keys the model lacks (both in our naming); empty when no known layout difference explains them.

    >>> hints = layout_hints(missing=["layer1.0.downsample.0.weight", "layer1.0.downsample.1.weight"], unexpected=[])
    >>> hints[0].split(": ")[-1]
    'build with first_block_projection=False (rows resnet18d, resnet34d)'
    """
    first = "layer1.0.downsample."
    missing_first = [key for key in missing if key.startswith(first)]
    unexpected_first = [key for key in unexpected if key.startswith(first)]
    missing = [key for key in missing if not key.startswith(first)]
    unexpected = [key for key in unexpected if not key.startswith(first)]
    hints = []
    if unexpected_first and not missing_first:
        hints.append("the weights have a projection shortcut on layer1's first block and the model does not "
                     "(PaddleClas's layout): build with first_block_projection=True (rows resnet18_vd, resnet34_vd)")
    if missing_first and not unexpected_first:
        hints.append("the model has a projection shortcut on layer1's first block and the weights do not (timm's "
                     "resnet18d/34d, torchvision's resnet18/34): build with first_block_projection=False (rows "
                     "resnet18d, resnet34d)")
    stems = {"conv1.weight": "stem='imagenet'", "conv1.0.weight": "stem='deep'"}
    for key, option in stems.items():
        if key in unexpected and any(other in missing for other in stems if other != key):
            hints.append(f"the weights have the stem of {option} and the model another: build with {option}")
    pooled_weights = any(".downsample.2." in key for key in unexpected)
    pooled_model = any(".downsample.2." in key for key in missing)
    if pooled_weights and not pooled_model:
        hints.append("the weights' shortcuts average-pool before their 1x1 conv (the conv is downsample.1): build "
                     "with downsample='avgpool'")
    if pooled_model and not pooled_weights:
        hints.append("the model's shortcuts average-pool before their 1x1 conv and the weights' do not: build with "
                     "downsample='conv'")
    only_one_side = _blocks_per_stage(unexpected + missing)
    if only_one_side:
        hints.append("the blocks per stage differ: " + "; ".join(
            f"layer{stage} blocks {min(blocks)}..{max(blocks)} exist on one side only"
            for stage, blocks in sorted(only_one_side.items())))
    return hints


def _blocks_per_stage(keys: Iterable[str]) -> Dict[int, set]:
    """Stage -> whole blocks (``layerS.I``) that only one side has, judged by their conv1 weight."""
    found: Dict[int, set] = {}
    for key in keys:
        match = _BLOCK_KEY.match(key)
        if match and key.endswith(".conv1.weight"):
            found.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    return found
