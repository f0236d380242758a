"""The training data order, reproducible to the sample: a seeded permutation per epoch, sharded over processes,
that can start in the middle of an epoch (exact resume), and per-sample seeding of the augmentation RNGs.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


class EpochSampler(Sampler):
    """A seeded permutation per epoch, sharded over ranks, that can start mid-epoch (for exact resume).

    Yields (index, sample_seed) so that each sample's augmentation depends only on (seed, epoch, index), not on
    which worker or process loads it.
    """

    def __init__(self, n: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True) -> None:
        self.n, self.seed, self.rank, self.world, self.shuffle = n, seed, rank, world, shuffle
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0, batch_size: int = 1) -> None:
        """Use epoch `epoch`'s permutation, starting after its first `start_batch` batches of `batch_size`."""
        self.epoch, self.start = epoch, start_batch * batch_size

    def indices(self) -> list[int]:
        """This rank's indices of the epoch: every `world`-th of the permutation, padded by wrapping to equal length."""
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle
                 else np.arange(self.n))
        per_rank = math.ceil(self.n / self.world)
        order = np.resize(order, per_rank * self.world)  # pad by wrapping so every rank gets as many samples
        return order[self.rank::self.world].tolist()

    def __iter__(self):
        for i in self.indices()[self.start:]:
            yield i, int(np.random.default_rng([self.seed, self.epoch, i]).integers(2 ** 31))

    def __len__(self) -> int:
        return len(self.indices()) - self.start


class Seeded(Dataset):
    """Calls `dataset[index]` with Python/NumPy/torch RNGs seeded from the sampler's per-sample seed."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, int]) -> Any:
        index, seed = item
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        return self.dataset[index]
