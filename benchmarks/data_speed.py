"""Is the data pipeline fast enough to keep training busy? Clips/s of decode + augment (a DataLoader with the
default workers) against clips/s of an X3D-S training step, both at the proxy input size 8x64x64.

Target: decode + augment >= 3x the training step. Both are measured on their own (in a real run they share the
cores). Without --data, a small something-like set (96 videos, default settings: 16x96x128 VP9) is generated in a
temporary folder first. Usage: python benchmarks/data_speed.py [--data SOURCE] [--batch B] [--epochs E]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import torch

from e3dlib.data.datasets import build_dataset, default_workers, make_loader
from e3dlib.data.generate import generate
from e3dlib.data.transforms import ClipConfig
from e3dlib.model import build_model
from e3dlib.presets import PRESETS

TARGET = 3.0
CLIP = ClipConfig(frames=8, stride=2, crop=64)


def loader_clips_per_s(source: str, batch: int, epochs: int, cache_dir: str | None = None) -> tuple[float, int]:
    ds = build_dataset(source, "train", CLIP, cache_dir=cache_dir)
    loader = make_loader(ds, batch_size=batch)
    for _ in loader:  # warm-up epoch (fills the cache when there is one)
        pass
    n, t0 = 0, time.perf_counter()
    for epoch in range(epochs):
        ds.set_epoch(epoch + 1)
        for x, _y in loader:
            n += x.shape[0]
    return n / (time.perf_counter() - t0), ds.num_classes


def train_clips_per_s(num_classes: int, batch: int, steps: int = 6) -> float:
    model = build_model(PRESETS["x3d-s"].with_input(8, 64), num_classes=num_classes).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-5)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 8, 64, 64, generator=g)
    y = torch.randint(0, num_classes, (batch,), generator=g)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="a source (ssv2:ROOT, k400:ROOT, ...); default: a fresh something-like set")
    ap.add_argument("--videos", type=int, default=96, help="videos to generate without --data (default 96)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch (default 3)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        source = args.data
        if source is None:
            t0 = time.perf_counter()
            generate("something-like", f"{tmp}/s", args.videos, seed=0, workers=2, progress=False)
            dt = time.perf_counter() - t0
            print(f"generated {args.videos} something-like videos in {dt:.1f} s ({args.videos / dt:.1f} clips/s, "
                  "2 workers)")
            source = f"ssv2:{tmp}/s"
        print(f"data: {source}, train split, {CLIP.frames}x{CLIP.crop}x{CLIP.crop} clips (stride {CLIP.stride}), "
              f"batch {args.batch}, {default_workers()} workers (default), torch threads {torch.get_num_threads()}")
        data, classes = loader_clips_per_s(source, args.batch, args.epochs)
        cached, _ = loader_clips_per_s(source, args.batch, args.epochs, cache_dir=f"{tmp}/cache")
    train = train_clips_per_s(classes, args.batch)
    ratio = data / train
    print(f"  decode + augment       {data:8.1f} clips/s")
    print(f"  ... from .npy cache    {cached:8.1f} clips/s")
    print(f"  X3D-S training step    {train:8.1f} clips/s  (8x64x64, batch {args.batch}, SGD)")
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"  ratio                  {ratio:8.1f}x   target >= {TARGET:.0f}x -> {verdict}")


if __name__ == "__main__":
    main()
