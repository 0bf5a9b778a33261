"""``summary``: print a model's (or a block's) layers, shapes, parameters and MACs, paddle.summary style.

    python scripts/summary.py resnet50
    python scripts/summary.py resnet50 --input-size 224 --num-classes 10 --stride-on 1x1
    python scripts/summary.py resnext50_32x4d --depth stages --format markdown
    python scripts/summary.py --block basic --in 64 --out 128 --stride 2
"""

from __future__ import annotations

import argparse
import sys

from ..atomic import atomic_write_text
from ..config import ARCHITECTURES, SHORTCUTS, STRIDE_PLACEMENTS, list_models
from ..summary import DEPTHS, FORMATS, summarize


def parse_size(text: str):
    """``224`` or ``224x160`` -> (height, width): the ``--input-size`` argument of every command that takes one."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts, default=0) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive size like 224 or 224x160")
    return (parts[0], parts[-1])


def _stages(text: str):
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected stage numbers like 1,2,3,4") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summary", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help=f"architecture name, one of: {', '.join(list_models())}")
    parser.add_argument("--input-size", type=parse_size, help="input height (and width, as HxW); default: the "
                        "architecture's (224, or 32 for the CIFAR nets); 224 for --block")
    parser.add_argument("--batch", type=int, default=1, help="batch size shown in the shapes (default 1)")
    parser.add_argument("--num-classes", type=int, help="classifier outputs (0: no classifier)")
    parser.add_argument("--in-channels", type=int, help="input image channels")
    parser.add_argument("--stride-on", choices=STRIDE_PLACEMENTS, help="bottleneck stride placement")
    parser.add_argument("--shortcut", choices=SHORTCUTS, help="A: zero-pad identity, B: 1x1 projection")
    parser.add_argument("--out-stages", type=_stages, help="return these stages' feature maps, e.g. 1,2,3,4")
    block = parser.add_argument_group("summarise a single block instead of a model")
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
    from .. import BasicBlock, BottleneckBlock, create_model

    def refuse(flags, mode):
        given = [flag for flag, value in flags if value is not None]
        if given:
            parser.error(f"{', '.join(given)} do(es) not apply to {mode}")

    if args.block:
        if args.model or args.in_channels_block is None or args.out is None:
            parser.error("--block needs --in and --out, and no model name")
        refuse([("--num-classes", args.num_classes), ("--in-channels", args.in_channels),
                ("--out-stages", args.out_stages)], "a single block (use --in for its input channels)")
        options = {"shortcut": args.shortcut or "B"}
        if args.block == "bottleneck":
            options.update(groups=args.groups or 1, stride_on=args.stride_on or "3x3")
        else:
            refuse([("--groups", args.groups), ("--stride-on", args.stride_on)], "--block basic")
        cls = BasicBlock if args.block == "basic" else BottleneckBlock
        height, width = args.input_size or (224, 224)
        block = cls(args.in_channels_block, args.out, args.stride or 1, **options)
        return block, args.in_channels_block, height, width
    if not args.model:
        parser.error("give an architecture name (or --block)")
    refuse([("--in", args.in_channels_block), ("--out", args.out), ("--stride", args.stride),
            ("--groups", args.groups)], "a model, only to --block")
    options = {key: value for key, value in (
        ("num_classes", args.num_classes), ("in_channels", args.in_channels), ("stride_on", args.stride_on),
        ("shortcut", args.shortcut), ("out_stages", args.out_stages)) if value is not None}
    model = create_model(args.model, **options)
    default = ARCHITECTURES[args.model].image_size
    height, width = args.input_size or (default, default)
    return model, model.config.in_channels, height, width


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error(f"--batch {args.batch}: expected a positive batch size")
    try:
        model, channels, height, width = _build(args, parser)
        report = summarize(model, (args.batch, channels, height, width)).render(args.format, args.depth)
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report, end="" if report.endswith("\n") else "\n")
    if args.output:
        atomic_write_text(args.output, report)
    return 0
