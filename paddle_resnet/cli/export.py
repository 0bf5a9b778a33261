"""``export``: save a model for deployment (Paddle Inference or ONNX) and check it against the eager model.

    python scripts/export.py resnet50 --weights resnet50.pdparams --out deploy/        # deploy/resnet50.json + .pdiparams
    python scripts/export.py resnet50 --weights resnet50.pdparams --format onnx --out deploy/  # deploy/resnet50.onnx
    python scripts/export.py resnet18 --num-classes 10 --weights finetuned.pdparams --input-size 160 --out deploy/

The batch dimension stays dynamic. After writing, the exported model is run on a random batch and compared
with the eager model; the command fails (exit 1) if they disagree by more than 1e-4 of the output's scale.
Run the files with ``paddle_resnet.Predictor`` (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..config import list_models
from ..export import FORMATS
from .summary import _size

#: Exported and eager outputs may differ by fused-kernel rounding (~1e-6 of their scale), never by more.
RELATIVE_TOLERANCE = 1e-4


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
    parser.add_argument("--input-size", type=_size, help="input height (and width, as HxW); default: the "
                        "architecture's (224, or 32 for the CIFAR nets)")
    parser.add_argument("--num-classes", type=int, help="classifier outputs, when the weights have another head")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import paddle

    from ..builders import create_model
    from ..export import export
    from ..inference import Predictor
    from ..weights import load_weights

    options = {} if args.num_classes is None else {"num_classes": args.num_classes}
    model = create_model(args.model, **options)
    model.eval()
    if args.weights:
        try:
            print(load_weights(model, args.weights).describe())
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            if "fc.weight (weights" in str(error):
                print("hint: the weights have a classifier of another size; pass --num-classes", file=sys.stderr)
            return 2
    else:
        print("note: no --weights given; exporting randomly initialised weights")
    height, width = args.input_size or (model.config.image_size,) * 2
    input_size = (model.config.in_channels, height, width)
    try:
        files = export(model, os.path.join(args.out, args.model), input_size=input_size, format=args.format)
    except ImportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in files:
        print(f"wrote {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")

    images = np.random.RandomState(0).standard_normal((2, *input_size)).astype("float32")
    with paddle.no_grad():
        expected = model(paddle.to_tensor(images)).numpy()
    predictor = Predictor(files[-1], device="cpu")
    error = float(np.abs(predictor(images) - expected).max()) / float(np.abs(expected).max())
    ok = error <= RELATIVE_TOLERANCE
    print(f"check: {predictor.backend} on a random batch of 2 vs the eager model: max difference "
          f"{error:.1e} of the output's scale ({'ok' if ok else 'MISMATCH'}, tolerance {RELATIVE_TOLERANCE:.0e})")
    return 0 if ok else 1
