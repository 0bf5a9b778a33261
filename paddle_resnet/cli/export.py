"""``export``: save a model for deployment (Paddle Inference or ONNX) and check it against the eager model."""

from __future__ import annotations

import os
import sys
import warnings

from ..deploy.export import FORMATS
from ..models.table import list_models
from ._args import add_model_options, model_options, parse_size, parser_for

DESCRIPTION = """\
Save a model for Paddle Inference or ONNX Runtime, with its class names and image preprocessing next to it
(DIR/MODEL_meta.json), and check the exported model against the eager one on a random batch.

The batch dimension stays dynamic. The classifier's size is read from the weights (say --num-classes only to
check it). Weights saved by a training run (RUN/best/model.safetensors) bring the run's class names and input size.
Both formats may be exported to the same DIR (DIR/MODEL.json + .pdiparams, DIR/MODEL.onnx); exporting a format
again replaces that format's files only.

exit status: 0 written and checked, 1 the exported model disagrees with the eager one by more than 1e-4 of the
output's scale, 2 bad arguments, unreadable or unfitting weights, or a missing ONNX package.

examples:
  {program} export resnet50 --weights resnet50.pdparams --out deploy/
  {program} export resnet50 --weights resnet50.pdparams --format onnx --out deploy/
  {program} export resnet18 --weights runs/cats/best/model.safetensors --out deploy/cats/
Run the files with paddle_resnet.Predictor, or classify images: {program} predict deploy/resnet50 photo.jpg
"""


def build_parser():
    parser = parser_for("export", DESCRIPTION)
    parser.add_argument("model", choices=list_models(), metavar="MODEL",
                        help=f"architecture name, one of: {', '.join(list_models())}")
    parser.add_argument("--weights", metavar="W", help="weights file or URL (.pdparams or .safetensors, our or "
                        "torchvision/timm naming); default: random initialisation")
    parser.add_argument("--format", choices=FORMATS, default="paddle",
                        help="paddle: Paddle Inference program (default); onnx: ONNX through paddle2onnx")
    parser.add_argument("--out", metavar="DIR", default=".", help="output directory (default: current)")
    parser.add_argument("--input-size", type=parse_size, help="input height (and width, as HxW); default: the "
                        "training run's, else the architecture's (224, or 32 for the CIFAR nets)")
    parser.add_argument("--classes", metavar="A,B,...", help="class names in output order, comma-separated; "
                        "default: the training run's, when the weights come from one")
    add_model_options(parser.add_argument_group("model options (as the builders take them; default: the "
                                                "architecture's; --num-classes: the weights')"))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from ..weights.loading import IncompatibleWeightsError

    try:
        return _export(args)
    except IncompatibleWeightsError as error:
        print(f"error: the weights do not fit {args.model} with these options (nothing was exported):\n"
              f"{error.report.describe()}", file=sys.stderr)
        hint = _hint(error.report, args)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return 2
    except (ImportError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _export(args) -> int:
    from ..builders import create_model, create_model_for_weights
    from ..deploy.compare import RELATIVE_TOLERANCE, compare_with_eager
    from ..deploy.export import FORMAT_SUFFIXES, export
    from ..deploy.onnx_runner import import_onnxruntime
    from ..weights.loading import WeightsWarning

    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise NotADirectoryError(f"--out {args.out}: that is a file; give a directory (created if missing)")
    if args.format == "onnx":
        import_onnxruntime()  # the check after writing needs it: fail before any work is done
    run = _training_run_of(args.weights)
    classes = args.classes.split(",") if args.classes else run.get("classes")
    options = model_options(args)
    if args.weights:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, report, inferred = create_model_for_weights(args.model, args.weights, **options)
        print(report.describe())
        for warning in caught:  # all but the report's own warning: it was printed in full just above
            own = issubclass(warning.category, WeightsWarning) and str(warning.message).startswith(report.describe())
            if not own:
                warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
        if inferred is not None:
            print(f"the weights' classifier has {inferred} outputs: exporting with --num-classes {inferred}")
    else:
        model = create_model(args.model, **options)
        print("note: no --weights given; exporting randomly initialised weights")
    model.eval()
    taken = []
    if run.get("classes") is not None and not args.classes:
        taken.append(f"class names {run['classes']}")
    if run.get("input_size") is not None and not args.input_size:
        taken.append(f"input size {run['input_size']}")
    if taken:
        print(f"from the training run in {run['folder']}: {', '.join(taken)}")
    size = run.get("input_size") or model.config.image_size
    height, width = args.input_size or (size, size)
    input_size = (model.config.in_channels, height, width)
    prefix = os.path.join(args.out, args.model)
    earlier = [prefix + suffix for suffix in FORMAT_SUFFIXES[args.format] if os.path.exists(prefix + suffix)]
    print(f"exporting {args.model} ({args.format}) to {prefix} ...", flush=True)
    files = export(model, prefix, input_size=input_size, format=args.format, classes=classes)
    for path in files:
        print(f"wrote {path} ({os.path.getsize(path) / 2**20:.1f} MiB)")
    for path in earlier:
        if not os.path.exists(path):
            print(f"removed {path} (an earlier {args.format} export to the same prefix)")

    backend, error = compare_with_eager(model, files[-1], input_size)
    ok = error <= RELATIVE_TOLERANCE
    print(f"check: {backend} on a random batch of 2 vs the eager model: max difference "
          f"{error:.1e} of the output's scale ({'ok' if ok else 'MISMATCH'}, tolerance {RELATIVE_TOLERANCE:.0e})")
    return 0 if ok else 1


def _training_run_of(weights) -> dict:
    """Class names and input size of the training run whose checkpoint folder holds ``weights``, or ``{}``."""
    if not weights or "://" in weights:
        return {}
    from ..training.checkpoint import TRAINER_FILE, load_trainer

    folder = os.path.dirname(os.path.abspath(weights))
    if not os.path.isfile(os.path.join(folder, TRAINER_FILE)):
        return {}
    trainer = load_trainer(folder)
    return {"folder": folder, "classes": trainer.get("classes"),
            "input_size": trainer.get("config", {}).get("input_size")}


def _hint(report, args) -> str:
    """What to do about weights that do not fit: their classifier size, or how to export a backbone."""
    from ..builders import classifier_outputs
    from ..models.stages import HEAD, part_of

    outputs = classifier_outputs(report)
    if outputs is not None and args.num_classes is not None:
        return f"the weights' classifier has {outputs} outputs, not --num-classes {args.num_classes}: leave the " \
               "option out to use the weights' size"
    if report.missing and all(part_of(key) == HEAD for key in report.missing) and not report.unexpected:
        return "the weights have no classifier: pass --num-classes 0 to export the backbone alone"
    return ""
