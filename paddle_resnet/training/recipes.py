"""Training recipes as data: named sets of training settings, printable, stored with the run, overridable one
setting at a time.

A recipe is a frozen ``Recipe``: the ``TrainConfig`` settings it fixes, and settings it adds for some models.
``recipe_config(name, **overrides)`` is the ``TrainConfig`` it gives, with any setting given anew (a command-line
flag) taking precedence; the run's ``trainer.json`` stores every resulting setting and the recipe's name.

* ``default``: ``TrainConfig``'s own defaults (fine-tuning and training on image folders; unchanged).
* ``he2015-cifar10``: He et al. 2015, section 4.2 (CIFAR-10).
* ``he2015-imagenet``: He et al. 2015, section 3.4 (ImageNet).

>>> print(RECIPES["he2015-cifar10"].describe("resnet110").splitlines()[0])
he2015-cifar10: He et al. 2015, section 4.2 (CIFAR-10), for resnet110
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Recipe:
    """A named set of ``TrainConfig`` settings.

    Attributes:
        name: what ``--recipe`` takes.
        source: where the settings come from.
        settings: ``TrainConfig`` field -> value.
        for_models: model name -> further settings for that model (the paper's ResNet-110 warm-up).
        notes: what the settings cannot say themselves (choices this recipe makes where the paper is silent).
    """

    name: str
    source: str
    settings: Mapping[str, object] = field(default_factory=dict)
    for_models: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    notes: Tuple[str, ...] = ()

    def settings_for(self, model: Optional[str] = None) -> Dict[str, object]:
        """The settings for ``model`` (the recipe's own, plus those it adds for that model)."""
        return {**self.settings, **self.for_models.get(model, {})}

    def describe(self, model: Optional[str] = None) -> str:
        """The recipe as text: its source, every setting (for ``model`` when given), and its notes."""
        lines = [f"{self.name}: {self.source}" + (f", for {model}" if model else "")]
        settings = self.settings_for(model)
        lines += [f"  {key} = {value!r}" for key, value in settings.items()] or ["  (TrainConfig's defaults)"]
        if model is None:
            for name, extra in self.for_models.items():
                lines.append(f"  for {name}: " + ", ".join(f"{key} = {value!r}" for key, value in extra.items()))
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


#: The paper's warm-up for its deepest CIFAR nets (section 4.2, ResNet-110: "0.01 to warm up the training until the
#: training error is below 80% (about 400 iterations), and then go back to 0.1").
_DEEP_CIFAR_WARMUP = {"warmup_lr": 0.01, "warmup_until_error": 0.8}

RECIPES: Dict[str, Recipe] = {recipe.name: recipe for recipe in (
    Recipe("default", "TrainConfig's defaults (see docs/training.md)"),
    Recipe(
        "he2015-cifar10", "He et al. 2015, section 4.2 (CIFAR-10)",
        settings=dict(val_split=0.1, batch_size=128, optimizer="sgd", lr=0.1, weight_decay=1e-4, schedule="step",
                      milestones=(32000, 48000), max_steps=64000, warmup_epochs=0, augment="cifar",
                      normalize="pixel-mean"),
        for_models={name: _DEEP_CIFAR_WARMUP for name in ("resnet110", "plain110", "resnet1202")},
        notes=("val_split 0.1 is the paper's 45k/5k split of the 50k training images",
               "momentum 0.9 (every SGD run here), single-view evaluation of the 32x32 image as it is",
               "the 0.01 warm-up is the paper's for ResNet-110; this recipe also gives it to plain-110 and "
               "ResNet-1202, which the paper trains 'as described above'")),
    Recipe(
        "he2015-imagenet", "He et al. 2015, section 3.4 (ImageNet)",
        settings=dict(batch_size=256, optimizer="sgd", lr=0.1, weight_decay=1e-4, schedule="plateau",
                      max_steps=600000, warmup_epochs=0, augment="scale", normalize="pixel-mean"),
        notes=("'divided by 10 when the error plateaus', decided after each epoch: when more than "
               "schedules.PLATEAU_PATIENCE epochs in a row have not improved the best validation error by "
               "schedules.PLATEAU_THRESHOLD (absolute)",
               "momentum 0.9, no dropout (our nets have none); the paper's 10-crop and multi-scale testing are "
               "evaluation's, not training's")),
)}


def get_recipe(name: str) -> Recipe:
    """The recipe ``name``; ``ValueError`` naming the recipes otherwise."""
    if name not in RECIPES:
        raise ValueError(f"recipe={name!r}: unknown recipe; choose from {', '.join(RECIPES)}")
    return RECIPES[name]


def recipe_config(name: str, **overrides):
    """The ``TrainConfig`` of recipe ``name`` for ``overrides["model"]`` (or the default model), with
    ``overrides`` taking precedence over the recipe's settings, and ``recipe`` set to ``name``.

    >>> config = recipe_config("he2015-cifar10", model="resnet20", batch_size=64)
    >>> config.batch_size, config.milestones, config.max_steps, config.recipe
    (64, (32000, 48000), 64000, 'he2015-cifar10')
    """
    from .config import TrainConfig

    recipe = get_recipe(name)
    model = overrides.get("model", TrainConfig.model)
    settings = recipe.settings_for(model)
    if "epochs" in overrides and "max_steps" in settings and "max_steps" not in overrides:
        settings.pop("max_steps")  # a length in epochs replaces the recipe's length in steps
    return TrainConfig(**{**settings, **overrides, "recipe": name})
