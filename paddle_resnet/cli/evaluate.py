"""``evaluate MODEL DATA``: top-1 / top-5 error, single view, 10-crop or multi-scale; the work is
``evaluation.evaluate``."""

from __future__ import annotations

import json
import sys

from ..models.table import list_models
from ._args import parse_int_list, parser_for
from ._output import output_problem

DESCRIPTION = """\
Measure a trained classifier's top-1 and top-5 error on labelled images, with per-class accuracy and a
confusion matrix, the way the ResNet paper tests (section 3.4):
  single       one view per image: the preprocessing predict uses (224 crop of a 256 resize)
  10crop       the four corners and the centre of that crop, and their mirror images; scores averaged
  multiscale   the whole image at shorter sides 224, 256, 384, 480 and 640 (scaled for other input sizes),
               run fully-convolutionally; scores averaged (a run or weights file: an export has one size)

MODEL is a training run's output folder, an export (folder, prefix or model file), or a weights file with
--model NAME. DATA is an image folder laid out as DATA/<class>/<image> (its class folders are matched to the
model's classes by name) or a CIFAR archive or folder, cifar10:PATH or cifar100:PATH (its test images).

examples:
  {program} evaluate runs/cats cats_vs_dogs/val
  {program} evaluate runs/cifar cifar10:data/cifar-10-python.tar.gz --views 10crop --format json
  {program} evaluate resnet50.pdparams --model resnet50 imagenet/val --views multiscale --confusion cm.csv
"""


def build_parser():
    parser = parser_for("evaluate", DESCRIPTION)
    parser.add_argument("source", metavar="MODEL", help="a training run, an export, or a weights file (with --model)")
    parser.add_argument("data", metavar="DATA", help="an image folder DATA/<class>/<image>, or cifar10:PATH")
    parser.add_argument("--model", choices=list_models(), metavar="NAME", help="the architecture of a weights file")
    parser.add_argument("--views", choices=("single", "10crop", "multiscale"), default="single",
                        help="single view (default), the paper's 10-crop, or multi-scale testing")
    parser.add_argument("--scales", type=parse_int_list, metavar="S,S,...",
                        help="multiscale's shorter sides (default 224,256,384,480,640 times input size / 224)")
    parser.add_argument("--input-size", type=int, metavar="PIXELS",
                        help="single-view size (default: the run's, the export's or the architecture's)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (default 32, at most 256)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N images")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default text)")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE too (atomically)")
    parser.add_argument("--confusion", metavar="CSV",
                        help="write the confusion matrix to CSV (and a .png beside it when matplotlib is installed)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for path in (args.output, args.confusion):
        if path and output_problem(path):
            parser.error(output_problem(path))  # now, not after the evaluation
    from .._progress import Progress
    from ..evaluation import EvaluationError, evaluate, write_reports

    shown = []

    def progress(done: int, total: int) -> None:
        if not shown:
            shown.append(Progress(f"evaluating ({args.views})", total, stream=sys.stderr))
        shown[0].update(done)

    try:
        result = evaluate(args.source, args.data, views=args.views, architecture=args.model,
                          input_size=args.input_size, scales=args.scales, batch_size=args.batch_size,
                          limit=args.limit, progress=progress)
    except (EvaluationError, ImportError, OSError, ValueError) as error:
        if shown:
            shown[0].close(" (stopped)")
        print(f"error: {error}", file=sys.stderr)
        return 2
    if shown:
        shown[0].close()
    print(json.dumps(result.to_dict(), indent=1) if args.format == "json" else result)
    try:
        for path in write_reports(result, args.output, args.format, args.confusion):
            print(f"wrote {path}", file=sys.stderr)
    except OSError as error:
        print(f"error: cannot write the report: {error}", file=sys.stderr)
        return 1
    return 0
