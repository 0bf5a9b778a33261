"""Running an exported program through Paddle Inference, with the fast settings for the device."""

from __future__ import annotations

import json
import os
from typing import List, Optional

import numpy as np

from ._backends import damaged, first_line, gpu_index


def paddle_has_gpu() -> bool:
    """Whether Paddle is built with CUDA and sees a GPU."""
    import paddle

    return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


def resolve_onednn(onednn: Optional[bool]) -> bool:
    """Whether to use oneDNN kernels: ``onednn`` as given (``True`` refused without them), or ``None``: when built
    with them."""
    from paddle.base import core

    built_with = core.is_compiled_with_mkldnn()
    if onednn and not built_with:
        raise ValueError("onednn=True, but this Paddle build has no oneDNN kernels")
    return built_with if onednn is None else bool(onednn)


class PaddleRunner:
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
        program = read_program(model_file)
        if os.path.getsize(params_file) == 0:
            raise ValueError(damaged(model_file, f"its parameters file {params_file} is empty"))
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
            config.enable_use_gpu(256, gpu_index(device))  # initial memory pool, MB; it grows as needed
        try:
            self.predictor = inference.create_predictor(config)
        except Exception as error:  # noqa: BLE001  Paddle raises RuntimeError, ValueError, OSError ... from C++
            raise ValueError(damaged(f"{model_file} (with {params_file})",
                                      f"Paddle Inference cannot load it: {first_line(error)}")) from None
        input_name = self.predictor.get_input_names()[0]
        self.input = self.predictor.get_input_handle(input_name)
        self.input_shape = program_input_shape(program, input_name)
        self.outputs = [self.predictor.get_output_handle(name) for name in self.predictor.get_output_names()]

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        """The model's outputs for one float32 batch."""
        self.input.reshape(list(images.shape))
        self.input.copy_from_cpu(images)
        self.predictor.run()
        return [output.copy_to_cpu() for output in self.outputs]


def read_program(model_file: str):
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
        problem = f"it is not a readable Paddle program ({first_line(error)})"
    raise ValueError(damaged(model_file, problem))


def program_input_shape(program, name: str) -> Optional[list]:
    """The shape input ``name`` was saved with in a ``read_program`` result (-1: dynamic), or None if not found.

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

