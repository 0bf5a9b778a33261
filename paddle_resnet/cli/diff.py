"""``diff``: compare two models layer by layer, with the parameters and MACs of each."""

from __future__ import annotations

import argparse
import sys

from ..verification.compare import BY
from ..verification.diff import FORMATS, diff_models
from ..specs import ModelSpecError, build_traceable, default_input_size, parse_model_spec
from ._args import parse_limit, parse_input_size, parser_for
from ._output import output_problem, write_output

DESCRIPTION = """\
Compare two models layer by layer, with the parameters and MACs of each.

Each side is an architecture (with builder options after colons: resnet50:num_classes=10:stride_on=1x1) or
MODULE:FACTORY (any callable returning a paddle.nn.Layer; keyword arguments after colons, JSON values). --by path
(the default) pairs layers by their names; --by computation ignores names and pairs what the layers compute, so
two implementations of one network with different class and attribute names come out equivalent.

exit status: 0 no structural difference, 1 a difference, 2 a usage problem (a model that cannot be built, a
report file that cannot be written).

examples:
  {program} diff resnet50 resnet50:stride_on=1x1             v1.5 against the paper's v1
  {program} diff resnet50 resnext50_32x4d --format markdown
  {program} diff resnet50 paddle.vision.models:resnet50      ours against paddle.vision's
  {program} diff resnet50 mypackage.models:build --by computation
"""


def build_parser() -> argparse.ArgumentParser:
    parser = parser_for("diff", DESCRIPTION)
    parser.add_argument("a", metavar="A", help="the reference model: resnet50, resnet50:stride_on=1x1, MODULE:FACTORY")
    parser.add_argument("b", metavar="B", help="the model compared with it")
    parser.add_argument("--by", choices=BY, default="path",
                        help="pair layers by their names (path) or by what they compute (computation)")
    parser.add_argument("--input-size", type=parse_input_size, metavar="SIZE",
                        help="H, HxW, CxHxW or NxCxHxW (default: A's own, else B's, else 3x224x224)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--limit", type=parse_limit, default=20, metavar="N",
                        help="differing rows to list (default 20; 0: all)")
    parser.add_argument("--output", metavar="FILE", help="also write the report to FILE (atomically)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.output and output_problem(args.output):  # before the models are built and traced
        parser.error(output_problem(args.output))
    try:
        specs = [parse_model_spec(args.a), parse_model_spec(args.b)]
        models = [build_traceable(spec, args.input_size) for spec in specs]
        size = args.input_size or default_input_size(models[0]) or default_input_size(models[1]) or [1, 3, 224, 224]
        result = diff_models(*models, size, by=args.by, labels=(args.a, args.b))
    except ModelSpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = result.render(args.format, args.limit or None)
    print(report)
    problem = args.output and write_output(args.output, report + "\n")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return 0 if result.same else 1
