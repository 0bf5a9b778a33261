"""Run an exported model (see ``export.py``) on numpy arrays, through Paddle Inference or ONNX Runtime.

    predictor = Predictor("out/resnet50")          # finds out/resnet50.json / .pdmodel / .onnx
    logits = predictor(images)                     # images: float32 [batch, 3, 224, 224] -> [batch, 1000]
    Predictor.from_run("runs/cats").classify("photos/")   # image files in, top classes with probabilities out

The fast settings are on by default: the GPU when Paddle (or ONNX Runtime) sees one, otherwise the CPU with
oneDNN kernels, graph optimisation (BatchNorm folded into the convolutions, convolution + add + ReLU fused)
and one thread per available core.
"""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._checks import available_cpus, check_choice, check_positive, check_threads
from .._process import available_threads  # noqa: F401  (re-exported: older code imports it from here)
from .._rundir import RUN_EXPORT, is_training_run
from .export import FORMATS, METADATA_SUFFIX, ONNX_INSTALL_HINT, PROGRAM_SUFFIXES, read_metadata
from .preprocess import IMAGE_EXTENSIONS, load_images, transform_from

MODEL_SUFFIXES = (*PROGRAM_SUFFIXES, ".onnx")


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
        self.metadata = read_metadata(_prefix_of(self.model_file))
        self.classes = (self.metadata or {}).get("classes")
        self.backend = "onnxruntime" if self.model_file.endswith(".onnx") else "paddle"
        if threads is not None:
            check_threads("threads", threads)
        if self.backend == "paddle":
            self.device = _check_device(device, _paddle_has_gpu)
            if self.device == "cpu":
                self.threads, self.onednn = threads or available_threads(), _resolve_onednn(onednn)
            else:
                for name, value in (("onednn", onednn), ("threads", threads)):
                    if value is not None:
                        raise ValueError(f"{name}={value!r} applies to the CPU, but Paddle Inference runs "
                                         f"{self.model_file} on {self.device!r}; leave {name}=None")
                self.threads = self.onednn = None
            self._runner = _PaddleRunner(self.model_file, self.device, self.threads, self.onednn)
        else:
            if onednn is not None:
                raise ValueError(f"onednn={onednn!r} applies to Paddle Inference only; {self.model_file} runs "
                                 "through ONNX Runtime, which picks its CPU kernels itself (leave onednn=None)")
            self.device = _check_device(device, _onnxruntime_has_gpu)
            self.threads = threads or available_threads()
            self.onednn = None
            self._runner = _OnnxRunner(self.model_file, self.device, self.threads)
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
                 ) -> List["Classification"]:
        """The ``top_k`` most probable classes of each image, from image files.

        ``images``: a file, a folder (every image file in it and its sub-folders, by name ending), a glob
        pattern (``"photos/*.jpg"``), or a list of them. Each image is prepared as the export's metadata says
        (the training run's evaluation transform) and run in batches of ``batch_size``. Returns one
        ``Classification`` per file, in order; a file that cannot be read (or a folder or pattern with no
        image) gets its ``error`` and no classes, and the others are still classified.
        """
        check_positive("top_k", top_k)
        check_positive("batch_size", batch_size)
        preprocess = (self.metadata or {}).get("preprocess")
        if preprocess is None:
            raise ValueError(f"{self.model_file}: no image preprocessing is recorded next to the model "
                             f"({_prefix_of(self.model_file)}{METADATA_SUFFIX}); export it again with this version "
                             "of paddle_resnet, or prepare the arrays yourself and call the predictor")
        if len(self.metadata.get("outputs", [])) != 1:
            raise ValueError(f"{self.model_file} returns {len(self.metadata['outputs'])} outputs (a backbone), "
                             "not class scores; classify needs a classifier")
        transform = transform_from(preprocess)
        results = [Classification(path, error=error) for path, error in find_images(images)]
        pending = [result for result in results if result.error is None]
        for start in range(0, len(pending), batch_size):
            chunk = pending[start:start + batch_size]
            loaded = load_images([result.path for result in chunk], transform)
            good = [(result, array) for result, array in zip(chunk, loaded) if not isinstance(array, str)]
            for result, array in zip(chunk, loaded):
                if isinstance(array, str):
                    result.error = array
            if good:
                probabilities = _softmax(self(np.stack([array for _, array in good])))
                for (result, _), row in zip(good, probabilities):
                    order = np.argsort(-row, kind="stable")[:top_k]
                    result.top = [(self.class_name(int(i)), float(row[i])) for i in order]
        return results

    def class_name(self, index: int) -> str:
        """The name of class ``index``: from the export's metadata, else ``class <index>``."""
        return self.classes[index] if self.classes else f"class {index}"

    def __repr__(self):
        onednn = "" if self.onednn is None else f", onednn={self.onednn}"
        return (f"Predictor({self.model_file!r}, backend={self.backend!r}, device={self.device!r}, "
                f"threads={self.threads}{onednn})")


@dataclass
class Classification:
    """``Predictor.classify``'s answer for one image file: ``top``, the most probable ``(class name,
    probability)`` pairs, best first; or ``error``, why the file could not be classified."""

    path: str
    top: List[Tuple[str, float]] = field(default_factory=list)
    error: Optional[str] = None

    def __str__(self) -> str:
        """``photos/cat.jpg: cat 97.1%, dog 2.9%`` or ``photos/x.jpg: error: cannot read image (...)``."""
        if self.error is not None:
            return f"{self.path}: error: {self.error}"
        return f"{self.path}: " + ", ".join(f"{name} {100 * p:.1f}%" for name, p in self.top)

    def to_dict(self) -> dict:
        """``{"path": ..., "top": [{"class": ..., "probability": ...}], "error": ...}`` for JSON."""
        return {"path": self.path, "top": [{"class": name, "probability": p} for name, p in self.top],
                "error": self.error}


def find_images(items: Union[str, Iterable[str]]) -> List[Tuple[str, Optional[str]]]:
    """``(path, None)`` for each image that ``items`` names, or ``(item, reason)`` for an item that names none.

    A file is taken as it is (whatever its name; reading it shows whether it is an image), a folder gives its
    image files (by name ending, sub-folders included, names starting with ``.`` skipped), and anything else
    is a glob pattern giving its matching files, sorted.
    """
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    found: List[Tuple[str, Optional[str]]] = []
    for item in map(os.fspath, items):
        if os.path.isfile(item):
            found.append((item, None))
        elif os.path.isdir(item):
            found += [(path, None) for path in _images_in(item)] or \
                [(item, f"a folder without image files (accepted endings: {', '.join(IMAGE_EXTENSIONS)})")]
        else:
            matches = sorted(path for path in glob.glob(item) if os.path.isfile(path))
            found += [(path, None) for path in matches] or [(item, "no such file, folder or matching file")]
    return found


def _images_in(folder: str) -> List[str]:
    images = []
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        images += [os.path.join(directory, name) for name in sorted(files)
                   if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)]
    return images


def find_export(path: str) -> str:
    """The exported model that ``path`` names: a training run (its ``export/model``), an export folder holding
    one exported model, or an export prefix or model file (returned as it is)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return path
    run_export = os.path.join(path, RUN_EXPORT)
    if any(os.path.isfile(run_export + suffix) for suffix in MODEL_SUFFIXES):
        return run_export
    prefixes = sorted({prefix for prefix in (_prefix_of(os.path.join(path, name)) for name in os.listdir(path))
                       if os.path.isfile(prefix + ".onnx") or os.path.isfile(prefix + ".pdiparams")})
    if len(prefixes) == 1:
        return prefixes[0]
    if prefixes:
        raise ValueError(f"{path} holds several exported models ({', '.join(prefixes)}); give the prefix of one")
    if is_training_run(path):
        raise FileNotFoundError(f"{path} is a training run without an exported model ({run_export}.*): export "
                                f"it once with paddle_resnet.training.export_run({path!r}) (the predict command "
                                "does that by itself), or train with --export")
    raise FileNotFoundError(f"no exported model in {path}: expected a training run's {run_export}.* or the files "
                            "of paddle_resnet.export")


def find_model_file(path: str, format: Optional[str] = None) -> str:
    """The model file that ``path`` names: the file itself, or the exported model at that prefix (of ``format``,
    ``"paddle"`` or ``"onnx"``, when both were exported there)."""
    path = os.fspath(path)
    if format is not None:
        check_choice("format", format, FORMATS)
    if path.endswith(MODEL_SUFFIXES) and not path.endswith(METADATA_SUFFIX):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no exported model at {path}")
        return path
    found = [path + suffix for suffix in MODEL_SUFFIXES if os.path.isfile(path + suffix)]
    if not found and not os.path.exists(path):  # most often a run or folder name with a typo
        raise FileNotFoundError(f"{path} does not exist: expected a training run, an export folder, or the prefix "
                                f"of an exported model ({', '.join(path + s for s in MODEL_SUFFIXES)})")
    if not found:
        raise FileNotFoundError(f"no exported model at prefix {path!r}: looked for "
                                f"{', '.join(path + s for s in MODEL_SUFFIXES)} (write one with paddle_resnet.export)")
    if format is not None:
        chosen = [f for f in found if f.endswith(".onnx") == (format == "onnx")]
        if not chosen:
            raise FileNotFoundError(f"no {format} export at prefix {path!r}; found {', '.join(found)}")
        found = chosen
    if len(found) > 1:
        raise ValueError(f"several exported models share the prefix {path!r}: {', '.join(found)}; "
                         "pass format='paddle' or 'onnx' (--model-format on the command line), or the file to run")
    return found[0]


def _prefix_of(model_file: str) -> str:
    """``out/resnet50.json`` -> ``out/resnet50``."""
    for suffix in MODEL_SUFFIXES:
        if model_file.endswith(suffix):
            return model_file[:-len(suffix)]
    return model_file


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _check_device(device, has_gpu) -> str:
    if device is None:
        return "gpu" if has_gpu() else "cpu"
    kind, colon, index = str(device).partition(":")
    if kind not in ("cpu", "gpu") or (colon and (kind == "cpu" or not index.isdigit())):
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
    return "CUDAExecutionProvider" in import_onnxruntime().get_available_providers()


def _resolve_onednn(onednn: Optional[bool]) -> bool:
    from paddle.base import core

    built_with = core.is_compiled_with_mkldnn()
    if onednn and not built_with:
        raise ValueError("onednn=True, but this Paddle build has no oneDNN kernels")
    return built_with if onednn is None else bool(onednn)


class _PaddleRunner:
    """Paddle Inference's predictor with the fast settings for the device."""

    def __init__(self, model_file: str, device: str, threads: Optional[int], onednn: Optional[bool]):
        from paddle import inference

        params_file = os.path.splitext(model_file)[0] + ".pdiparams"
        if not os.path.isfile(params_file):
            raise FileNotFoundError(f"{model_file} needs its parameters file {params_file}, which is missing")
        if model_file.endswith(".json") and not hasattr(inference.Config, "enable_new_ir"):
            import paddle

            raise ValueError(f"{model_file} is a PIR program (written by Paddle 3), which Paddle "
                             f"{paddle.__version__} cannot read; export the model again with this Paddle")
        # Read the program here first: Paddle 2.6 crashes the process (SIGSEGV) on some damaged program files.
        program = _read_program(model_file)
        if os.path.getsize(params_file) == 0:
            raise ValueError(_damaged(model_file, f"its parameters file {params_file} is empty"))
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
        try:
            self.predictor = inference.create_predictor(config)
        except Exception as error:  # noqa: BLE001  Paddle raises RuntimeError, ValueError, OSError ... from C++
            raise ValueError(_damaged(f"{model_file} (with {params_file})",
                                      f"Paddle Inference cannot load it: {_first_line(error)}")) from None
        input_name = self.predictor.get_input_names()[0]
        self.input = self.predictor.get_input_handle(input_name)
        self.input_shape = _program_input_shape(program, input_name)
        self.outputs = [self.predictor.get_output_handle(name) for name in self.predictor.get_output_names()]

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        self.input.reshape(list(images.shape))
        self.input.copy_from_cpu(images)
        self.predictor.run()
        return [output.copy_to_cpu() for output in self.outputs]


def _read_program(model_file: str):
    """The parsed program file: PIR's JSON (a dict) or the old IR's protobuf ``ProgramDesc``; ``ValueError``
    naming the file if it is neither."""
    try:
        if model_file.endswith(".json"):
            with open(model_file, encoding="utf-8") as file:
                program = json.load(file)
            if isinstance(program, dict) and "program" in program:
                return program
            problem = "it is JSON, but not a Paddle program"
        else:
            from google.protobuf.message import DecodeError
            from paddle.base.proto import framework_pb2

            with open(model_file, "rb") as file:
                try:
                    program = framework_pb2.ProgramDesc.FromString(file.read())
                except DecodeError as error:
                    raise ValueError(error) from None
            if len(program.blocks):
                return program
            problem = "it holds no program"
    except (ValueError, UnicodeDecodeError) as error:  # json.JSONDecodeError is a ValueError
        problem = f"it is not a readable Paddle program ({_first_line(error)})"
    raise ValueError(_damaged(model_file, problem))


def _program_input_shape(program, name: str) -> Optional[list]:
    """The shape input ``name`` was saved with in a ``_read_program`` result (-1: dynamic), or None if not found.

    Paddle Inference's input handle reports no shape until one is set, so the program itself is read: PIR's
    JSON (a ``data`` operator per input) or the old IR's protobuf (a variable per input).
    """
    try:
        if isinstance(program, dict):
            for op in program["program"]["regions"][0]["blocks"][0]["ops"]:
                if op["#"].endswith(".data"):
                    attributes = {a["N"]: a["AT"]["D"] for a in op["A"]}
                    if attributes.get("name") == name:
                        return list(attributes["shape"])
        else:
            for var in program.blocks[0].vars:
                if var.name == name:  # Paddle 3 renamed the field lod_tensor to dense_tensor
                    tensor = var.type.dense_tensor if hasattr(var.type, "dense_tensor") else var.type.lod_tensor
                    return list(tensor.tensor.dims)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        pass  # a program layout this code does not know (a future Paddle): Paddle's own checks remain
    return None


def _damaged(what: str, problem: str) -> str:
    return f"{what}: {problem}. The export is damaged or incomplete; export the model again (paddle_resnet.export)"


def _first_line(error: BaseException) -> str:
    """The informative line of an error from Paddle's C++ core (``(Unavailable) Cannot read ...``), or of any
    other error: its first non-empty line, without the hints and C++ stack Paddle appends."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    tagged = [line for line in lines if re.match(r"^\(\w+\) ", line)]
    return (tagged or lines or [type(error).__name__])[0].rstrip(".")


def import_onnxruntime():
    """``import onnxruntime``, or an ``ImportError`` that says how to install it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(f"running an .onnx model needs onnxruntime, which is not installed: {ONNX_INSTALL_HINT}"
                          ) from error
    return onnxruntime


class _OnnxRunner:
    """An ONNX Runtime session with all graph optimisations (its default) and ``threads`` intra-op threads."""

    def __init__(self, model_file: str, device: str, threads: int):
        onnxruntime = import_onnxruntime()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # a ResNet is one chain of operators: nothing to run side by side
        options.log_severity_level = 3  # errors only: not its notes on removing initializers it folded away
        providers = [("CUDAExecutionProvider", {"device_id": _gpu_index(device)})] if device != "cpu" else []
        try:
            self.session = onnxruntime.InferenceSession(model_file, options,
                                                        providers=providers + ["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001  onnxruntime's own exception classes (InvalidProtobuf ...)
            raise ValueError(_damaged(model_file, f"ONNX Runtime cannot load it: {_first_line(error)}")) from None
        self.input_name = self.session.get_inputs()[0].name
        self.input_shape = list(self.session.get_inputs()[0].shape)  # dynamic dimensions: a name or None

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self.input_name: images})
