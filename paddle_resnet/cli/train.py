"""``train DATA --model NAME [options]``: train or fine-tune on an image folder.

Every option maps to one ``TrainConfig`` field (see there, and ``docs/training.md``). ``--resume OUT``
continues a run with its saved settings; only the options in ``RESUMABLE_CHANGES`` may be given anew, and
``--epochs`` may grow to extend it.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..models.table import list_models
from ._args import parser_for
from ._args import program as _program

DESCRIPTION = """\
Train or fine-tune a ResNet on an image folder laid out as DATA/<class>/<image>. Checkpoints go to OUT/last and
OUT/best (by validation accuracy) after every epoch, metrics to OUT/metrics.csv and OUT/metrics.png; with
--export, the best model to OUT/export, ready for `{program} predict OUT IMAGE`.

examples:
  {program} train cats_vs_dogs/train --model resnet18 --epochs 20 --out runs/cats
  {program} train cats_vs_dogs/train --model resnet50 --pretrained --freeze layer4 --epochs 10
  {program} train --resume runs/cats                 continue an interrupted run exactly
  {program} train --resume runs/cats --epochs 30     extend a finished run
  {program} train cifar_images --model resnet20 --recipe he2015-cifar10 --out runs/r20   the paper's CIFAR recipe
  {program} train --recipe he2015-cifar10 --model resnet110 --print                     its settings for ResNet-110
"""
EPILOG = """\
Several GPUs or CPU processes (one per device):
  python -m paddle.distributed.launch --nproc_per_node N paddle-resnet train DATA ...
(see the project's docs/training.md)."""


def _parser() -> argparse.ArgumentParser:
    from ..training.config import (AUGMENTATIONS, BASE_LR, DEFAULT_EPOCHS, DEFAULT_OUT, DEFAULT_THREADS,
                                   DEFAULT_VAL_SPLIT, DEFAULT_WEIGHT_DECAY, NORMALIZATIONS, OPTIMIZERS, SCHEDULES,
                                   TrainConfig)
    from ..models.config import SHORTCUTS
    from ..training.recipes import RECIPES

    defaults = TrainConfig()

    def per_optimizer(values: dict) -> str:
        return ", ".join(f"{values[name]:g} for {name}" for name in OPTIMIZERS)

    parser = parser_for("train", DESCRIPTION, EPILOG)
    parser.argument_default = argparse.SUPPRESS
    parser.add_argument("data", nargs="?", help="training image folder (not needed with --resume)")
    parser.add_argument("--model", choices=list_models(), metavar="NAME",
                        help=f"architecture, one of list_models() (default {defaults.model})")
    parser.add_argument("--shortcut", choices=SHORTCUTS,
                        help="the model's shortcut option instead of its row's: A zero-pads, B projects where the "
                             "shape changes, C projects on every block, none (a plain net)")
    parser.add_argument("--out", metavar="DIR",
                        help=f"output directory (default {DEFAULT_OUT}; with --resume, the run's own directory)")
    parser.add_argument("--val-dir", metavar="DIR", help="validation image folder with the same class folders")
    parser.add_argument("--val-split", type=float, metavar="F",
                        help=f"without --val-dir: hold out this fraction of each class (default {DEFAULT_VAL_SPLIT}; "
                             "0 validates nothing)")
    parser.add_argument("--recipe", choices=list(RECIPES), metavar="NAME",
                        help=f"start from a recipe's settings ({', '.join(RECIPES)}; default: default, these "
                             "defaults); any option given overrides the recipe's value")
    parser.add_argument("--print", action="store_true", dest="print_settings",
                        help="print the recipe's settings (for --model, if given) and the resulting configuration, "
                             "and exit")
    parser.add_argument("--epochs", type=int, help=f"default {DEFAULT_EPOCHS}; with --resume, more than the run's "
                        "epochs extends it")
    parser.add_argument("--max-steps", type=int, metavar="N",
                        help="the run's length in optimizer steps (iterations) instead of epochs")
    parser.add_argument("--batch-size", type=int, help=f"images per step per process (default {defaults.batch_size})")
    parser.add_argument("--lr", type=float,
                        help=f"peak learning rate (default {per_optimizer(BASE_LR)}, times global batch / 256)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {defaults.optimizer} (momentum 0.9)")
    parser.add_argument("--weight-decay", type=float, help=f"default {per_optimizer(DEFAULT_WEIGHT_DECAY)}")
    parser.add_argument("--schedule", choices=SCHEDULES,
                        help="cosine decay; step: x0.1 at --milestones (default 50%% and 75%% of the steps after "
                             "warm-up); plateau: x0.1 when the validation error stops improving "
                             f"(default {defaults.schedule})")
    parser.add_argument("--milestones", type=_steps, metavar="S1,S2",
                        help="with --schedule step: the steps after which the rate is divided by 10, e.g. 32000,48000")
    parser.add_argument("--warmup-lr", type=float, metavar="LR",
                        help="train at LR until the training error is below --warmup-until-error (the paper's "
                             "ResNet-110 warm-up: 0.01 until 0.8)")
    parser.add_argument("--warmup-until-error", type=float, metavar="F", help="see --warmup-lr")
    parser.add_argument("--augment", choices=AUGMENTATIONS,
                        help="imagenet: random resized crop, flip; cifar: 4-pixel zero padding, random crop, flip "
                             "(32x32 images as they are); scale: shorter side random in [256, 480] for 224, crop, "
                             f"flip, colour lighting (default {defaults.augment})")
    parser.add_argument("--normalize", choices=NORMALIZATIONS,
                        help="imagenet: per-channel mean and std; pixel-mean: subtract the training images' mean "
                             f"image (default {defaults.normalize})")
    parser.add_argument("--warmup-epochs", type=int, help="linear warm-up (default 1, none in a 1-epoch run)")
    parser.add_argument("--input-size", type=int, metavar="PIXELS",
                        help="square input resolution (default: the architecture's, 224 or 32)")
    parser.add_argument("--pretrained", nargs="?", const=True, metavar="PATH",
                        help="start from the official weights, from PaddleClas's SSLD weights (ssld), or from a "
                             "weights file PATH")
    parser.add_argument("--freeze", metavar="STAGE",
                        help="freeze the stem and stages up to STAGE (stem, layer1, layer2, ...): fine-tuning")
    parser.add_argument("--amp", action="store_true", help="mixed precision (GPU only; ignored on CPU)")
    parser.add_argument("--seed", type=int, help=f"default {defaults.seed}")
    parser.add_argument("--num-workers", type=int, help=f"data loader processes (default {defaults.num_workers})")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads for training's kernels (default: "
                        + ("every core, shared between the processes on this machine)" if DEFAULT_THREADS == "all"
                           else "Paddle's own)" if DEFAULT_THREADS == "paddle" else f"{DEFAULT_THREADS})"))
    parser.add_argument("--skip-bad-images", action="store_true",
                        help="leave out unreadable, non-image or misplaced files (listed) instead of stopping")
    parser.add_argument("--export", action="store_true", help="export the best model to OUT/export at the end")
    parser.add_argument("--resume", metavar="DIR", help="continue the run in DIR (its --out) or from a checkpoint")
    return parser


def _steps(text: str):
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected step numbers separated by commas, e.g. 32000,48000") \
            from None


def _print_settings(given: dict) -> int:
    """``--print``: the recipe and the configuration it gives with the other options."""
    import dataclasses

    from ..training.recipes import get_recipe, recipe_config

    name = given.pop("recipe", "default")
    print(get_recipe(name).describe(given.get("model")))
    config = recipe_config(name, **given)
    print("configuration (unset values are filled in when the run starts):")
    for field in dataclasses.fields(config):
        print(f"  {field.name} = {getattr(config, field.name)!r}")
    return 0


def main(argv=None) -> int:
    given = vars(_parser().parse_args(argv))  # only the options actually given (argument_default=SUPPRESS)
    if given.pop("print_settings", False):
        try:
            return _print_settings(given)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    from ..training import BadDataError, TrainConfig, resume_config, train  # imports Paddle: after --help
    from ..training.config import DEFAULT_OUT
    from ..training.recipes import recipe_config

    config = TrainConfig()
    try:
        if "resume" in given:
            config = resume_config(given.pop("resume"), **given)
        elif "data" not in given:
            swallowed = given.get("pretrained")
            if isinstance(swallowed, str) and os.path.isdir(swallowed):
                print(f"error: --pretrained took {swallowed!r} as its weights file, but it is a folder, and no DATA "
                      f"was given: put the data folder first ({_program()} train {swallowed} --pretrained ...) "
                      "or write --pretrained=PATH", file=sys.stderr)
            else:
                print("error: give the training image folder DATA (or --resume DIR)", file=sys.stderr)
            return 2
        else:
            config = recipe_config(given.pop("recipe", "default"), **given)
        train(config)
    except (BadDataError, ValueError, OSError, ImportError, NotImplementedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted; every finished epoch is saved: continue with --resume {config.out or DEFAULT_OUT}",
              file=sys.stderr)
        return 130
    return 0
