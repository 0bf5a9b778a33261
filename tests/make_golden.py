"""Regenerate tests/golden/architectures.json from independent references (never from paddle_resnet's models).

    python tests/make_golden.py            # every architecture and block example
    python tests/make_golden.py --check    # compare only; exit 1 if the file differs

Sources, in order of preference:
- Architectures that ``paddle.vision.models`` has: the official model built side by side. Parameter counts are
  parsed from ``paddle.summary``'s printout; MACs, shapes, layer counts and the layer rows (every layer and
  every operation between layers, with their settings) come from tracing the official model eagerly (its
  kernels really run) with paddle_resnet's tracer.
- The others (resnext101_32x8d, the CIFAR networks): the closed-form description in
  tests/references/closed_form.py, written from the papers without importing paddle_resnet.
- The ResNet-D rows (resnet50_vd ..., resnet18d ...): PaddleClas's own model built side by side (its wheel must
  be installed: pip install --no-deps paddleclas==2.6.0) for the parameter counts (paddle.summary) and the MACs
  and output shape (an eager trace); the closed form for the per-part shapes, layer counts and layer rows, which
  PaddleClas's differently named and nested layers cannot give.
- The value digests (``outputs``: what every row computes, with parameters and input seeded by name, in eval
  mode): a value pass of the official ``paddle.vision`` model, whose rows and parameter names are ours. The other
  entries record none (no reference computes our rows under our names); their check says values were not checked.
- The source reproduction's block examples: ``paddle.summary`` of the equivalent ``paddle.vision`` blocks.
The tests then check every golden value against every reference that has it (see tests/test_golden.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import paddle  # noqa: E402
from paddle import nn  # noqa: E402
from paddle.vision.models import resnet as vision  # noqa: E402

from references import closed_form, paddleclas  # noqa: E402
from references.published import summary_params  # noqa: E402
from paddle_resnet.analysis.trace import trace  # noqa: E402
from paddle_resnet.verification.fingerprint import default_value_size, fingerprint  # noqa: E402
from paddle_resnet.verification.values import value_pass  # noqa: E402
from paddle_resnet.verification.golden import FORMAT, load_golden, write_golden  # noqa: E402

GOLDEN = HERE / "golden" / "architectures.json"
PADDLE = f"paddlepaddle {paddle.__version__}"
ABOUT = ("Golden structural values of every architecture, each with its source. Regenerate with "
         "tests/make_golden.py; see docs/verification.md. params follow paddle.summary's convention: total "
         "includes BatchNorm running mean/variance (non-trainable parameters in Paddle). layers: one row per layer "
         "or operation in forward order, [id, type, inputs, output shape, parameters, settings].")


#: Where no reference model computes our rows under our names, the entry records no values.
NO_VALUES = ("no independent reference computes these rows under paddle_resnet's names, so no value digests are "
             "recorded (copying our own model's would prove nothing): this entry checks the structure only")


def official_entry(name, size):
    model = getattr(vision, name)()
    values = fingerprint(model, size, mode="eager")
    outputs = value_pass(model, default_value_size(size), "eval")
    values["params"] = summary_params(model, tuple(size))
    call = f"paddle.vision.models.{name}()"
    traced = f"{call} built side by side and traced eagerly (kernels run), {PADDLE}"
    sources = {
        "params": f"paddle.summary({call}, {tuple(size)}) printout, {PADDLE}",
        **{key: traced for key in ("macs", "output_shape", "stage_shapes", "layer_counts", "layers")},
        "outputs": f"value pass of {call} built side by side, its parameters and input seeded by name "
                   f"(paddle_resnet.verification.values; the parameter names are ours), {outputs.dtype}, {PADDLE}",
    }
    return values, outputs.as_entry(), sources


def closed_form_entry(name):
    values = closed_form.closed_form(name)
    source = ("closed form from the paper's definition: tests/references/closed_form.py (imports no paddle_resnet "
              "code)")
    return values, None, {**{key: source for key in values}, "outputs": NO_VALUES}


def paddleclas_entry(name, size):
    """A ResNet-D row: parameters, MACs and output shape from PaddleClas's model, the rest from the closed form."""
    values, outputs, sources = closed_form_entry(name)
    init = nn.initializer.Constant(0.0)  # structure only: constant weights build much faster than random ones
    nn.initializer.set_global_initializer(init, init)
    try:
        model = paddleclas.build(name)
    finally:
        nn.initializer.set_global_initializer(None, None)
    constructor, options = paddleclas.ROWS.get(name, ("ResNet", {"config": paddleclas.RESNET200D_CONFIG,
                                                                 "version": "vd"}))
    arguments = ", ".join(f"{key}={value!r}" for key, value in options.items())
    call = f"PaddleClas {paddleclas.TESTED_VERSION} {constructor}({arguments})"
    calls = trace(model, size, mode="eager")
    values["params"] = summary_params(model, tuple(size))
    values["macs"] = sum(c.macs for c in calls)
    values["output_shape"] = calls[-1].output_shape
    traced = f"{call} (ppcls/arch/backbone/legendary_models/resnet.py) built side by side and traced eagerly, {PADDLE}"
    sources.update(params=f"paddle.summary({call}, {tuple(size)}) printout, {PADDLE}", macs=traced,
                   output_shape=traced)
    return values, outputs, sources


def block_entries():
    """The source reproduction's examples, as paddle.vision's own block classes (same layers, same order)."""
    def projection(c_in, c_out):
        return nn.Sequential(nn.Conv2D(c_in, c_out, 1, stride=2, bias_attr=False), nn.BatchNorm2D(c_out))

    blocks = {
        "BasicBlock(64, 128, 2)": ("paddle.vision.models.resnet.BasicBlock(64, 128, 2, downsample=1x1 conv + BN)",
                                   vision.BasicBlock(64, 128, 2, downsample=projection(64, 128))),
        "BottleneckBlock(64, 128, 2)": (
            "paddle.vision.models.resnet.BottleneckBlock(64, 32, 2, downsample=1x1 conv + BN)",
            vision.BottleneckBlock(64, 32, 2, downsample=projection(64, 128))),
    }
    entries = {}
    for key, (described, block) in blocks.items():
        size = [1, 64, 224, 224]
        entries[key] = {
            "input_size": size,
            "values": {"params": summary_params(block, tuple(size))},
            "sources": {"params": f"paddle.summary({described}, {tuple(size)}) printout, {PADDLE}; the source "
                                  "document's printout (Paddle 2.1) has the same total"},
        }
    return entries


def build():
    architectures = {}
    for name in closed_form.ALL:
        size = closed_form.input_size(name)
        if name in vision.model_urls:
            values, outputs, sources = official_entry(name, size)
        elif name in closed_form.RESNET_D:
            values, outputs, sources = paddleclas_entry(name, size)
        else:
            values, outputs, sources = closed_form_entry(name)
        architectures[name] = {"input_size": size, "mode": "eval", "values": values, "outputs": outputs,
                               "sources": sources}
        print(f"{name:<18} {values['params']['total']:>12,} params  {values['macs']:>15,} MACs  "
              f"({sources['params'][:40]}...)")
    return {"format": FORMAT, "about": ABOUT, "architectures": architectures, "blocks": block_entries()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = parser.parse_args(argv)
    missing = paddleclas.unavailable_reason()
    if missing:
        parser.error(f"the ResNet-D rows are generated from PaddleClas's model: {missing}")
    data = build()
    if args.check:  # values only: the sources name the Paddle version they were recorded with
        current = load_golden(GOLDEN)
        differences = [(section, name, key) for section in ("architectures", "blocks")
                       for name, entry in data[section].items() for key, value in entry["values"].items()
                       if json.loads(json.dumps(value)) != current[section].get(name, {}).get("values", {}).get(key)]
        differences += [("architectures", name, "outputs") for name, entry in data["architectures"].items()
                        if json.loads(json.dumps(entry["outputs"])) != current["architectures"][name]["outputs"]]
        for difference in differences:
            print("differs:", *difference)
        print("golden values match the references" if not differences else f"{len(differences)} difference(s)")
        return 1 if differences else 0
    write_golden(data, GOLDEN)
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
