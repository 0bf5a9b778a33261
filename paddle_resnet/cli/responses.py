"""``responses RUN_OR_WEIGHTS DATA [--compare OTHER] --plot FILE``: Figure 7's layer responses; the work is
``evaluation.layer_responses``."""

from __future__ import annotations

import json
import sys

from ..models.table import list_models
from ._args import parser_for
from ._output import output_problem

DESCRIPTION = """\
The standard deviation of each 3x3 layer's output (after batch normalisation, before the addition and the
ReLU), in depth order, over the first N images of DATA: Figure 7 of the ResNet paper, where residual nets
respond less than plain ones. --plot draws the paper's two panels (original order; sorted by magnitude).

MODEL is a training run's output folder or a weights file (with --model NAME); --compare adds a second one
(with --compare-model for a weights file). DATA is an image folder DATA/<class>/<image> or cifar10:PATH (its
test images); each model sees them prepared as for its single-view evaluation.

examples:
  {program} responses runs/resnet20 cifar10:data/cifar-10-python.tar.gz --compare runs/plain20 --plot fig7.png
  {program} responses resnet56.pdparams --model resnet56 cifar10:data/cifar-10-batches-py --format json
"""


def build_parser():
    parser = parser_for("responses", DESCRIPTION)
    parser.add_argument("source", metavar="MODEL", help="a training run or a weights file (with --model)")
    parser.add_argument("data", metavar="DATA", help="an image folder DATA/<class>/<image>, or cifar10:PATH")
    parser.add_argument("--model", choices=list_models(), metavar="NAME", help="the architecture of a weights file")
    parser.add_argument("--compare", metavar="OTHER", help="a second run or weights file, drawn beside the first")
    parser.add_argument("--compare-model", choices=list_models(), metavar="NAME",
                        help="the architecture of --compare's weights file")
    parser.add_argument("--images", type=int, default=256, metavar="N",
                        help="how many images of DATA to measure on (default 256)")
    parser.add_argument("--plot", metavar="FILE", help="draw the two panels into the PNG FILE (needs matplotlib)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.plot and output_problem(args.plot):
        parser.error(output_problem(args.plot))
    from ..evaluation import EvaluationError, plot_responses
    from ..evaluation.responses import measure_responses, response_report

    try:
        runs = [measure_responses(args.source, args.data, args.model, args.images)]
        if args.compare:
            runs.append(measure_responses(args.compare, args.data, args.compare_model, args.images))
        if args.plot:
            plot_responses(args.plot, runs, title=f"layer responses on {args.images} images of {args.data}")
    except (EvaluationError, ImportError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(response_report(runs), indent=1))
    else:
        for label, responses in runs:
            print(f"{label}: {len(responses)} 3x3 layers")
            for index, response in enumerate(responses, start=1):
                print(f"  {index:4d}  {response.name:<28} {response.std:.4f}")
    if args.plot:
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
