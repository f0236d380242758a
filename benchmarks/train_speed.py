"""Training throughput (clips/s): the studies' proxy recipe against the one it replaced, measured in one run.

By default: the whole trainer (`e3dlib.train.train`: data loading, augmentation, forward, backward, SGD) on the
E3D-S- and X3D-S-shaped nets of the studies (width 0.35), for
    before   the proxy recipe before "Trainable at CPU scale": 8x56^2 crops of 96x128 videos, decoded from VP9 every
             epoch by 2 DataLoader workers beside 2 compute threads (the notebooks' setting)
    now      `RECIPES["proxy"]`: 8x40^2 crops of the `motion` benchmark's 48x64 videos, decoded once into the uint8
             .npy cache, `workers` loader processes (0 = in the training process)
Each is timed on its second epoch (the first fills the cache and starts the workers); the ratio now / before is
printed per net. `--processes`: one run with every thread against two 1-thread runs side by side (how
`e3dlib.study.train_grid(processes=2)` trains a study). `--steps`: the bare training step of the full-width
presets, channels-last-3d on and off (on CUDA each with and without bf16 autocast; --cudnn-benchmark: cuDNN
picks its algorithms by timing them first).

Usage: python benchmarks/train_speed.py [--videos 200] [--workers 0 1 2] [--processes] [--steps | --bare]
           [--frames 8 --size 64 --batch 16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from e3dlib import PRESETS, macs
from e3dlib.data.datasets import build_dataset
from e3dlib.data.generate import generate, make_config
from e3dlib.data.transforms import ClipConfig
from e3dlib.model import build_model
from e3dlib.presets import scale_width
from e3dlib.recipe import TrainConfig, with_recipe
from e3dlib.study import MOTION

BEFORE = dict(frames=8, size=56, batch_size=16, lr=0.1, warmup_epochs=1, label_smoothing=0.1, dropout=0.3,
              workers=2)


def trainer_clips_per_s(cfg: TrainConfig, spec, data: str, cache: str | None, out: Path) -> float:
    from e3dlib.train import train

    clip = ClipConfig(frames=cfg.frames, crop=cfg.size)
    ds = build_dataset(data, "train", clip, seed=0, cache_dir=cache)
    cfg = replace(cfg, epochs=2, warmup_epochs=0.0, max_steps=0)
    train(cfg, spec, ds, None, out, num_classes=ds.num_classes, progress=False)
    second = json.loads((out / "metrics.json").read_text())[1]
    return second["train_clips"] / second["seconds"]


def recipes(videos: int, workers: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = generate("something-like", tmp / "old", videos, workers=2, progress=False,
                       cfg=make_config("something-like", MOTION["overrides"]))
        new = generate("motion", tmp / "new", videos, workers=2, progress=False)
        assert old["written"] == new["written"] == videos
        now = with_recipe(TrainConfig(), "proxy")
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {videos} videos "
              f"({int(videos * 0.8)} training clips), batch {now.batch_size}")
        for name in ("e3d-s", "x3d-s"):
            spec = scale_width(PRESETS[name], 0.35)
            before_cfg = replace(TrainConfig(), **BEFORE)
            b = trainer_clips_per_s(before_cfg, spec, f"ssv2:{tmp / 'old'}", None, tmp / f"{name}-before")
            print(f"  {name} x0.35  before  8x56^2, decode every epoch, workers 2: {b:6.1f} clips/s "
                  f"({macs(spec.with_input(8, 56)) / 1e9:.4f} GMACs/clip)")
            for w in workers:
                cfg = replace(now, workers=w)
                n = trainer_clips_per_s(cfg, spec, f"ssv2:{tmp / 'new'}", str(tmp / "cache"),
                                        tmp / f"{name}-now-{w}")
                print(f"  {name} x0.35  now     {cfg.frames}x{cfg.size}^2, .npy cache, workers {w}: {n:6.1f} clips/s "
                      f"({macs(spec.with_input(cfg.frames, cfg.size)) / 1e9:.4f} GMACs/clip)  "
                      f"now / before = {n / b:.2f}")


def _one_thread_run(args: tuple) -> float:
    torch.set_num_threads(1)
    return trainer_clips_per_s(*args)


def processes(videos: int) -> None:
    """One 2-thread run against two 1-thread runs side by side (`e3dlib.study.train_grid(processes=2)`)."""
    import multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate("motion", tmp / "data", videos, workers=2, progress=False)
        cfg = replace(with_recipe(TrainConfig(), "proxy"), workers=0)
        spec = scale_width(PRESETS["e3d-s"], 0.35)
        data, cache = f"ssv2:{tmp / 'data'}", str(tmp / "cache")
        one = trainer_clips_per_s(cfg, spec, data, cache, tmp / "one")
        with mp.get_context("spawn").Pool(2) as pool:
            two = pool.map(_one_thread_run, [(cfg, spec, data, cache, tmp / f"two{i}") for i in range(2)])
        print(f"  e3d-s x0.35  one run, {torch.get_num_threads()} threads: {one:6.1f} clips/s;  two 1-thread runs at "
              f"once: {sum(two):6.1f} clips/s in all  ratio {sum(two) / one:.2f}")


def step_clips_per_second(name: str, frames: int, size: int, batch: int, steps: int, device: str,
                          channels_last: bool, bf16: bool) -> float:
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


def bare_steps(frames: int, size: int, batch: int, steps: int, devices: str = "all") -> None:
    settings = [("cpu", False, False), ("cpu", True, False)] if devices in ("all", "cpu") else []
    if torch.cuda.is_available() and devices in ("all", "cuda"):
        settings += [("cuda", cl, bf16) for cl in (False, True) for bf16 in (False, True)]
    print(f"bare training step, full-width presets: input {frames}x{size}^2, batch {batch}")
    for device, cl, bf16 in settings:
        res = {n: step_clips_per_second(n, frames, size, batch, steps, device, cl, bf16) for n in ("e3d-s", "x3d-s")}
        tag = f"{device}{' channels_last_3d' if cl else ''}{' bf16' if bf16 else ''}"
        for n, v in res.items():
            g = macs(PRESETS[n].with_input(frames, size)) / 1e9
            print(f"  {tag:<28} {n}: {v:7.1f} clips/s  ({g:.3f} GMACs/clip)")
        print(f"  {tag:<28} E3D-S / X3D-S throughput ratio: {res['e3d-s'] / res['x3d-s']:.2f}")


def depthwise(repeats: int = 12) -> None:
    """The bare training step (1 thread, CPU time) of the studies' nets with e3dlib.depthwise's backward against
    PyTorch's own for every depthwise conv, alternated twice; prints the ratio."""
    from e3dlib.depthwise import DepthwiseConv3d

    torch.set_num_threads(1)
    cl = torch.channels_last_3d
    for name in ("e3d-s", "x3d-s"):
        times = {"pytorch": [], "e3dlib": []}
        for _ in range(2):
            for which in times:
                torch.manual_seed(0)
                model = build_model(scale_width(PRESETS[name].with_input(8, 40), 0.35), num_classes=10)
                model = model.to(memory_format=cl).train()
                if which == "pytorch":
                    for m in model.modules():
                        if isinstance(m, DepthwiseConv3d):
                            m.forward = torch.nn.Conv3d.forward.__get__(m)
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                x, y = torch.randn(16, 3, 8, 40, 40).to(memory_format=cl), torch.randint(0, 10, (16,))
                for i in range(3 + repeats):
                    if i == 3:
                        t = time.process_time()
                    loss = F.cross_entropy(model(x), y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                times[which].append((time.process_time() - t) / repeats)
        p, e = min(times["pytorch"]), min(times["e3dlib"])
        print(f"  {name} x0.35 8x40^2 batch 16, 1 thread: PyTorch's depthwise backward {1e3 * p:.0f} ms/step, "
              f"e3dlib.depthwise {1e3 * e:.0f} ms/step: {p / e:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=200, help="videos of each generated set (80%% train)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="loader processes to try (now)")
    ap.add_argument("--steps", action="store_true", help="also time the bare step of the full-width presets")
    ap.add_argument("--processes", action="store_true", help="also time two 1-thread runs side by side")
    ap.add_argument("--depthwise", action="store_true", help="only the depthwise-backward comparison (bare steps)")
    ap.add_argument("--bare", action="store_true", help="only the bare steps of --steps (no data generated; "
                                                        "what benchmarks/gpu_checks.sh runs on a lent GPU)")
    ap.add_argument("--devices", choices=("all", "cpu", "cuda"), default="all", help="where the bare steps run")
    ap.add_argument("--cudnn-benchmark", action="store_true", help="let cuDNN time its algorithms first")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    if a.depthwise:
        depthwise()
        return
    if a.bare:
        bare_steps(a.frames, a.size, a.batch, 10, a.devices)
        return
    recipes(a.videos, a.workers)
    if a.processes:
        processes(a.videos)
    if a.steps:
        bare_steps(a.frames, a.size, a.batch, 10, a.devices)


if __name__ == "__main__":
    main()
