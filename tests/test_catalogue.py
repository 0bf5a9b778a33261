"""The verifier on models this project did not write: a catalogue of paddle.vision models and PaddleClas backbones,
each recorded once, then checked after single mutations (each must be caught, and should be named in the report's
first line) and after changes that keep the computation (each must pass: no false alarm).

The mutations are found by layer type in each model, so every model gets the same kinds: layer settings (stride,
padding, dilation, BatchNorm epsilon and momentum, pooling kernel), a swapped activation layer, a layer removed
from or inserted into a ``Sequential``, and code-level changes no rule describes (a layer's forward replaced by one
that negates its input, or that reverses its output channels; in a block's own forward, the outputs of ``split``
or the operands of ``concat`` reversed, ``clip``'s upper bound changed, the residual ``add`` dropped, a name-bound
``upsample``'s mode changed, the SE gate skipped, one branch's ``F.relu`` made a ``relu6``). A model gets a case
only for the kinds that have a place in it (``NO_PLACE`` lists the others, and is checked both ways). The
variants include refactors that compute independent branches in another order (for the models with such
branches: paddle.vision's InceptionV3, and a tiny block calling ``F.relu``, ``F.max_pool2d``, ``paddle.add``
directly in its forward). The figures in docs/verification.md come
from ``python tests/test_catalogue.py``, which runs the whole catalogue and prints them.
"""

from __future__ import annotations

import copy
import inspect
import re
import sys
import time
from pathlib import Path

import paddle
import pytest
from paddle import nn
from paddle.nn import functional as F
from paddle.vision import models as vision
from paddle.vision.models import inceptionv3

from paddle_resnet.analysis.trace import trace_graph
from paddle_resnet.verification.compare import render_differences
from paddle_resnet.verification.structure import check_structure, record_structure
from helpers.user_models import FunctionalInception

#: name -> (factory, input size). Small widths and 10 classes: the structure is the same as the full width's.
MODELS = {
    "mobilenet_v1": (lambda: vision.mobilenet_v1(scale=0.25, num_classes=10), [1, 3, 64, 64]),
    "mobilenet_v2": (lambda: vision.mobilenet_v2(scale=0.25, num_classes=10), [1, 3, 64, 64]),
    "mobilenet_v3_small": (lambda: vision.mobilenet_v3_small(scale=0.5, num_classes=10), [1, 3, 64, 64]),
    "mobilenet_v3_large": (lambda: vision.mobilenet_v3_large(scale=0.35, num_classes=10), [1, 3, 64, 64]),
    "shufflenet_v2_x0_25": (lambda: vision.shufflenet_v2_x0_25(num_classes=10), [1, 3, 64, 64]),
    "shufflenet_v2_swish": (lambda: vision.shufflenet_v2_swish(num_classes=10), [1, 3, 64, 64]),
    "squeezenet1_1": (lambda: vision.squeezenet1_1(num_classes=10), [1, 3, 64, 64]),
    "densenet121": (lambda: vision.densenet121(num_classes=10), [1, 3, 64, 64]),
    "squeezenet1_0": (lambda: vision.squeezenet1_0(num_classes=10), [1, 3, 64, 64]),
    "inception_v3": (lambda: vision.inception_v3(num_classes=10), [1, 3, 128, 128]),
    "resnet18": (lambda: vision.resnet18(num_classes=10), [1, 3, 64, 64]),
    "resnext50_32x4d": (lambda: vision.resnext50_32x4d(num_classes=10), [1, 3, 64, 64]),
    # a block calling Paddle's functions in its own forward: F.relu on every branch, two F.max_pool2d, split,
    # add, subtract, concat (helpers/user_models.py)
    "functional_inception": (lambda: FunctionalInception(classes=10), [1, 3, 16, 16]),
    # PaddleClas's own implementations (model_zoo / legendary_models of paddleclas 2.6.0)
    "paddleclas GhostNet_x0_5": (lambda: _clas("model_zoo.ghostnet", "GhostNet_x0_5"), [1, 3, 64, 64]),
    "paddleclas PPLCNet_x0_25": (lambda: _clas("legendary_models.pp_lcnet", "PPLCNet_x0_25"), [1, 3, 64, 64]),
    "paddleclas MobileNetV3_small_x0_35": (lambda: _clas("legendary_models.mobilenet_v3", "MobileNetV3_small_x0_35"),
                                           [1, 3, 64, 64]),
    "paddleclas ShuffleNetV2_x0_25": (lambda: _clas("model_zoo.shufflenet_v2", "ShuffleNetV2_x0_25"),
                                      [1, 3, 64, 64]),
    "paddleclas ResNet50_vd": (lambda: _clas("legendary_models.resnet", "ResNet50_vd"), [1, 3, 64, 64]),
    "paddleclas Res2Net50_26w_4s": (lambda: _clas("model_zoo.res2net", "Res2Net50_26w_4s"), [1, 3, 64, 64]),
    "paddleclas SE_ResNeXt50_32x4d": (lambda: _clas("model_zoo.se_resnext", "SE_ResNeXt50_32x4d"), [1, 3, 64, 64]),
    "paddleclas HRNet_W18_C": (lambda: _clas("legendary_models.hrnet", "HRNet_W18_C"), [1, 3, 64, 64]),
}
#: The mutations each model has no place for (no layer of the kind among the layers its forward calls; no call of
#: the function in a forward of its own classes): no case is generated for them. Kept true both ways: a generated
#: case fails if its mutation finds no place, and the slow test_the_mutations_left_out_have_no_place applies each
#: left-out one and requires it to find none.
_NO_BLOCK_CODE = "split_order concat_order clip_bound residual_removed upsample_mode relu6_in_one_branch"
NO_PLACE = {name: set(names.split()) for name, names in {
    "mobilenet_v1": f"pool_kernel {_NO_BLOCK_CODE} se_gate_removed",
    "mobilenet_v2": f"pool_kernel {_NO_BLOCK_CODE} se_gate_removed",
    "mobilenet_v3_small": "pool_kernel split_order concat_order clip_bound upsample_mode relu6_in_one_branch",
    "mobilenet_v3_large": "pool_kernel split_order concat_order clip_bound upsample_mode relu6_in_one_branch",
    "shufflenet_v2_x0_25": "clip_bound residual_removed upsample_mode relu6_in_one_branch se_gate_removed",
    "shufflenet_v2_swish": "clip_bound residual_removed upsample_mode relu6_in_one_branch se_gate_removed",
    "squeezenet1_1": "bn_epsilon bn_momentum activation_swapped removed_from_sequential inserted_into_sequential "
                     "split_order clip_bound residual_removed upsample_mode relu6_in_one_branch se_gate_removed",
    "densenet121": "activation_swapped removed_from_sequential inserted_into_sequential split_order clip_bound "
                   "residual_removed upsample_mode relu6_in_one_branch se_gate_removed",
    "squeezenet1_0": "bn_epsilon bn_momentum activation_swapped removed_from_sequential inserted_into_sequential "
                     "split_order clip_bound residual_removed upsample_mode relu6_in_one_branch se_gate_removed",
    "inception_v3": "split_order clip_bound residual_removed upsample_mode relu6_in_one_branch se_gate_removed",
    "resnet18": f"removed_from_sequential inserted_into_sequential {_NO_BLOCK_CODE} se_gate_removed",
    "resnext50_32x4d": f"removed_from_sequential inserted_into_sequential {_NO_BLOCK_CODE} se_gate_removed",
    "functional_inception": "bn_epsilon bn_momentum pool_kernel activation_swapped removed_from_sequential "
                            "inserted_into_sequential clip_bound upsample_mode se_gate_removed",
    "paddleclas GhostNet_x0_5": "pool_kernel activation_swapped removed_from_sequential inserted_into_sequential "
                                "split_order upsample_mode relu6_in_one_branch",
    "paddleclas PPLCNet_x0_25": f"pool_kernel removed_from_sequential inserted_into_sequential {_NO_BLOCK_CODE}",
    "paddleclas MobileNetV3_small_x0_35": "pool_kernel removed_from_sequential inserted_into_sequential "
                                          "split_order concat_order clip_bound upsample_mode relu6_in_one_branch",
    "paddleclas ShuffleNetV2_x0_25": "activation_swapped removed_from_sequential inserted_into_sequential "
                                     "clip_bound residual_removed upsample_mode relu6_in_one_branch se_gate_removed",
    "paddleclas ResNet50_vd": "removed_from_sequential inserted_into_sequential split_order concat_order "
                              "clip_bound upsample_mode relu6_in_one_branch se_gate_removed",
    "paddleclas Res2Net50_26w_4s": "activation_swapped removed_from_sequential inserted_into_sequential "
                                   "clip_bound upsample_mode relu6_in_one_branch se_gate_removed",
    "paddleclas SE_ResNeXt50_32x4d": "removed_from_sequential inserted_into_sequential split_order concat_order "
                                     "clip_bound upsample_mode relu6_in_one_branch",
    "paddleclas HRNet_W18_C": "pool_kernel removed_from_sequential inserted_into_sequential split_order "
                              "concat_order clip_bound relu6_in_one_branch se_gate_removed",
}.items()}
#: The fast tier's share (model, mutation or variant): the rest run with --runslow.
FAST = {("shufflenet_v2_x0_25", "reversed_channels"), ("shufflenet_v2_x0_25", "built under LazyGuard"),
        ("functional_inception", "concat_order"), ("functional_inception", "relu6_in_one_branch"),
        ("functional_inception", "branches computed in another order"),
        ("paddleclas SE_ResNeXt50_32x4d", "se_gate_removed")}
BATCH_NORMS = (nn.layer.norm._BatchNormBase, nn.BatchNorm)  # PaddleClas uses the older nn.BatchNorm
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.Swish, nn.Sigmoid)


def _clas(module, builder):
    from helpers.paddleclas import paddleclas_backbone  # a skip that says why, where paddleclas is not installed

    build = getattr(paddleclas_backbone(module), builder)
    with paddle.utils.unique_name.guard():  # its parameters have fixed names: a second copy needs a fresh checker
        return build(class_num=10)


def build(name, lazy=True):
    factory, _ = MODELS[name]
    if lazy:
        with paddle.LazyGuard():
            return factory()
    return factory()


_CALLED: dict = {}  # model name -> the paths of the sublayers its forward calls
_MUTATING: list = []  # the name of the model a mutation is being applied to


def _called(name) -> set:
    """The paths of the sublayers model ``name``'s forward calls (a layer built but not used, as PaddleClas's
    ``avg_pool`` of a block not in vd mode, is no place for a mutation): traced once per model."""
    if name not in _CALLED:
        _CALLED[name] = {call.name for call in trace_graph(build(name), MODELS[name][1]).calls}
    return _CALLED[name]


def _middle(model, kinds, where=lambda layer: True):
    called = _called(_MUTATING[-1])
    found = [(path, layer) for path, layer in model.named_sublayers()
             if isinstance(layer, kinds) and path in called and where(layer)]
    return found[len(found) // 2] if found else (None, None)


def _parent(model, path):
    parent_path, _, key = path.rpartition(".")
    return (model if not parent_path else dict(model.named_sublayers())[parent_path]), key


def _set_child(model, path, layer):
    parent, key = _parent(model, path)
    parent._sub_layers[key] = layer


# Each mutation changes the model in place and returns the sublayer path the report should name first, or None
# when the model has no layer of that kind.
def conv_stride(model):
    path, conv = _middle(model, nn.Conv2D, lambda c: list(c._stride) == [1, 1] and c._kernel_size[0] > 1)
    if conv is not None:
        conv._stride = [2, 2]
    return path


def conv_padding(model):
    path, conv = _middle(model, nn.Conv2D, lambda c: c._kernel_size[0] > 1)
    if conv is not None:
        conv._updated_padding = [p + 1 for p in conv._updated_padding] if isinstance(
            conv._updated_padding, list) else conv._updated_padding + 1
        conv._padding = conv._updated_padding
    return path


def conv_dilation(model):
    path, conv = _middle(model, nn.Conv2D, lambda c: c._kernel_size[0] == 3 and list(c._dilation) == [1, 1])
    if conv is not None:  # dilation 2 with padding 2: the same shapes, another computation
        conv._dilation = [2, 2]
        conv._updated_padding = [2, 2] if isinstance(conv._updated_padding, list) and len(
            conv._updated_padding) == 2 else [2, 2, 2, 2] if isinstance(conv._updated_padding, list) else 2
        conv._padding = conv._updated_padding
    return path


def bn_epsilon(model):
    path, bn = _middle(model, BATCH_NORMS)
    if bn is not None:
        bn._epsilon = 1e-2
    return path


def bn_momentum(model):
    path, bn = _middle(model, BATCH_NORMS)
    if bn is not None:
        bn._momentum = 0.5
    return path


def pool_kernel(model):
    path, pool = _middle(model, (nn.MaxPool2D, nn.AvgPool2D), lambda p: p.ksize in (2, 3, [2, 2], [3, 3]))
    if pool is not None:
        pool.ksize = 2 if pool.ksize in (3, [3, 3]) else 3
    return path


def activation_swapped(model):
    path, act = _middle(model, ACTIVATIONS)
    if act is not None:
        _set_child(model, path, nn.ELU())
    return path


def removed_from_sequential(model):
    path, _ = _middle(model, nn.Conv2D, lambda c: True)
    if path is None:
        return None
    parent, _ = _parent(model, path)
    if not isinstance(parent, nn.Sequential):
        return None
    _set_child(model, path, nn.Identity())
    return path


def inserted_into_sequential(model):
    path, act = _middle(model, ACTIVATIONS)
    if act is None:
        path, act = _middle(model, BATCH_NORMS)
    if act is None or not isinstance(_parent(model, path)[0], nn.Sequential):
        return None
    _set_child(model, path, nn.Sequential(act, nn.Tanh()))
    return path


def negated_input(model):
    """Code level: the middle convolution's forward replaced by one that negates its input (no rule sees it)."""
    path, conv = _middle(model, nn.Conv2D)
    original = type(conv).forward
    conv.forward = lambda x: original(conv, -x)
    return path


def reversed_channels(model):
    """Code level: the middle convolution's output channels reversed (a permutation: no shape changes)."""
    path, conv = _middle(model, nn.Conv2D, lambda c: c._out_channels > 1)
    original = type(conv).forward
    conv.forward = lambda x: paddle.flip(original(conv, x), axis=[1])
    return path


def _source(layer) -> str:
    try:
        return inspect.getsource(type(layer).forward)
    except (OSError, TypeError):
        return ""


def _in_forward(function: str, change, at_least: int = 1, last_only: bool = False):
    """A code-level mutation: inside the middle layer (of the model's own classes) whose forward calls
    ``function`` (``paddle.<function>``, ``F.<function>`` or a name bound in its module; ``at_least`` times in
    its source), that call replaced by ``change(call)`` while the forward runs (``last_only``: only the calls
    made from the last place in the source that calls it, so that one change is one change where a forward calls
    it from several places, as Res2Net's block, whose hierarchical additions precede its residual one); nothing
    else in the model touched."""
    def mutation(model):
        def calls(layer) -> bool:
            return not type(layer).__module__.startswith("paddle.nn") and \
                _source(layer).count(f"{function}(") >= at_least

        path, layer = _middle(model, nn.Layer, calls)
        if layer is None:
            return None
        module = sys.modules[type(layer).__module__]
        source = _source(layer)
        holder = paddle if f"paddle.{function}(" in source else F if f"F.{function}(" in source else module
        if not hasattr(holder, function):
            return None
        forward = type(layer).forward
        lines, first = inspect.getsourcelines(forward)
        site = first + max(n for n, line in enumerate(lines) if f"{function}(" in line)  # its last call's line

        def at_site(original):
            replaced = change(original)
            if not last_only:
                return replaced

            def call(*args, **kwargs):  # the caller is the forward: is it at the last place that calls it?
                caller = sys._getframe(1)
                there = caller.f_code is forward.__code__ and caller.f_lineno >= site
                return (replaced if there else original)(*args, **kwargs)
            return call

        def changed(*args, **kwargs):
            original = getattr(holder, function)
            setattr(holder, function, at_site(original))
            try:
                return forward(layer, *args, **kwargs)
            finally:
                setattr(holder, function, original)

        layer.forward = changed
        return path

    mutation.__name__ = change.__name__
    return mutation


def split_order(split):
    """The outputs of ``split`` in reverse order (ShuffleNetV2's halves swapped)."""
    return lambda *args, **kwargs: list(reversed(split(*args, **kwargs)))


def concat_order(concat):
    """The tensors given to ``concat`` in reverse order."""
    def reordered(x, *args, **kwargs):
        return concat(list(reversed(x)), *args, **kwargs)
    return reordered


def clip_bound(clip):
    """``clip``'s upper bound 6 instead of what the code says (GhostNet's SE gate ``clip(max=1)``)."""
    def bounded(x, min=None, max=None, name=None):
        return clip(x, min, 6.0)
    return bounded


def upsample_mode(upsample):
    """``upsample`` bilinear instead of what the code says (HRNet's fuse layers: nearest), called through the
    name the model's module bound (``from paddle.nn.functional import upsample``)."""
    def bilinear(x, *args, **kwargs):
        return upsample(x, *args, **{**kwargs, "mode": "bilinear"})
    return bilinear


def relu6_in_one_branch(relu):
    """The second ``F.relu`` call of the forward a ``relu6`` (one branch's activation changed, the others not)."""
    calls = []

    def changed(x, name=None):
        calls.append(x)
        return F.relu6(x) if len(calls) == 2 else relu(x)
    return changed


def residual_removed(add):
    """The block's residual ``paddle.add(x, y)`` (its last) returning ``x``: the residual addition gone."""
    return lambda x, y, name=None: x


def doubled_output(model):
    """Code level: the middle BatchNorm's forward (the middle convolution's in a model without one) returns twice
    its output."""
    path, layer = _middle(model, BATCH_NORMS)
    if layer is None:
        path, layer = _middle(model, nn.Conv2D)
    original = type(layer).forward
    layer.forward = lambda x: original(layer, x) * 2
    return path


def se_gate_removed(model):
    """Code level: the middle squeeze-and-excitation block's forward returns its input (the gate gone)."""
    path, block = _middle(model, nn.Layer, lambda layer: len(layer.sublayers()) > 0 and re.fullmatch(
        r"SE[A-Z_]\w*|\w*SqueezeExcit\w*", type(layer).__name__))
    if block is None:
        return None
    block.forward = lambda x: x
    return path


MUTATIONS = [conv_stride, conv_padding, conv_dilation, bn_epsilon, bn_momentum, pool_kernel, activation_swapped,
             removed_from_sequential, inserted_into_sequential, negated_input, reversed_channels,
             _in_forward("split", split_order), _in_forward("concat", concat_order), _in_forward("clip", clip_bound),
             _in_forward("add", residual_removed, last_only=True), _in_forward("upsample", upsample_mode),
             _in_forward("relu", relu6_in_one_branch, at_least=2),
             se_gate_removed, doubled_output]


# Variants that keep the computation: each must pass.
def _weights_from_another_seed(name):
    paddle.seed(7)
    return build(name, lazy=False)


def _loaded_weights(name):
    model = build(name, lazy=False)
    model.set_state_dict(build(name, lazy=False).state_dict())
    return model


def _in_mode(train):
    def variant(name):
        model = build(name)
        model.train() if train else model.eval()
        return model
    return variant


def _inception_e_reordered(self, x):
    """paddle.vision's ``InceptionE.forward`` with its branches computed in reverse order: the two inner
    ``paddle.concat`` calls (one per branch) run in the other order; the output is the same."""
    branch_pool = self.branch_pool_conv(self.branch_pool(x))
    double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
    branch3x3dbl = paddle.concat([self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double)], axis=1)
    single = self.branch3x3_1(x)
    branch3x3 = paddle.concat([self.branch3x3_2a(single), self.branch3x3_2b(single)], axis=1)
    return paddle.concat([self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool], axis=1)


def _branches_reordered(name):
    """A refactor that computes independent branches in another order, for the models that have a block with
    such branches (``ONLY_FOR``)."""
    if name == "functional_inception":  # the branches in reverse order, the add's operands swapped
        with paddle.LazyGuard():
            return FunctionalInception(classes=10, order="edcba", add="ca")
    if name == "inception_v3":
        model = build(name)
        for layer in model.sublayers():
            if isinstance(layer, inceptionv3.InceptionE):
                layer.forward = _inception_e_reordered.__get__(layer)
        return model
    raise ValueError(f"{name!r} has no block with independent branches to reorder; those that have: "
                     f"{sorted(ONLY_FOR['branches computed in another order'])}")


#: The variants only some models have (a refactor of a block of theirs), and those models.
ONLY_FOR = {"branches computed in another order": {"inception_v3", "functional_inception"}}
VARIANTS = {
    "built under LazyGuard": (lambda name: build(name), None),
    "weights from another seed": (_weights_from_another_seed, None),
    "loaded weights": (_loaded_weights, None),
    "in eval mode": (_in_mode(False), None),
    "in train mode": (_in_mode(True), None),
    "a deep copy": (lambda name: copy.deepcopy(build(name, lazy=False)), None),
    "checked at batch size 2": (lambda name: build(name), "batch 2"),
    "checked twice": (lambda name: build(name), "twice"),
    "branches computed in another order": (_branches_reordered, None),
}


def record(name, folder: Path) -> Path:
    path = folder / f"{name}.json"
    record_structure(build(name), path, MODELS[name][1], name=name, mode="eval")
    return path


def first_named_row(report: str) -> str:
    """The label of the first line of a report that names a row: a row difference (``layer2.0:relu
    (layer2.0.relu1)``), or the row of the values line."""
    for line in report.splitlines()[1:]:
        text = line.strip()
        if text.startswith("values: the first row whose values differ is "):
            return text.split(" is ", 1)[1].split(" ", 1)[0]
        if line.startswith("    ") and ": " in text and not text.startswith("..."):
            return text.split(": ", 1)[0]
    return ""


def localised(report: str, path: str) -> bool:
    """The first named row is the mutated layer: by its path, by its own name in parentheses (a parameter-free
    layer recorded as an operation of its parent), or as a row inside it (an inserted layer's)."""
    label = first_named_row(report)
    names = label.replace("(", " ").replace(")", " ").split()
    return any(name == path or name.startswith((path + ":", path + ".")) for name in names)


def mutations_of(name) -> list:
    """The mutations that have a place in model ``name``, in catalogue order."""
    return [mutation for mutation in MUTATIONS if mutation.__name__ not in NO_PLACE[name]]


def variants_of(name) -> list:
    return [variant for variant in VARIANTS if name in ONLY_FOR.get(variant, {name})]


def apply(name, mutation):
    """Model ``name`` (built under LazyGuard) with ``mutation`` applied, and the path it changed (``None``: the
    mutation found no place in it)."""
    model = build(name)
    _MUTATING[:] = [name]
    return model, mutation(model)


def run_mutation(name, mutation, golden):
    """The mutated path and the check's result; a mutation the catalogue gives this model must find its place."""
    model, path = apply(name, mutation)
    if path is None:
        raise AssertionError(f"{mutation.__name__} found no place in {name}: add it to NO_PLACE[{name!r}]")
    return path, check_structure(model, golden, name)


def run_variant(name, variant, golden):
    make, how = VARIANTS[variant]
    model = make(name)
    if how == "batch 2":
        return check_structure(model, golden, name, input_size=[2, *MODELS[name][1][1:]])
    result = check_structure(model, golden, name)
    return check_structure(model, golden, name) if how == "twice" and result.ok else result


def _case(name, kind, label):
    return pytest.param(name, kind, id=f"{name}-{label}", marks=() if (name, label) in FAST else pytest.mark.slow)


@pytest.fixture(scope="module")
def goldens(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalogue")
    return {}, folder


def golden_of(goldens, name):
    cache, folder = goldens
    if name not in cache:
        cache[name] = record(name, folder)
    return cache[name]


@pytest.mark.parametrize("name, mutation", [_case(name, mutation, mutation.__name__)
                                            for name in MODELS for mutation in mutations_of(name)])
def test_every_mutation_is_caught(goldens, name, mutation):
    path, result = run_mutation(name, mutation, golden_of(goldens, name))
    assert not result.ok, f"{mutation.__name__} at {path} not caught"
    assert localised(result.report(), path), f"{mutation.__name__} at {path}: {result.report()}"
    assert len(result.report(limit=5).splitlines()) <= 12, result.report()
    # one change, one line: at most 5 row lines however many rows follow from it
    assert len(render_differences(result.differences, limit=None)) <= 5, result.report(limit=None)


@pytest.mark.parametrize("name, variant", [_case(name, variant, variant)
                                           for name in MODELS for variant in variants_of(name)])
def test_no_false_alarm_on_a_variant_that_keeps_the_computation(goldens, name, variant):
    result = run_variant(name, variant, golden_of(goldens, name))
    assert result.ok, result.report()


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_the_mutations_left_out_have_no_place(name):
    """``NO_PLACE`` is what the mutations find: each left-out one, applied, finds no place in the model (so no
    case is missing from the catalogue)."""
    assert set(NO_PLACE) == set(MODELS)
    names = {mutation.__name__ for mutation in MUTATIONS}
    assert NO_PLACE[name] <= names, NO_PLACE[name] - names
    found = {mutation.__name__: path for mutation in MUTATIONS if mutation.__name__ in NO_PLACE[name]
             for path in [apply(name, mutation)[1]] if path is not None}
    assert not found, f"{name}: these mutations have a place after all (remove them from NO_PLACE): {found}"



def _values_line_row(report: str) -> str:
    marker = "values: the first row whose values differ is "
    return next((line.split(marker, 1)[1].split(" ", 1)[0] for line in report.splitlines() if marker in line), "")


@pytest.mark.parametrize("order", ["abcde", "edcba"])
@pytest.mark.parametrize("change, first_line, first_values", [
    pytest.param(dict(concat="bstf"), "block:concat: inputs", "block:concat", id="concat operands swapped"),
    pytest.param(dict(relu6="c"), "block:relu#4 (block:relu6): type relu -> relu6", "block:relu#4",
                 id="relu6 in branch c"),
    pytest.param(dict(relu6="a"), "block:relu (block:relu6): type relu -> relu6", "block:relu",
                 id="relu6 in branch a"),
    pytest.param(dict(halves="fe"), "block:subtract: inputs", "block:subtract", id="split outputs swapped"),
    pytest.param(dict(subtract="ed"), "block:subtract: inputs", "block:subtract", id="subtract operands swapped"),
    pytest.param(dict(without_relu="a"), "block:relu: removed", "block:add", id="F.relu removed"),
    pytest.param(dict(extra_relu="d"), "block:relu#5: added", "block:subtract", id="F.relu inserted"),
])
def test_a_change_among_functional_branches_is_named_in_the_first_line_whatever_their_order(
        goldens, order, change, first_line, first_values):
    """The block calling ``F.relu``/``F.max_pool2d``/``paddle.add`` in its forward: with its branches computed in
    the recorded order or in reverse, a real change is one or two row lines, the first naming the changed row,
    and the values name the first row whose output it changes (through the rows' pairing, not their ids)."""
    golden = golden_of(goldens, "functional_inception")
    result = check_structure(FunctionalInception(classes=10, order=order, **change), golden, "functional_inception")
    lines = render_differences(result.differences, limit=None)
    assert not result.ok and 1 <= len(lines) <= 2 and lines[0].startswith(first_line), result.report()
    assert _values_line_row(result.report()) == first_values, result.report()


def main(names=()) -> int:
    """Run the whole catalogue (or the models ``names``) and print, per model, the mutations that have a place in
    it, then caught / localised in the first line / false alarms / time. Exit 1 if a mutation is missed or not
    localised, a variant raises an alarm, or ``NO_PLACE`` is wrong."""
    import tempfile

    unknown = [name for name in names if name not in MODELS]
    if unknown:
        print(f"unknown model(s) {unknown}; the catalogue's models are {list(MODELS)}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp())
    caught = located = total = alarms = variants = 0
    missed, unlocated, lines, misplaced = [], [], [], []
    start = time.perf_counter()
    for name in names or MODELS:
        model_start = time.perf_counter()
        golden = record(name, folder)
        misplaced += [f"{name} {mutation.__name__}" for mutation in MUTATIONS
                      if mutation.__name__ in NO_PLACE[name] and apply(name, mutation)[1] is not None]
        for mutation in mutations_of(name):
            try:
                path, result = run_mutation(name, mutation, golden)
            except AssertionError as error:  # no place after all: NO_PLACE is wrong
                misplaced.append(str(error))
                continue
            total += 1
            if result.ok:
                missed.append(f"{name} {mutation.__name__} {path}")
                continue
            caught += 1
            lines.append((len(render_differences(result.differences, limit=None)), f"{name} {mutation.__name__}"))
            if localised(result.report(), path):
                located += 1
            else:
                unlocated.append(f"{name} {mutation.__name__} {path}: first row {first_named_row(result.report())}")
        for variant in variants_of(name):
            variants += 1
            if not run_variant(name, variant, golden).ok:
                alarms += 1
                print("FALSE ALARM", name, variant)
        print(f"{name}: {len(mutations_of(name))} mutations, {len(variants_of(name))} variants, "
              f"{time.perf_counter() - model_start:.1f} s; no place for {', '.join(sorted(NO_PLACE[name]))}",
              flush=True)
    seconds = time.perf_counter() - start
    print(f"{len(names or MODELS)} models, {total} mutations: {caught} caught, {located} localised in the first "
          f"line; {variants} computation-preserving variants: {alarms} false alarms; {seconds:.0f} s")
    print(f"row lines in a report: at most {max(lines)[0]} ({max(lines)[1]}), "
          f"{sum(1 for count, _ in lines if count <= 5)} of {len(lines)} at most 5")
    for title, found in [("more than 5 row lines", [f"{label}: {count}" for count, label in lines if count > 5]),
                         ("missed", missed), ("not localised in the first line", unlocated),
                         ("NO_PLACE wrong", misplaced)]:
        print(f"{title}:", *found or ["none"], sep="\n  ")
    bad = missed or unlocated or misplaced or alarms or any(count > 5 for count, _ in lines)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).parent)]
    sys.exit(main(sys.argv[1:]))
