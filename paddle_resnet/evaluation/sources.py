"""What an evaluation runs: a model (from a training run, an export or a weights file) and labelled images (an
image folder or a CIFAR test set), each with what the other needs to know (class names, the input size)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np

from .._checks import check_positive
from .._errors import PaddleResNetError
from ..deploy.preprocess import describe_preprocess, load_images, transform_from
from ..weights.files import SUFFIXES


class EvaluationError(PaddleResNetError, ValueError):
    """The model and the data do not fit together (classes, sizes), or the evaluation asked for cannot be made."""


@dataclass
class LoadedModel:
    """A model ready to score images: ``scores(batch)`` maps float32 ``[N, C, H, W]`` to class probabilities
    ``[N, K]``; ``classes`` (or None), ``input_size`` (what its single view feeds it), ``source`` (for reports);
    ``network`` is the eager ``paddle.nn.Layer`` (None for an export), ``fixed_size`` whether the model only
    takes ``input_size`` images (an export)."""

    source: str
    kind: str  # "run", "export" or "weights"
    scores: Callable[[np.ndarray], np.ndarray]
    classes: Optional[List[str]]
    input_size: int
    outputs: int
    network: object = None
    fixed_size: bool = False
    recorded: Optional[dict] = None  # an export's preprocessing, as its metadata records it
    #: A run trained with another view than ImageNet's (``augment="cifar"``: the 32x32 image as it is; or
    #: ``normalize="pixel-mean"``: its training images' mean image subtracted): the single view its validation
    #: used, ``training.data.validation_transform``; None where ``preprocess()`` says it all.
    view: Optional[Callable] = None
    #: Why only the single view is defined for this model (a mean image of one size), else None.
    single_view_only: Optional[str] = None

    def preprocess(self) -> dict:
        """The evaluation transform of this model as plain data: what an export recorded (and ``predict``
        applies), else ``deploy.preprocess.describe_preprocess(input_size)``, what validation used."""
        return self.recorded or describe_preprocess(self.input_size)


def load_model(path: str, model: Optional[str] = None, input_size: Optional[int] = None,
               eager: bool = False) -> LoadedModel:
    """The model in ``path``: a training run (its ``--out`` folder: the model of its best checkpoint, as
    ``predict`` and ``export_run`` take it), a weights file (``.pdparams``/``.safetensors``; ``model`` names the
    architecture), or an export (folder, prefix or model file, run by ``Predictor``; not with ``eager``)."""
    from ..training.rundir import run_model_checkpoint

    path = os.fspath(path)
    checkpoint = run_model_checkpoint(path) if os.path.isdir(path) else None
    if checkpoint is not None:
        if model is not None:
            raise EvaluationError(f"model={model!r} (--model) names the architecture of a weights file; {path} is a "
                                  "training run, which knows its own: leave it out")
        return _from_run(path, checkpoint, input_size)
    if path.endswith(SUFFIXES) or model is not None:
        if model is None:
            raise EvaluationError(f"{path} is a weights file: name its architecture with --model (model=...)")
        return _from_weights(path, model, input_size)
    if eager:
        raise EvaluationError(f"{path}: not a training run or a weights file ({', '.join(SUFFIXES)}); layer "
                              "responses need the model's layers, which an export no longer has")
    return _from_export(path, input_size)


def _eager(source, kind, network, classes, input_size, outputs) -> LoadedModel:
    import paddle
    import paddle.nn.functional as F

    network.eval()

    @paddle.no_grad()
    def scores(batch: np.ndarray) -> np.ndarray:
        return F.softmax(network(paddle.to_tensor(np.ascontiguousarray(batch, dtype=np.float32))), axis=1).numpy()

    return LoadedModel(source, kind, scores, classes, input_size, outputs, network=network)


def _from_run(path: str, checkpoint, input_size: Optional[int]) -> LoadedModel:
    import paddle

    from ..builders import create_model
    from ..training import checkpoint as ckpt

    from ..training.data import validation_transform
    from ..training.loop import model_options

    trainer = ckpt.load_trainer(checkpoint)
    classes, settings = list(trainer["classes"]), trainer["config"]
    with paddle.utils.unique_name.guard():
        network = create_model(settings["model"], num_classes=len(classes), **model_options(settings))
    ckpt.load_model_weights(network, checkpoint)
    loaded = _eager(str(checkpoint), "run", network, classes, input_size or settings["input_size"], len(classes))
    augment, normalize = settings.get("augment", "imagenet"), settings.get("normalize", "imagenet")
    if (augment, normalize) != ("imagenet", "imagenet"):
        mean = None
        if normalize == "pixel-mean":
            if loaded.input_size != settings["input_size"]:
                raise EvaluationError(f"input_size={loaded.input_size}: {path} subtracts the mean image of its "
                                      f"{settings['input_size']}x{settings['input_size']} training images; leave "
                                      "the input size out")
            mean = np.asarray(trainer["pixel_mean"], dtype=np.float32)
            loaded.single_view_only = (f"{path} subtracts its training images' {settings['input_size']}x"
                                       f"{settings['input_size']} mean image (normalize='pixel-mean'), which is "
                                       "defined for its single view only")
        loaded.view = validation_transform(loaded.input_size, augment, mean)
    return loaded


def _from_weights(path: str, model: str, input_size: Optional[int]) -> LoadedModel:
    from ..builders import create_model_for_weights
    from ..models.table import get_config

    network, _, _ = create_model_for_weights(model, path)
    outputs = network.fc.weight.shape[1] if getattr(network, "fc", None) is not None else 0
    if not outputs:
        raise EvaluationError(f"{path}: {model} built from these weights has no classifier; evaluation needs class "
                              "scores")
    return _eager(path, "weights", network, None, input_size or get_config(model).image_size, outputs)


def _from_export(path: str, input_size: Optional[int]) -> LoadedModel:
    from ..deploy.classification import softmax
    from ..deploy.predictor import Predictor

    predictor = Predictor.from_run(path)
    shape = predictor.input_shape or [None, None, None, None]
    metadata = predictor.metadata or {}
    if len(metadata.get("outputs", [None])) != 1:
        raise EvaluationError(f"{predictor.model_file} returns several outputs (a backbone), not class scores")
    crop = (metadata.get("preprocess") or {}).get("crop") or shape[2:]
    exported = crop[0] if crop and crop[0] is not None else None
    if input_size is not None and exported is not None and input_size != exported:
        raise EvaluationError(f"input_size={input_size}: {predictor.model_file} was exported for {exported}x"
                              f"{exported} images; leave the input size out")
    size = input_size or exported
    if size is None:
        raise EvaluationError(f"{predictor.model_file}: its input size is not recorded; give input_size")
    outputs = len(predictor.classes) if predictor.classes else None
    loaded = LoadedModel(predictor.model_file, "export", lambda batch: softmax(predictor(batch)),
                         predictor.classes, size, outputs or 0, fixed_size=shape[2] is not None,
                         recorded=metadata.get("preprocess"))
    if not outputs:  # no class names recorded: one run of one image tells the classifier's size
        loaded.outputs = int(loaded.scores(np.zeros((1, 3, size, size), np.float32)).shape[1])
    return loaded


@dataclass
class LabelledImages:
    """Images with their true class: an image folder's files (``paths``) or a CIFAR split's pixels
    (``pixels``, ``uint8 [N, 32, 32, 3]``); ``labels`` index ``classes`` (the data's own class names)."""

    source: str
    classes: List[str]
    labels: np.ndarray
    paths: Optional[List[str]] = None
    pixels: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.labels)

    def name(self, index: int) -> str:
        return self.paths[index] if self.paths is not None else f"{self.source}[{index}]"

    def read(self, indices: Sequence[int], transform: Callable) -> List[object]:
        """Images ``indices`` transformed (a PIL RGB image in, an array out), or the reason one cannot be read:
        files through ``deploy.preprocess.load_images``, the reader ``predict`` uses."""
        if self.paths is not None:
            return load_images([self.paths[i] for i in indices], transform)
        from PIL import Image

        return [np.asarray(transform(Image.fromarray(self.pixels[i])), dtype=np.float32) for i in indices]


def load_data(data: str, limit: Optional[int] = None) -> LabelledImages:
    """The labelled images of ``data``: an image folder laid out as for training (``data/<class>/<image>``), or
    a CIFAR source (``cifar10:PATH``, its test split). ``limit``: only the first so many (in file order)."""
    from ..training import cifar
    from ..training.data import list_image_folder

    if limit is not None:
        check_positive("limit", limit)
    if cifar.parse_source(data):
        test = cifar.read_cifar(data, "test")
        end = len(test) if limit is None else min(limit, len(test))
        return LabelledImages(data, test.classes, test.labels[:end], pixels=test.images[:end])
    listing = list_image_folder(data)
    if listing.rejected:
        path, reason = listing.rejected[0]
        raise EvaluationError(f"{data}: {len(listing.rejected)} file(s) that are not images in a class folder, "
                              f"e.g. {path}: {reason}")
    samples = listing.candidates[:limit]
    if not samples:
        raise EvaluationError(f"{data}: no images in its class folders")
    return LabelledImages(data, listing.classes, np.array([label for _, label in samples], dtype=np.int64),
                          paths=[path for path, _ in samples])


def model_labels(model: LoadedModel, data: LabelledImages) -> np.ndarray:
    """The data's labels as the model's class indices: by class name when the model has names (a run, an
    export), else the data's own indices (which must be below the model's number of outputs)."""
    if model.classes is not None:
        unknown = sorted(set(data.classes[i] for i in set(data.labels.tolist())) - set(model.classes))
        if unknown:
            raise EvaluationError(f"{data.source}: class(es) {', '.join(unknown)} are not among the model's classes "
                                  f"({', '.join(model.classes[:20])}{' ...' if len(model.classes) > 20 else ''})")
        index = {name: i for i, name in enumerate(model.classes)}
        return np.array([index[data.classes[label]] for label in data.labels], dtype=np.int64)
    if len(data.classes) > model.outputs:
        raise EvaluationError(f"{data.source}: {len(data.classes)} classes, but the model has {model.outputs} "
                              "outputs (and no class names to match them by)")
    return data.labels


def single_view(preprocess: dict) -> Callable:
    """The single-view transform: exactly what ``predict`` applies (``deploy.preprocess.transform_from``)."""
    return transform_from(preprocess)
