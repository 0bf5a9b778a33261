"""Data-parallel training across processes, as started by ``python -m paddle.distributed.launch``.

The launcher starts one process per device (GPU, or CPU with the gloo backend) and tells each its rank and
the world size through environment variables, which is where every function here reads them: callers do not
pass them around. A process that was not launched that way is a world of one, and every function here is then
a no-op.
"""

from __future__ import annotations

from typing import List, Tuple

import paddle
import paddle.distributed as dist


def init_distributed() -> Tuple[int, int]:
    """Join the launcher's process group if there is one; returns ``(rank, world_size)``."""
    if world_size() > 1 and not dist.is_initialized():
        dist.init_parallel_env()
    return rank(), world_size()


def rank() -> int:
    """This process's rank: 0 for the process that prints and writes files (and for a world of one)."""
    return dist.get_rank()


def world_size() -> int:
    """How many processes train together (from the launcher's environment; 1 when not launched)."""
    return dist.get_world_size()


def all_sum(values: List[float]) -> List[float]:
    """Element-wise sum of ``values`` over all processes."""
    if world_size() == 1:
        return list(values)
    tensor = paddle.to_tensor(values, dtype="float64")
    dist.all_reduce(tensor)
    return tensor.numpy().tolist()


def all_gather_objects(value) -> list:
    """``[value of rank 0, value of rank 1, ...]`` (any picklable value)."""
    if world_size() == 1:
        return [value]
    gathered: list = []
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_state(model) -> None:
    """Give every process rank 0's weights and BatchNorm statistics.

    ``paddle.DataParallel`` averages gradients, so weights stay equal, but each process updates its BatchNorm
    running statistics from its own shard of the data. Evaluating and saving after this makes every process
    agree with the checkpoint that rank 0 writes.
    """
    if world_size() == 1:
        return
    for tensor in model.state_dict().values():
        dist.broadcast(tensor, src=0)
