"""Processes of a torchrun job: who this process is (`Dist`), joining the process group, summing and gathering.

On one process (no WORLD_SIZE, or 1) every helper is the identity, so training and evaluation call them
unconditionally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as tdist

from .recipe import check_device


@dataclass(frozen=True)
class Dist:
    """This process's rank among `world` processes and its GPU index on its machine (`local_rank`)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """True on rank 0."""
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist()
    if not tdist.is_initialized():
        tdist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Dist(tdist.get_rank(), tdist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def process_device(device: str, d: Dist) -> torch.device:
    """`device` (cpu, cuda or cuda:N, checked to exist) for this process: under torchrun each process takes its
    local rank's GPU."""
    check_device(device)
    if device.startswith("cuda"):
        return torch.device("cuda", d.local_rank if d.world > 1 else torch.device(device).index or 0)
    return torch.device("cpu")


def all_reduce_sum(values: np.ndarray, d: Dist) -> np.ndarray:
    """`values` summed over the processes (float64), on every process."""
    if d.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    tdist.all_reduce(t)
    return t.numpy()


def all_gather(obj: Any, d: Dist) -> list[Any]:
    """Every process's `obj`, in rank order, on every process."""
    if d.world == 1:
        return [obj]
    gathered: list[Any] = [None] * d.world
    tdist.all_gather_object(gathered, obj)
    return gathered
