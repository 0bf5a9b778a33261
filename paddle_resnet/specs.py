"""Which model to build, from a line of text: a table entry with options, or any factory function. The
commands that take any model (``summary``, ``verify --model``, ``diff``) read their model argument here.

    resnet50                                  a table entry (see list_models())
    resnet50:stride_on=1x1:num_classes=10     with builder options (ResNetConfig's, typed from its metadata)
    paddle.vision.models:resnet50             MODULE:FACTORY, any callable returning a paddle.nn.Layer
    mypackage.models:build:width=2:head="fpn" with keyword arguments (JSON values; plain text is a string)

Models are built under ``paddle.LazyGuard()`` (no weights: fast; the symbolic trace needs none) unless the
factory fails that way or the model calls something only an eager run can trace.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Optional

import paddle
from paddle import nn

from ._errors import PaddleResNetError
from .analysis.trace import TraceError, UnsupportedLayer, trace_graph
from .models.config import OPTIONS, describe_fields
from .models.network import ResNet
from .models.table import did_you_mean, list_models


class ModelSpecError(PaddleResNetError, ValueError):
    """A model description that cannot be built: bad syntax, an unknown name or option, or a factory that cannot
    be imported, is not callable, fails, or returns something other than a ``paddle.nn.Layer``."""


@dataclass
class ModelSpec:
    """A parsed model description: ``table`` (an architecture name) or ``factory`` (``MODULE:FACTORY``), and the
    keyword ``options`` to build it with."""

    text: str
    table: Optional[str] = None
    factory: Optional[str] = None
    options: dict = field(default_factory=dict)


def parse_model_spec(text: str, kwargs: Optional[dict] = None) -> ModelSpec:
    """Parse ``text`` (see the module docstring); ``kwargs`` are added to the options.

    >>> parse_model_spec("resnet50:stride_on=1x1:out_stages=2,3,4").options
    {'stride_on': '1x1', 'out_stages': (2, 3, 4)}
    >>> parse_model_spec("paddle.vision.models:mobilenet_v2:scale=0.5").options
    {'scale': 0.5}
    """
    head, *rest = text.split(":")
    if head in list_models():
        spec = ModelSpec(text, table=head, options=dict(_option(head, part) for part in rest))
    elif rest and rest[0] and "=" not in rest[0]:
        spec = ModelSpec(text, factory=f"{head}:{rest[0]}", options=dict(_keyword(part) for part in rest[1:]))
    else:
        raise ModelSpecError(f"{text!r}: expected an architecture name, optionally with options "
                             "(resnet50:stride_on=1x1), or MODULE:FACTORY (paddle.vision.models:resnet50)."
                             f"{did_you_mean(head)}")
    if kwargs:
        spec.options.update(kwargs)
    return spec


def _split(part: str):
    name, sep, value = part.partition("=")
    if not sep or not name:
        raise ModelSpecError(f"{part!r}: expected name=value")
    return name, value


def _option(table: str, part: str):
    """A builder option, typed by ``ResNetConfig``'s metadata: ``out_stages=2,3`` is ``(2, 3)``."""
    name, value = _split(part)
    if name not in OPTIONS:
        raise ModelSpecError(f"{part!r}: unknown option {name!r} for {table}; options: {', '.join(OPTIONS)}")
    default = describe_fields([name])[name]["default"]
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return name, value.lower() in ("true", "1", "yes")
        if isinstance(default, tuple):
            return name, tuple(int(v) for v in value.split(",") if v.strip())
        return name, type(default)(value)
    except ValueError:
        raise ModelSpecError(f"{part!r}: {value!r} is not a valid {type(default).__name__} for {name}") from None


def _keyword(part: str):
    name, value = _split(part)
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value  # plain text: a string


def load_factory(target: str):
    """The callable ``MODULE:NAME`` (``NAME`` may be dotted: ``module:Class.method``)."""
    module_name, _, attribute = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001  any failure to import is the user's to see, with its cause
        raise ModelSpecError(f"cannot import {module_name!r} for {target} ({type(error).__name__}: {error}); is it "
                             "installed, or on PYTHONPATH?") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ModelSpecError(f"{module_name} has no {attribute!r} (for {target})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ModelSpecError(f"{target} is a {type(obj).__name__}, not a function or class that builds a model")
    return obj


def build_model(spec: ModelSpec, lazy: bool = True) -> nn.Layer:
    """Build ``spec``'s model, under ``paddle.LazyGuard()`` when ``lazy`` (falling back to a normal build if the
    factory fails that way)."""
    if lazy:
        try:
            with paddle.LazyGuard():
                return _make(spec)
        except ModelSpecError:
            pass  # perhaps the factory needs real weights (it loads some): build it normally, or say why not
    return _make(spec)


def build_traceable(spec: ModelSpec, input_size=None) -> nn.Layer:
    """``build_model``, lazily if the symbolic trace can follow the model (it needs no weights), else normally so
    that the eager trace can run it. ``input_size`` is where to try (default: the model's own, else 3x224x224)."""
    model = build_model(spec, lazy=True)
    if any(hasattr(p, "_is_initialized") and not p._is_initialized() for p in model.parameters()):
        try:
            trace_graph(model, input_size or default_input_size(model) or [1, 3, 224, 224], mode="symbolic")
        except UnsupportedLayer:
            return build_model(spec, lazy=False)
        except TraceError:
            pass  # a real problem (a shape mismatch): the check reports it
    return model


def default_input_size(model) -> Optional[list]:
    """The model's own default input size, if it declares one (our ResNets do)."""
    size = getattr(getattr(model, "config", None), "input_size", None)
    return list(size) if size is not None else None


def _make(spec: ModelSpec) -> nn.Layer:
    if spec.table:
        try:
            return ResNet(spec.table, **spec.options)
        except (TypeError, ValueError) as error:
            raise ModelSpecError(f"{spec.text}: {error}") from None
    factory = load_factory(spec.factory)
    try:
        model = factory(**spec.options)
    except Exception as error:  # noqa: BLE001  the user's factory: report its failure, do not crash
        arguments = ", ".join(f"{k}={v!r}" for k, v in spec.options.items())
        raise ModelSpecError(f"calling {spec.factory}({arguments}) failed: {type(error).__name__}: {error}") \
            from None
    if not isinstance(model, nn.Layer):
        raise ModelSpecError(f"{spec.factory} returned a {type(model).__name__}, not a paddle.nn.Layer")
    return model
