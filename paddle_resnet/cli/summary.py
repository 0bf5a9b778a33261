"""``summary``: print a model's (or a block's) layers, shapes, parameters and MACs, paddle.summary style."""

from __future__ import annotations

import argparse
import sys

from ..analysis.summary import DEPTHS, FORMATS
from ..models.table import ARCHITECTURES, list_models
from ._args import add_model_options, flag, model_options, parse_size, parser_for
from ._output import output_problem, write_output

DESCRIPTION = """\
Print a model's (or a single block's) layers, shapes, parameters and MACs in paddle.summary's layout, with the
module path of every row and a table per stage.

examples:
  {program} summary resnet50
  {program} summary resnet50 --input-size 224 --num-classes 10 --stride-on 1x1
  {program} summary resnext50_32x4d --depth stages --format markdown
  {program} summary --block basic --in 64 --out 128 --stride 2
"""

#: Builder options that also describe a single block (``--block``): the rest apply to whole models only.
_BLOCK_OPTIONS = ("stride_on", "shortcut")


def build_parser() -> argparse.ArgumentParser:
    parser = parser_for("summary", DESCRIPTION)
    parser.add_argument("model", nargs="?", help=f"architecture name, one of: {', '.join(list_models())}")
    parser.add_argument("--input-size", type=parse_size, help="input height (and width, as HxW); default: the "
                        "architecture's (224, or 32 for the CIFAR nets); 224 for --block")
    parser.add_argument("--batch", type=int, default=1, help="batch size shown in the shapes (default 1)")
    add_model_options(parser.add_argument_group("model options (as the builders take them; default: the "
                                                "architecture's)"))
    block = parser.add_argument_group("summarise a single block instead of a model (with --stride-on, --shortcut)")
    block.add_argument("--block", choices=("basic", "bottleneck"))
    block.add_argument("--in", dest="in_channels_block", type=int, metavar="C", help="block input channels")
    block.add_argument("--out", type=int, metavar="C", help="block output channels")
    block.add_argument("--stride", type=int, help="block stride (default 1)")
    block.add_argument("--groups", type=int, help="bottleneck 3x3 groups (default 1)")
    parser.add_argument("--depth", choices=DEPTHS, default="layers",
                        help="rows: every layer (default), residual blocks folded, or one row per stage")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", metavar="FILE", help="also write the report to FILE (atomically)")
    return parser


def _build(args, parser):
    from ..builders import create_model  # imports Paddle: not needed for --help
    from ..models import BasicBlock, BottleneckBlock

    def refuse(flags, mode):
        given = [flag for flag, value in flags if value is not None]
        if given:
            parser.error(f"{', '.join(given)} do(es) not apply to {mode}")

    if args.block:
        if args.model or args.in_channels_block is None or args.out is None:
            parser.error("--block needs --in and --out, and no model name")
        refuse([(flag(name), value) for name, value in model_options(args).items() if name not in _BLOCK_OPTIONS],
               "a single block (use --in for its input channels)")
        # `is None`, not `or`: an explicit 0 must reach the block's own check, not silently become the default.
        options = {"shortcut": args.shortcut or "B"}
        if args.block == "bottleneck":
            options.update(groups=1 if args.groups is None else args.groups, stride_on=args.stride_on or "3x3")
        else:
            refuse([("--groups", args.groups), ("--stride-on", args.stride_on)], "--block basic")
        cls = BasicBlock if args.block == "basic" else BottleneckBlock
        height, width = args.input_size or (224, 224)
        block = cls(args.in_channels_block, args.out, 1 if args.stride is None else args.stride, **options)
        return block, args.in_channels_block, height, width
    if not args.model:
        parser.error("give an architecture name (or --block)")
    refuse([("--in", args.in_channels_block), ("--out", args.out), ("--stride", args.stride),
            ("--groups", args.groups)], "a model, only to --block")
    model = create_model(args.model, **model_options(args))
    default = ARCHITECTURES[args.model].image_size
    height, width = args.input_size or (default, default)
    return model, model.config.in_channels, height, width


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error(f"--batch {args.batch}: expected a positive batch size")
    if args.output and output_problem(args.output):
        parser.error(output_problem(args.output))
    from ..analysis.summary import summarize

    try:
        model, channels, height, width = _build(args, parser)
        report = summarize(model, (args.batch, channels, height, width)).render(args.format, args.depth)
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report, end="" if report.endswith("\n") else "\n")
    problem = args.output and write_output(args.output, report)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return 0
