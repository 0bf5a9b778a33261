"""Running an exported ``.onnx`` model through ONNX Runtime."""

from __future__ import annotations

from typing import List

import numpy as np

from ._backends import damaged, first_line, gpu_index
from .export import ONNX_INSTALL_HINT


def onnxruntime_has_gpu() -> bool:
    """Whether ONNX Runtime can run on a GPU here (its CUDA provider is available)."""
    return "CUDAExecutionProvider" in import_onnxruntime().get_available_providers()


def import_onnxruntime():
    """``import onnxruntime``, or an ``ImportError`` that says how to install it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(f"running an .onnx model needs onnxruntime, which is not installed: {ONNX_INSTALL_HINT}"
                          ) from error
    return onnxruntime


class OnnxRunner:
    """An ONNX Runtime session with all graph optimisations (its default) and ``threads`` intra-op threads."""

    def __init__(self, model_file: str, device: str, threads: int):
        onnxruntime = import_onnxruntime()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # a ResNet is one chain of operators: nothing to run side by side
        options.log_severity_level = 3  # errors only: not its notes on removing initializers it folded away
        providers = [("CUDAExecutionProvider", {"device_id": gpu_index(device)})] if device != "cpu" else []
        try:
            self.session = onnxruntime.InferenceSession(model_file, options,
                                                        providers=providers + ["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001  onnxruntime's own exception classes (InvalidProtobuf ...)
            raise ValueError(damaged(model_file, f"ONNX Runtime cannot load it: {first_line(error)}")) from None
        self.input_name = self.session.get_inputs()[0].name
        self.input_shape = list(self.session.get_inputs()[0].shape)  # dynamic dimensions: a name or None

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        """The model's outputs for one float32 batch."""
        return self.session.run(None, {self.input_name: images})
