"""Training-step throughput (clips/s) of E3D-S vs X3D-S at the proxy input size, measured in one run.

CPU: fp32, channels-last-3d on and off. CUDA (when present): bf16 autocast + channels-last-3d.
Usage: python benchmarks/train_speed.py [--frames 8 --size 64 --batch 16 --steps 10]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from e3dlib import PRESETS, macs
from e3dlib.model import build_model


def clips_per_second(name: str, frames: int, size: int, batch: int, steps: int, device: str, channels_last: bool,
                     bf16: bool) -> float:
    torch.manual_seed(0)
    spec = PRESETS[name].with_input(frames, size)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    model = build_model(spec, num_classes=174).to(device).to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, frames, size, size, device=device).contiguous(memory_format=fmt)
    y = torch.randint(174, (batch,), device=device)

    def step() -> None:
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):  # warm-up
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    settings = [("cpu", False, False), ("cpu", True, False)]
    if torch.cuda.is_available():
        settings.append(("cuda", True, True))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; input {a.frames}x{a.size}^2, batch {a.batch}")
    for device, cl, bf16 in settings:
        res = {n: clips_per_second(n, a.frames, a.size, a.batch, a.steps, device, cl, bf16) for n in ("e3d-s", "x3d-s")}
        tag = f"{device}{' channels_last_3d' if cl else ''}{' bf16' if bf16 else ''}"
        for n, v in res.items():
            g = macs(PRESETS[n].with_input(a.frames, a.size)) / 1e9
            print(f"  {tag:<28} {n}: {v:7.1f} clips/s  ({g:.3f} GMACs/clip)")
        print(f"  {tag:<28} E3D-S / X3D-S throughput ratio: {res['e3d-s'] / res['x3d-s']:.2f}")


if __name__ == "__main__":
    main()
