"""``predict RUN_OR_EXPORT IMAGE [IMAGE ...]``: the top classes of image files, from a run or an export.

The work is ``Predictor.from_run(...).classify(...)``; a training run without a current export is exported
first with ``training.export_run``.
"""

from __future__ import annotations

import json
import sys

from ..deploy.export import FORMATS
from ._args import parser_for

DESCRIPTION = """\
Classify image files with a trained model: print each image's most probable classes with their probabilities.
The images are prepared as the model's validation images were (the preprocessing recorded with the export).

RUN_OR_EXPORT is a training run's output folder (its export/ is used; a run trained without --export is exported
to RUN/export first, once), an export folder, an export prefix or a model file (.json, .pdmodel, .onnx).
IMAGE is a file, a folder (all image files in it) or a glob pattern such as 'photos/*.jpg' (quoted).
An image that cannot be read gets an error line, and the others are still classified.

exit status: 0 every image classified, 1 some image could not be read (or a folder or pattern held none), 2 a
usage problem (no exported model or training run there, a bad option).

examples:
  {program} predict runs/cats photos/cat.jpg photos/dog.jpg
  {program} predict runs/cats photos/ --top-k 1 --format json
  {program} predict deploy/resnet50 'photos/*.png' --model-format onnx
"""


def build_parser():
    parser = parser_for("predict", DESCRIPTION)
    parser.add_argument("model", metavar="RUN_OR_EXPORT", help="a training run, an export folder, prefix or file")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files, folders or glob patterns")
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help="classes shown per image (default 5)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    parser.add_argument("--model-format", choices=FORMATS,
                        help="which model to run when both formats were exported to the same prefix")
    parser.add_argument("--device", help="cpu, gpu or gpu:N (default: the GPU when there is one)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per batch (default 16)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from ..deploy.predictor import Predictor
    from ..training import export_run, needs_export

    try:
        if needs_export(args.model):
            print(f"{args.model}: exporting the run's best model to its export/ folder first (once) ...",
                  file=sys.stderr, flush=True)
            export_run(args.model)
        predictor = Predictor.from_run(args.model, device=args.device, format=args.model_format)
        results = predictor.classify(args.images, top_k=args.top_k, batch_size=args.batch_size)
    except (ImportError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps([result.to_dict() for result in results], indent=1))
    else:
        for result in results:
            print(result, flush=True)
    failed = [result for result in results if result.error is not None]
    if failed:
        print(f"{len(failed)} of {len(results)} image(s) could not be classified", file=sys.stderr)
    return 1 if failed else 0
