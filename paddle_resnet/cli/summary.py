"""``summary``: print a model's (or a block's) layers, shapes, parameters and MACs, paddle.summary style."""

from __future__ import annotations

import argparse
import sys

from ..analysis.summary import COLUMNS, DEFAULT_COLUMNS, DEPTHS, FORMATS
from ..models.table import list_models
from ._args import add_model_options, flag, model_options, parse_input_size, parse_kwargs, parser_for
from ._output import output_problem, write_output

DESCRIPTION = """\
Print a model's (or a single block's) layers and the operations between them, with shapes, parameters and
Mult-Adds (multiply-accumulates) in paddle.summary's layout, the module path of every row, totals with units,
and a table per stage (per block for a model that is not a ResNet).

The model is an architecture (with builder options after colons: resnet50:stride_on=1x1) or MODULE:FACTORY (any
callable returning a paddle.nn.Layer: paddle.vision.models:mobilenet_v2; keyword arguments after colons, JSON
values, or --kwargs). Models are built without weights (paddle.LazyGuard) when the summary needs none.

exit status: 0 the summary, 1 the model does not run at this input size (the rows that ran are printed, then the
error), 2 a usage problem (a model that cannot be built, a report file that cannot be written).

examples:
  {program} summary resnet50
  {program} summary resnet50 --input-size 224 --num-classes 10 --stride-on 1x1
  {program} summary resnext50_32x4d --depth stages --format markdown
  {program} summary paddle.vision.models:mobilenet_v2 --columns output_size,num_params,mult_adds --depth 2
  {program} summary mypackage.models:build --kwargs '{{"num_classes": 2}}' --input-size 3x128x128
  {program} summary --block basic --in 64 --out 128 --stride 2
"""

#: Builder options that also describe a single block (``--block``): the rest apply to whole models only.
_BLOCK_OPTIONS = ("stride_on", "shortcut")


def parse_depth(text: str):
    """``layers``, ``blocks``, ``stages`` or a whole number >= 1 (``--depth``)."""
    if text in DEPTHS:
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r}: expected {', '.join(DEPTHS)} or a whole number >= 1")


def parse_columns(text: str):
    """``output_size,mult_adds`` -> the columns (``--columns``)."""
    columns = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown or not columns:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a comma-separated list of {', '.join(COLUMNS)}")
    return columns


def build_parser() -> argparse.ArgumentParser:
    parser = parser_for("summary", DESCRIPTION)
    parser.add_argument("model", nargs="?", help="an architecture (one of: "
                        f"{', '.join(list_models())}), optionally with options (resnet50:stride_on=1x1), or "
                        "MODULE:FACTORY (paddle.vision.models:mobilenet_v2)")
    parser.add_argument("--kwargs", type=parse_kwargs, metavar="JSON", help="keyword arguments for the model, as a "
                        "JSON object: '{\"num_classes\": 2}'")
    parser.add_argument("--input-size", type=parse_dims, metavar="SIZE", help="H, HxW, CxHxW or NxCxHxW "
                        "(default: the model's own, 224 or 32 for the CIFAR nets, with its input channels; "
                        "3x224x224 for other models and --block's 224)")
    parser.add_argument("--batch", type=int, default=None, help="batch size shown in the shapes (default 1)")
    add_model_options(parser.add_argument_group("model options of an architecture (as the builders take them; "
                                                "default: the architecture's)"))
    block = parser.add_argument_group("summarise a single block instead of a model (with --stride-on, --shortcut)")
    block.add_argument("--block", choices=("basic", "bottleneck"))
    block.add_argument("--in", dest="in_channels_block", type=int, metavar="C", help="block input channels")
    block.add_argument("--out", type=int, metavar="C", help="block output channels")
    block.add_argument("--stride", type=int, help="block stride (default 1)")
    block.add_argument("--groups", type=int, help="bottleneck 3x3 groups (default 1)")
    parser.add_argument("--depth", type=parse_depth, default="layers", metavar="DEPTH",
                        help="rows: every layer (layers, the default), residual blocks folded (blocks), one row per "
                             "stage (stages), or a whole number: module paths of at most that many parts, "
                             "deeper rows added into them (torchinfo's depth)")
    parser.add_argument("--columns", type=parse_columns, default=DEFAULT_COLUMNS, metavar="A,B",
                        help=f"columns to show, of: {', '.join(COLUMNS)} (default: {','.join(DEFAULT_COLUMNS)})")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", metavar="FILE", help="also write the report to FILE (atomically)")
    return parser


def parse_dims(text: str):
    """``--input-size`` as given: ``[H]``, ``[H, W]``, ``[C, H, W]`` or ``[N, C, H, W]`` (checked as every command
    checks it); what is not given comes from the model (``_size``)."""
    parse_input_size(text)  # the same check and message as the other commands'
    return [int(p) for p in text.lower().replace(",", "x").split("x")]


def _size(given, model_size, channels, batch):
    """The input size: the model's own (or 224x224), with what the user gave in its place; ``batch`` (``--batch``)
    wins over a batch given in ``--input-size``."""
    size = list(model_size) if model_size else [1, channels, 224, 224]
    if given:
        given = given * 2 if len(given) == 1 else given  # 224 means 224x224
        size[-len(given):] = given
    if batch is not None:
        size[0] = batch
    return size


def _build(args, parser):
    """``(model, input size)``, or ``(None, message)`` for a model spec that cannot be built."""
    from ..models import BasicBlock, BottleneckBlock  # imports Paddle: not needed for --help
    from ..specs import ModelSpecError, build_traceable, default_input_size, parse_model_spec

    def refuse(flags, mode):
        given = [flag for flag, value in flags if value is not None]
        if given:
            parser.error(f"{', '.join(given)} do(es) not apply to {mode}")

    if args.block:
        if args.model or args.in_channels_block is None or args.out is None:
            parser.error("--block needs --in and --out, and no model name")
        refuse([(flag(name), value) for name, value in model_options(args).items() if name not in _BLOCK_OPTIONS],
               "a single block (use --in for its input channels)")
        refuse([("--kwargs", args.kwargs)], "a single block")
        # `is None`, not `or`: an explicit 0 must reach the block's own check, not silently become the default.
        options = {"shortcut": args.shortcut or "B"}
        if args.block == "bottleneck":
            options.update(groups=1 if args.groups is None else args.groups, stride_on=args.stride_on or "3x3")
        else:
            refuse([("--groups", args.groups), ("--stride-on", args.stride_on)], "--block basic")
        cls = BasicBlock if args.block == "basic" else BottleneckBlock
        block = cls(args.in_channels_block, args.out, 1 if args.stride is None else args.stride, **options)
        return block, _size(args.input_size, None, args.in_channels_block, args.batch)
    if not args.model:
        parser.error("give a model: an architecture name, MODULE:FACTORY (or --block)")
    refuse([("--in", args.in_channels_block), ("--out", args.out), ("--stride", args.stride),
            ("--groups", args.groups)], "a model, only to --block")
    try:
        spec = parse_model_spec(args.model, args.kwargs)
        if spec.factory:
            refuse([(flag(name), value) for name, value in model_options(args).items()],
                   f"{spec.factory}, only to an architecture of the table (give a factory's arguments with "
                   "--kwargs or after colons)")
        spec.options.update(model_options(args))
        model = build_traceable(spec, _size(args.input_size, None, 3, args.batch) if len(args.input_size or ()) >= 3
                                else None)
    except ModelSpecError as error:
        return None, str(error)
    channels = getattr(getattr(model, "config", None), "in_channels", 3)
    return model, _size(args.input_size, default_input_size(model), channels, args.batch)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch is not None and args.batch < 1:
        parser.error(f"--batch {args.batch}: expected a positive batch size")
    if args.output and output_problem(args.output):
        parser.error(output_problem(args.output))
    from ..analysis.summary import summarize
    from ..analysis.trace import TraceError

    try:
        model, size = _build(args, parser)
        if model is None:
            print(f"error: {size}", file=sys.stderr)
            return 2
        summary = summarize(model, size, args.columns, args.depth)
    except TraceError as error:  # the model does not run at this size: the rows that ran, then why
        if getattr(error, "summary", None) is None:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(error.summary.render(args.format))
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = summary.render(args.format)
    print(report, end="" if report.endswith("\n") else "\n")
    problem = args.output and write_output(args.output, report)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return 0
