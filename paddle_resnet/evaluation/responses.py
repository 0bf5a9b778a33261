"""Layer responses (Figure 7 of the ResNet paper): how strongly each 3x3 layer's output varies.

The paper measures "the standard deviations of layer responses ... the outputs of each 3x3 layer, after BN and
before other nonlinearity (ReLU/addition)", and finds them smaller in residual nets than in plain ones, and
smaller the deeper the net: the residual functions stay close to zero. Here a layer is each batch
normalisation applied directly to the output of a 3x3 convolution, found by forward hooks while the model runs
(so for any network built from such pairs: our basic and bottleneck blocks, the CIFAR stem, the plain nets);
its response is the standard deviation of all the numbers that normalisation outputs over the images (every
image, channel and position), with the model in evaluation mode (BN uses its running statistics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np


#: Most images ``measure_responses`` prepares at once (1024 at 224x224 are 0.6 GB of float32).
MAX_IMAGES = 1024


@dataclass
class LayerResponse:
    """One 3x3 layer's response: ``name`` (of its batch normalisation, ``layer1.0.bn1``) and ``std``."""

    name: str
    std: float


def layer_responses(model, images, batch_size: int = 64) -> List[LayerResponse]:
    """The standard deviation of each 3x3 layer's output (after BN, before the addition and the ReLU), in the
    order the layers run, over ``images`` (float32 ``[N, C, H, W]``, array or tensor, already normalised as
    the model expects).

    >>> import numpy as np
    >>> from paddle_resnet import resnet20, layer_responses
    >>> responses = layer_responses(resnet20(), np.random.rand(2, 3, 32, 32).astype("float32"))
    >>> len(responses), responses[0].name, responses[1].name   # the stem's 3x3 conv, then 2 per basic block
    (19, 'bn1', 'layer1.0.bn1')
    """
    import paddle
    from paddle import nn

    names = {id(layer): name for name, layer in model.named_sublayers()}
    last_3x3 = {}
    sums: dict = {}
    order: List[int] = []

    def after_conv(layer, inputs, output):
        last_3x3["output"] = output if tuple(layer._kernel_size) == (3, 3) else None

    def after_bn(layer, inputs, output):
        if last_3x3.get("output") is None or inputs[0] is not last_3x3["output"]:
            return
        values = output.numpy().astype(np.float64)
        if id(layer) not in sums:
            sums[id(layer)] = np.zeros(3)
            order.append(id(layer))
        sums[id(layer)] += [values.size, values.sum(), np.square(values).sum()]

    convs = [layer for layer in model.sublayers(include_self=True) if isinstance(layer, nn.Conv2D)]
    norms = [layer for layer in model.sublayers(include_self=True) if isinstance(layer, nn.layer.norm._BatchNormBase)]
    hooks = [layer.register_forward_post_hook(after_conv) for layer in convs]
    hooks += [layer.register_forward_post_hook(after_bn) for layer in norms]
    was_training = model.training
    model.eval()
    try:
        with paddle.no_grad():
            for start in range(0, len(images), batch_size):
                batch = images[start:start + batch_size]
                model(batch if isinstance(batch, paddle.Tensor) else paddle.to_tensor(np.asarray(batch, "float32")))
    finally:
        for hook in hooks:
            hook.remove()
        if was_training:
            model.train()
    results = []
    for key in order:
        count, total, squares = sums[key]
        mean = total / count
        results.append(LayerResponse(names.get(key, "?"), float(np.sqrt(max(squares / count - mean * mean, 0.0)))))
    return results


def response_report(runs: Sequence[tuple]) -> list:
    """``[{"model": label, "layers": [{"layer", "std"}, ...]}]`` for ``(label, responses)`` pairs: the JSON form."""
    return [{"model": label, "layers": [{"layer": r.name, "std": r.std} for r in responses]}
            for label, responses in runs]


def plot_responses(path: str, runs: Sequence[tuple], title: Optional[str] = None) -> str:
    """Draw Figure 7's two panels for ``(label, responses)`` pairs into the PNG ``path`` (atomically): the
    standard deviations in the layers' original order (top), and sorted by magnitude, largest first (bottom).
    Needs matplotlib."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting layer responses needs matplotlib, which is not installed: "
                          "pip install matplotlib (or leave --plot out)") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from .._files import atomic_path

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7))
    for label, responses in runs:
        stds = np.array([r.std for r in responses])
        top.plot(np.arange(1, len(stds) + 1), stds, marker=".", label=label)
        bottom.plot(np.arange(1, len(stds) + 1), np.sort(stds)[::-1], marker=".", label=label)
    top.set_xlabel("layer index (original)")
    bottom.set_xlabel("layer index (sorted by magnitude)")
    for axes in (top, bottom):
        axes.set_ylabel("std")
        axes.legend()
        axes.grid(alpha=0.3)
    if title:
        top.set_title(title)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
    return path


def measure_responses(source: str, data: str, architecture: Optional[str] = None, images: int = 256):
    """``(label, layer_responses)`` of the model in ``source`` (a run or a weights file, see
    ``sources.load_model``) on the first ``images`` images of ``data``, each prepared by the model's single view."""
    from .._checks import check_positive
    from .sources import EvaluationError, load_data, load_model, single_view

    check_positive("images", images)
    if images > MAX_IMAGES:
        raise ValueError(f"images={images}: expected at most {MAX_IMAGES} (they are held in memory together)")
    model = load_model(source, architecture, eager=True)
    labelled = load_data(data, limit=images)
    arrays = labelled.read(range(len(labelled)), model.view or single_view(model.preprocess()))
    failed = [(labelled.name(i), a) for i, a in enumerate(arrays) if isinstance(a, str)]
    if failed:
        raise EvaluationError(f"{failed[0][0]}: {failed[0][1]}")
    return source, layer_responses(model.network, np.stack(arrays))
