"""State dicts with another project's exact key names and shapes (listings in tests/data/), filled with seeded
random values, so conversions can be tested without that project installed."""

from pathlib import Path

import torch

DATA = Path(__file__).parent / "data"


def listing(name: str) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) in state_dict order from tests/data/<name>_keys.txt."""
    rows = []
    for line in (DATA / f"{name}_keys.txt").read_text().splitlines():
        key, _, shape = line.partition(" ")
        rows.append((key, tuple(int(s) for s in shape.split(",") if s)))
    return rows


def random_state(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Every tensor of the listing, seeded: BN scales and variances in [0.5, 1.5), everything else N(0, 0.1^2)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in listing(name):
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros(shape, dtype=torch.long)
        elif key.endswith("running_var") or (key.endswith(".weight") and len(shape) == 1):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = torch.randn(shape, generator=g) * 0.1
    return state


def clip(seed: int = 1, frames: int = 4, size: int = 64) -> torch.Tensor:
    return torch.randn((1, 3, frames, size, size), generator=torch.Generator().manual_seed(seed))
