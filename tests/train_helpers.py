"""A tiny network and a learnable in-memory clip dataset for the training tests (and the DDP worker)."""

import torch
from torch.utils.data import Dataset

from e3dlib.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

TINY = ArchSpec(name="tiny", frames=4, size=16, stem=StemSpec(8), num_classes=3,
                stages=(StageSpec(8, 16, 3, 3, 2, 1), StageSpec(16, 32, 1, 3, 2, 2)),
                head=HeadSpec(32, fc_channels=32), se_ratio=0.25, act="swish")


class Bright(Dataset):
    """Class k = clips whose brightness is shifted by k; augmentation draws from the global torch RNG."""

    def __init__(self, n: int = 48, classes: int = 3, nan_at: int = -1) -> None:
        g = torch.Generator().manual_seed(123)
        self.x = torch.randn(n, 3, 4, 16, 16, generator=g)
        self.y = torch.arange(n) % classes
        self.nan_at = nan_at

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        if i == self.nan_at:
            return torch.full((3, 4, 16, 16), float("nan")), int(self.y[i])
        noise = 0.1 * torch.randn(3, 4, 16, 16)  # seeded per sample by e3dlib.sampler.Seeded
        return self.x[i] + self.y[i].float() + noise, int(self.y[i])
