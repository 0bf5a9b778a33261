"""``export``: save a model for deployment (Paddle Inference or ONNX) and check it against the eager model.

    python scripts/export.py resnet50 --weights resnet50.pdparams --out deploy/    # deploy/resnet50.json + .pdiparams
    python scripts/export.py resnet50 --weights resnet50.pdparams --format onnx --out deploy/onnx/  # .../resnet50.onnx
    python scripts/export.py resnet18 --num-classes 10 --weights finetuned.pdparams --input-size 160 --out deploy/

The batch dimension stays dynamic. An earlier export of the same model to the same folder, in either format, is
replaced (the files removed are listed). After writing, the exported model is run on a random batch and compared
with the eager model; the command fails (exit 1) if they disagree by more than 1e-4 of the output's scale.
Bad arguments, unreadable or unfitting weights and a missing ONNX package exit with 2.
Run the files with ``paddle_resnet.Predictor`` (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..deploy.compare import RELATIVE_TOLERANCE, compare_with_eager
from ..deploy.export import EXPORT_SUFFIXES, FORMATS, export
from ..deploy.predictor import import_onnxruntime
from ..builders import create_model
from ..models.table import list_models
from ..weights.loading import IncompatibleWeightsError, load_weights
from ._args import add_model_options, model_options, parse_size


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=list_models(), metavar="MODEL",
                        help=f"architecture name, one of: {', '.join(list_models())}")
    parser.add_argument("--weights", metavar="W", help="weights file or URL (.pdparams or .safetensors, our or "
                        "torchvision/timm naming); default: random initialisation")
    parser.add_argument("--format", choices=FORMATS, default="paddle",
                        help="paddle: Paddle Inference program (default); onnx: ONNX through paddle2onnx")
    parser.add_argument("--out", metavar="DIR", default=".", help="output directory (default: current)")
    parser.add_argument("--input-size", type=parse_size, help="input height (and width, as HxW); default: the "
                        "architecture's (224, or 32 for the CIFAR nets)")
    add_model_options(parser.add_argument_group("model options (as the builders take them; default: the "
                                                "architecture's)"))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _export(args)
    except (ImportError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        hint = _num_classes_hint(error)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return 2


def _export(args) -> int:
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise NotADirectoryError(f"--out {args.out}: that is a file; give a directory (created if missing)")
    if args.format == "onnx":
        import_onnxruntime()  # the check after writing needs it: fail before any work is done
    model = create_model(args.model, **model_options(args))
    model.eval()
    if args.weights:
        print(load_weights(model, args.weights).describe())
    else:
        print("note: no --weights given; exporting randomly initialised weights")
    height, width = args.input_size or (model.config.image_size,) * 2
    input_size = (model.config.in_channels, height, width)
    prefix = os.path.join(args.out, args.model)
    earlier = [prefix + suffix for suffix in EXPORT_SUFFIXES if os.path.exists(prefix + suffix)]
    files = export(model, prefix, input_size=input_size, format=args.format)
    for path in files:
        print(f"wrote {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")
    for path in earlier:
        if not os.path.exists(path):
            print(f"removed {path} (an earlier export to the same prefix)")

    backend, error = compare_with_eager(model, files[-1], input_size)
    ok = error <= RELATIVE_TOLERANCE
    print(f"check: {backend} on a random batch of 2 vs the eager model: max difference "
          f"{error:.1e} of the output's scale ({'ok' if ok else 'MISMATCH'}, tolerance {RELATIVE_TOLERANCE:.0e})")
    return 0 if ok else 1


def _num_classes_hint(error: Exception) -> str:
    """For weights whose classifier has another size than the model's: the --num-classes that fits them."""
    if not isinstance(error, IncompatibleWeightsError):
        return ""
    shape = error.report.mismatched.get("fc.bias", (None,))[0]  # (shape in the weights, shape in the model)
    if shape is None or len(shape) != 1:
        return ""
    return f"the weights' classifier has {shape[0]} outputs; pass --num-classes {shape[0]}"
