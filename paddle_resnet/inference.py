"""Run an exported model (see export.py) on numpy arrays, through Paddle Inference or ONNX Runtime.

    predictor = Predictor("out/resnet50")          # finds out/resnet50.json / .pdmodel / .onnx
    logits = predictor(images)                     # images: float32 [batch, 3, 224, 224] -> [batch, 1000]

The fast settings are on by default: the GPU when Paddle (or ONNX Runtime) sees one, otherwise the CPU with
oneDNN kernels, graph optimisation (BatchNorm folded into the convolutions, convolution + add + ReLU fused)
and one thread per available core.
"""

from __future__ import annotations

import os
from typing import List, Optional, Union

import numpy as np

from .export import PROGRAM_SUFFIXES

MODEL_SUFFIXES = (*PROGRAM_SUFFIXES, ".onnx")


class Predictor:
    """An exported model, ready to run on batches of images.

    Args:
        path: an export prefix (``"out/resnet50"``) or one model file: ``.json`` / ``.pdmodel`` (run by
            Paddle Inference, with the ``.pdiparams`` beside it) or ``.onnx`` (run by ONNX Runtime).
        device: ``"cpu"``, ``"gpu"`` or ``"gpu:N"``; ``None`` picks the GPU when one is available.
        threads: CPU threads for one batch; ``None`` uses every core this process may run on.
        onednn: Paddle Inference on CPU only: ``None`` uses oneDNN kernels when Paddle is built with them,
            ``True`` requires them, ``False`` runs Paddle's plain CPU kernels (much slower; for comparison).

    Calling the predictor with a float32 array ``[batch, C, H, W]`` returns the model's output as a numpy array
    (a list of arrays for a model with several outputs, such as a backbone built with ``out_stages``).
    """

    def __init__(self, path: str, device: Optional[str] = None, threads: Optional[int] = None,
                 onednn: Optional[bool] = None):
        self.model_file = find_model_file(path)
        self.backend = "onnxruntime" if self.model_file.endswith(".onnx") else "paddle"
        self.threads = _check_threads(threads)
        if self.backend == "paddle":
            self.device = _check_device(device, _paddle_has_gpu)
            self.onednn = _resolve_onednn(onednn, self.device)
            self._runner = _PaddleRunner(self.model_file, self.device, self.threads, self.onednn)
        else:
            if onednn is not None:
                raise ValueError(f"onednn={onednn!r} applies to Paddle Inference only; {self.model_file} runs "
                                 "through ONNX Runtime, which picks its CPU kernels itself (leave onednn=None)")
            self.device = _check_device(device, _onnxruntime_has_gpu)
            self.onednn = None
            self._runner = _OnnxRunner(self.model_file, self.device, self.threads)

    def __call__(self, images: np.ndarray) -> Union[np.ndarray, List[np.ndarray]]:
        """Run one batch: ``images`` is ``[batch, channels, height, width]``, converted to float32 if needed."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        if images.ndim != 4:
            raise ValueError(f"expected images of shape [batch, channels, height, width], got {list(images.shape)}")
        outputs = self._runner.run(images)
        return outputs[0] if len(outputs) == 1 else outputs

    def __repr__(self):
        onednn = "" if self.onednn is None else f", onednn={self.onednn}"
        return (f"Predictor({self.model_file!r}, backend={self.backend!r}, device={self.device!r}, "
                f"threads={self.threads}{onednn})")


def find_model_file(path: str) -> str:
    """The model file that ``path`` names: the file itself, or the one exported model at that prefix."""
    path = os.fspath(path)
    if path.endswith(MODEL_SUFFIXES):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no exported model at {path}")
        return path
    found = [path + suffix for suffix in MODEL_SUFFIXES if os.path.isfile(path + suffix)]
    if not found:
        raise FileNotFoundError(f"no exported model at prefix {path!r}: looked for "
                                f"{', '.join(path + s for s in MODEL_SUFFIXES)} (write one with paddle_resnet.export)")
    if len(found) > 1:
        raise ValueError(f"several exported models share the prefix {path!r}: {', '.join(found)}; "
                         "pass the file you want to run")
    return found[0]


def available_threads() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _check_threads(threads) -> int:
    if threads is None:
        return available_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int or None (all available cores), got {threads!r}")
    return threads


def _check_device(device, has_gpu) -> str:
    if device is None:
        return "gpu" if has_gpu() else "cpu"
    kind, _, index = str(device).partition(":")
    if kind not in ("cpu", "gpu") or (index and (kind == "cpu" or not index.isdigit())):
        raise ValueError(f"unknown device {device!r}; accepted: 'cpu', 'gpu', 'gpu:N' or None (GPU when available)")
    if kind == "gpu" and not has_gpu():
        raise ValueError(f"device {device!r} was asked for, but no GPU is available to this backend")
    return str(device)


def _gpu_index(device: str) -> int:
    return int(device.partition(":")[2] or 0)


def _paddle_has_gpu() -> bool:
    import paddle

    return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


def _onnxruntime_has_gpu() -> bool:
    return "CUDAExecutionProvider" in _import_onnxruntime().get_available_providers()


def _resolve_onednn(onednn, device: str) -> Optional[bool]:
    if device != "cpu":
        if onednn:
            raise ValueError(f"onednn=True applies to the CPU, but the device is {device!r}")
        return None
    from paddle.base import core

    built_with = core.is_compiled_with_mkldnn()
    if onednn and not built_with:
        raise ValueError("onednn=True, but this Paddle build has no oneDNN kernels")
    return built_with if onednn is None else bool(onednn)


class _PaddleRunner:
    """Paddle Inference's predictor with the fast settings for the device."""

    def __init__(self, model_file: str, device: str, threads: int, onednn: Optional[bool]):
        from paddle import inference

        params_file = os.path.splitext(model_file)[0] + ".pdiparams"
        if not os.path.isfile(params_file):
            raise FileNotFoundError(f"{model_file} needs its parameters file {params_file}, which is missing")
        if model_file.endswith(".json") and not hasattr(inference.Config, "enable_new_ir"):
            import paddle

            raise ValueError(f"{model_file} is a PIR program (written by Paddle 3), which Paddle "
                             f"{paddle.__version__} cannot read; export the model again with this Paddle")
        config = inference.Config(model_file, params_file)
        config.disable_glog_info()
        config.switch_ir_optim(True)  # graph passes: fold BatchNorm into conv, fuse conv + add + ReLU, ...
        if model_file.endswith(".pdmodel"):
            # Buffer reuse. Only for the older program format: Paddle 3.3's PIR predictor fails to start when
            # asked ("Not find ... memory_optimize_pass"); it reuses buffers through its own inplace pass.
            config.enable_memory_optim()
        if device == "cpu":
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(threads)
            if onednn:
                # Paddle 3 renamed MKL-DNN to oneDNN and keeps the old name as an alias; 2.6 has only the old one.
                getattr(config, "enable_onednn", config.enable_mkldnn)()
            else:
                getattr(config, "disable_onednn", config.disable_mkldnn)()
        else:
            config.enable_use_gpu(256, _gpu_index(device))  # initial memory pool, MB; it grows as needed
        self.predictor = inference.create_predictor(config)
        self.input = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        self.outputs = [self.predictor.get_output_handle(name) for name in self.predictor.get_output_names()]

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        self.input.reshape(list(images.shape))
        self.input.copy_from_cpu(images)
        self.predictor.run()
        return [output.copy_to_cpu() for output in self.outputs]


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as error:
        from .export import ONNX_INSTALL_HINT

        raise ImportError(f"running an .onnx model needs onnxruntime, which is not installed: {ONNX_INSTALL_HINT}"
                          ) from error
    return onnxruntime


class _OnnxRunner:
    """An ONNX Runtime session with all graph optimisations (its default) and ``threads`` intra-op threads."""

    def __init__(self, model_file: str, device: str, threads: int):
        onnxruntime = _import_onnxruntime()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # a ResNet is one chain of operators: nothing to run side by side
        options.log_severity_level = 3  # errors only: not its notes on removing initializers it folded away
        providers = [("CUDAExecutionProvider", {"device_id": _gpu_index(device)})] if device != "cpu" else []
        self.session = onnxruntime.InferenceSession(model_file, options,
                                                    providers=providers + ["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self.input_name: images})
