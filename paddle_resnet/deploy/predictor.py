"""Run an exported model (see ``export.py``) on numpy arrays, through Paddle Inference or ONNX Runtime.

    predictor = Predictor("out/resnet50")          # finds out/resnet50.json / .pdmodel / .onnx
    logits = predictor(images)                     # images: float32 [batch, 3, 224, 224] -> [batch, 1000]
    Predictor.from_run("runs/cats").classify("photos/")   # image files in, top classes with probabilities out

This module is the facade: the classification of image files is in ``classification``, finding an export in
``discovery``, and one runner per backend in ``paddle_runner`` and ``onnx_runner`` (their names are re-exported
here, where they were defined before).

The fast settings are on by default: the GPU when Paddle (or ONNX Runtime) sees one, otherwise the CPU with
oneDNN kernels, graph optimisation (BatchNorm folded into the convolutions, convolution + add + ReLU fused)
and one thread per available core.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Union

import numpy as np

from .._checks import check_threads
from .._process import available_threads
from .classification import Classification, classify
from .discovery import find_export, find_model_file, prefix_of
from .export import read_metadata
from .onnx_runner import OnnxRunner, onnxruntime_has_gpu
from .paddle_runner import PaddleRunner, paddle_has_gpu, resolve_onednn

# Re-exported: the names this module defined before it was split (older code imports them from here).
from ._backends import damaged as _damaged, first_line as _first_line, gpu_index as _gpu_index  # noqa: F401
from .classification import _images_in, find_images, softmax as _softmax  # noqa: F401
from .discovery import MODEL_SUFFIXES, prefix_of as _prefix_of  # noqa: F401
from .onnx_runner import OnnxRunner as _OnnxRunner, import_onnxruntime  # noqa: F401
from .onnx_runner import onnxruntime_has_gpu as _onnxruntime_has_gpu  # noqa: F401
from .paddle_runner import PaddleRunner as _PaddleRunner, paddle_has_gpu as _paddle_has_gpu  # noqa: F401
from .paddle_runner import program_input_shape as _program_input_shape  # noqa: F401
from .paddle_runner import read_program as _read_program, resolve_onednn as _resolve_onednn  # noqa: F401


class Predictor:
    """An exported model, ready to run on batches of images.

    Args:
        path: an export prefix (``"out/resnet50"``) or one model file: ``.json`` / ``.pdmodel`` (run by
            Paddle Inference, with the ``.pdiparams`` beside it) or ``.onnx`` (run by ONNX Runtime).
        device: ``"cpu"``, ``"gpu"`` or ``"gpu:N"``; ``None`` picks the GPU when one is available.
        threads: CPU threads for one batch; ``None`` uses every core this process may run on. Paddle Inference
            on a GPU takes no thread count (passing one there raises); ONNX Runtime uses it for the operators
            it runs on the CPU.
        onednn: Paddle Inference on the CPU only (any other value than ``None`` elsewhere raises): ``None``
            uses oneDNN kernels when Paddle is built with them, ``True`` requires them, ``False`` runs Paddle's
            plain CPU kernels (much slower; for comparison).
        format: ``"paddle"`` or ``"onnx"``: which model to run when both formats were exported to the prefix
            (without it, such a prefix is refused as ambiguous).

    Calling the predictor with a float32 array ``[batch, C, H, W]`` returns the model's output as a numpy array
    (a list of arrays for a model with several outputs, such as a backbone built with ``out_stages``).
    ``input_shape`` is the image shape the model was exported for, ``None`` for its dynamic batch dimension
    (``[None, 3, 224, 224]``); an array of another shape is refused with a ``ValueError``.

    ``metadata`` is what the export recorded next to the model (``<prefix>_meta.json``: class names,
    preprocessing), or None for an export without it; ``classes`` are the class names, or None.
    ``classify(paths)`` reads image files and returns their top classes (see there).
    """

    def __init__(self, path: str, device: Optional[str] = None, threads: Optional[int] = None,
                 onednn: Optional[bool] = None, format: Optional[str] = None):
        self.model_file = find_model_file(path, format)
        self.metadata = read_metadata(prefix_of(self.model_file))
        self.classes = (self.metadata or {}).get("classes")
        self.backend = "onnxruntime" if self.model_file.endswith(".onnx") else "paddle"
        if threads is not None:
            check_threads("threads", threads)
        if self.backend == "paddle":
            self.device = _check_device(device, paddle_has_gpu)
            if self.device == "cpu":
                self.threads, self.onednn = threads or available_threads(), resolve_onednn(onednn)
            else:
                for name, value in (("onednn", onednn), ("threads", threads)):
                    if value is not None:
                        raise ValueError(f"{name}={value!r} applies to the CPU, but Paddle Inference runs "
                                         f"{self.model_file} on {self.device!r}; leave {name}=None")
                self.threads = self.onednn = None
            self._runner = PaddleRunner(self.model_file, self.device, self.threads, self.onednn)
        else:
            if onednn is not None:
                raise ValueError(f"onednn={onednn!r} applies to Paddle Inference only; {self.model_file} runs "
                                 "through ONNX Runtime, which picks its CPU kernels itself (leave onednn=None)")
            self.device = _check_device(device, onnxruntime_has_gpu)
            self.threads = threads or available_threads()
            self.onednn = None
            self._runner = OnnxRunner(self.model_file, self.device, self.threads)
        shape = self._runner.input_shape
        self.input_shape = None if shape is None else [d if isinstance(d, int) and d > 0 else None for d in shape]

    def __call__(self, images: np.ndarray) -> Union[np.ndarray, List[np.ndarray]]:
        """Run one batch: ``images`` is ``[batch, channels, height, width]`` of floating-point numbers (converted
        to float32 if needed), normalised as the export's ``metadata["preprocess"]`` says. Integer, bool and object
        arrays (raw 0-255 pixels, say) and NaN or infinite values are refused: the model would return confident
        nonsense for them."""
        images = np.asarray(images)
        if images.dtype.kind != "f":
            raise ValueError(f"images of dtype {images.dtype}: expected floating-point numbers (float32), the "
                             "pixels normalised as the export's preprocessing says (classify() reads image files "
                             "and does that)")
        images = np.ascontiguousarray(images, dtype=np.float32)
        if not np.isfinite(images).all():
            raise ValueError(f"images hold {int(np.size(images) - np.isfinite(images).sum())} NaN or infinite "
                             "value(s); expected finite numbers")
        if images.ndim != 4:
            raise ValueError(f"expected images of shape [batch, channels, height, width], got {list(images.shape)}")
        if images.shape[0] == 0:  # Paddle Inference and ONNX Runtime fail on it inside the graph
            raise ValueError(f"expected at least one image, got an empty batch of shape {list(images.shape)}")
        self._check_shape(images.shape)
        outputs = self._runner.run(images)
        return outputs[0] if len(outputs) == 1 else outputs

    def _check_shape(self, shape: Sequence[int]) -> None:
        # Paddle Inference would fail somewhere inside the graph, with an error about an inner layer.
        expected = self.input_shape
        if expected is not None and (len(shape) != len(expected) or
                                     any(e is not None and e != s for s, e in zip(shape, expected))):
            wanted = ", ".join("batch" if e is None and i == 0 else "any" if e is None else str(e)
                               for i, e in enumerate(expected))
            raise ValueError(f"{self.model_file} was exported for images of shape [{wanted}], got {list(shape)}; "
                             "export the model again for another channel count or image size")

    @classmethod
    def from_run(cls, path: str, **options) -> "Predictor":
        """The exported model of a training run (``<run>/export/model``, written by ``train --export``), or of
        an export folder or prefix; ``options`` as for ``Predictor``.

        A run trained without ``--export`` has no exported model yet: export it once with
        ``paddle_resnet.training.export_run(run)`` (``paddle-resnet predict RUN ...`` does that by itself).
        """
        return cls(find_export(path), **options)

    def classify(self, images: Union[str, Iterable[str]], top_k: int = 5, batch_size: int = 16
                 ) -> List[Classification]:
        """The ``top_k`` most probable classes of each image, from image files.

        ``images``: a file, a folder (every image file in it and its sub-folders, by name ending), a glob
        pattern (``"photos/*.jpg"``), or a list of them. Each image is prepared as the export's metadata says
        (the training run's evaluation transform) and run in batches of ``batch_size``. Returns one
        ``Classification`` per file, in order; a file that cannot be read (or a folder or pattern with no
        image) gets its ``error`` and no classes, and the others are still classified.
        """
        return classify(self, images, top_k, batch_size)

    def class_name(self, index: int) -> str:
        """The name of class ``index``: from the export's metadata, else ``class <index>``."""
        return self.classes[index] if self.classes else f"class {index}"

    def __repr__(self):
        onednn = "" if self.onednn is None else f", onednn={self.onednn}"
        return (f"Predictor({self.model_file!r}, backend={self.backend!r}, device={self.device!r}, "
                f"threads={self.threads}{onednn})")



def _check_device(device, has_gpu) -> str:
    if device is None:
        return "gpu" if has_gpu() else "cpu"
    kind, colon, index = str(device).partition(":")
    if kind not in ("cpu", "gpu") or (colon and (kind == "cpu" or not index.isdigit())):
        raise ValueError(f"unknown device {device!r}; accepted: 'cpu', 'gpu', 'gpu:N' or None (GPU when available)")
    if kind == "gpu" and not has_gpu():
        raise ValueError(f"device {device!r} was asked for, but no GPU is available to this backend")
    return str(device)

