"""Using a trained network: predict classes of videos, export it (TorchScript), measure its latency.

    predict(model, paths, clip, views)        top-k classes per video; unreadable videos are reported, not fatal
    export_torchscript(model, out, example)   a traced TorchScript file whose outputs equal the eager model's
    latency(model, shape, ...)                median seconds per forward pass after warm-up (eager or TorchScript,
                                              channels-last-3d on or off, a given number of threads, CPU or CUDA,
                                              float32 or bfloat16)

`python -m e3dlib predict|export|latency` are their command-line faces; `benchmarks/latency.py` prints E3D / X3D
ratios measured in one run.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .data.layouts import DataError
from .data.transforms import ClipConfig, Views
from .data.video import VideoDecodeError


def read_labels(path: str | Path, num_classes: int) -> list[str]:
    """Class names from a text file (one per line, in class order), a JSON list, or a JSON object name -> index
    (Something-Something's labels file); one-line errors naming the file."""
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"--labels {p}: cannot read it ({type(e).__name__})") from None
    names: list[str]
    if p.suffix == ".json":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise DataError(f"--labels {p}: malformed JSON") from None
        if isinstance(data, dict) and all(str(v).isdigit() for v in data.values()):
            names = [""] * num_classes
            for name, i in data.items():
                if int(i) < num_classes:
                    names[int(i)] = name
            missing = [i for i, n in enumerate(names) if not n]
            if missing or len(data) != num_classes:
                raise DataError(f"--labels {p}: {len(data)} names for a network of {num_classes} classes"
                                + (f" (no name for class {', '.join(map(str, missing[:5]))})" if missing else ""))
        elif isinstance(data, list) and all(isinstance(n, str) for n in data):
            names = data
        else:
            raise DataError(f"--labels {p}: expected a list of names or an object name -> index")
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != num_classes or not all(names):
        raise DataError(f"--labels {p}: {len(names)} names for a network of {num_classes} classes")
    return names


@torch.no_grad()
def predict(model: nn.Module, paths: Sequence[str | Path], clip: ClipConfig, views: Views, *, top: int = 5,
            labels: Sequence[str] | None = None, batch_views: int = 30) -> list[dict[str, Any]]:
    """For each video: {"video", "top": [{"class", "label", "probability"}, ...]} with the softmax averaged over
    the test views, or {"video", "error"} when it cannot be read."""
    from .data.datasets import test_views

    model.eval()
    out = []
    for path in paths:
        try:
            x = test_views(path, clip, views)
        except (VideoDecodeError, OSError, ValueError) as e:
            out.append({"video": str(path), "error": str(e) or type(e).__name__})
            continue
        probs = torch.cat([model(part).softmax(-1) for part in x.split(batch_views)]).mean(0)
        p, idx = probs.topk(min(top, probs.numel()))
        out.append({"video": str(path), "top": [
            {"class": int(i), "label": labels[int(i)] if labels else str(int(i)), "probability": float(q)}
            for q, i in zip(p.tolist(), idx.tolist(), strict=True)]})
    return out


def export_torchscript(model: nn.Module, out: str | Path, example: torch.Tensor) -> torch.jit.ScriptModule:
    """Trace `model` (eval mode) on `example` and save it to `out`; the traced module's outputs equal the eager
    model's (the network has no data-dependent control flow). Load it with `torch.jit.load(out)`."""
    model.eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    out = Path(out)
    if out.is_dir():
        raise DataError(f"--out {out} is a folder; give a file name such as {out / 'net.ts'}")
    tmp = out.with_suffix(out.suffix + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        traced.save(str(tmp))
        tmp.replace(out)
    except (RuntimeError, OSError) as e:
        tmp.unlink(missing_ok=True)
        raise DataError(f"--out {out}: cannot write it ({str(e).splitlines()[0][:100]})") from None
    return traced


def export_onnx(model: nn.Module, out: str | Path, example: torch.Tensor) -> None:
    """Export `model` (eval mode) to ONNX with torch's exporter, the batch dimension dynamic. Needs the optional
    packages `onnx` and `onnxscript` (`pip install -e '.[onnx]'`); without them a one-line error says so."""
    import contextlib
    import importlib.util
    import io

    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise DataError(f"--format onnx needs the optional packages {' and '.join(missing)}: "
                        "pip install -e '.[onnx]' (or use --format torchscript)")
    out = Path(out)
    if out.is_dir():
        raise DataError(f"--out {out} is a folder; give a file name such as {out / 'net.onnx'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    batch = torch.export.Dim("batch", min=1)
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter narrates its passes
        torch.onnx.export(model, (example,), str(out), dynamo=True, input_names=["clip"], output_names=["logits"],
                          dynamic_shapes=({0: batch},))


def latency(model: nn.Module, shape: tuple[int, ...], *, threads: int, torchscript: bool = False,
            channels_last: bool = False, warmup: int = 3, repeats: int = 10, device: str = "cpu",
            dtype: torch.dtype = torch.float32) -> float:
    """Median seconds of one forward pass of `model` on a random input of `shape` (B, C, T, H, W), in eval mode
    without autograd, after `warmup` passes, with `threads` intra-op threads (restored afterwards), weights and
    input on `device` in `dtype` (bfloat16: the whole net cast, as deployed; on CUDA each pass is synchronised).
    `model` itself is moved and cast (nn.Module.to works in place)."""
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    model = model.eval().to(device=device, dtype=dtype, memory_format=fmt)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(device=device, dtype=dtype)
    x = x.contiguous(memory_format=fmt)
    sync = (lambda: torch.cuda.synchronize(device)) if torch.device(device).type == "cuda" else (lambda: None)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            run = torch.jit.freeze(torch.jit.trace(model, x)) if torchscript else model
            for _ in range(warmup):
                run(x)
            sync()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                run(x)
                sync()
                times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)
    return statistics.median(times)


def latency_table(specs: Sequence[Any], *, batches: Sequence[int] = (1,), threads: Sequence[int] = (1,),
                  torchscript: Sequence[bool] = (False, True), channels_last: Sequence[bool] = (False, True),
                  warmup: int = 3, repeats: int = 10, device: str = "cpu",
                  dtype: torch.dtype = torch.float32) -> list[dict[str, Any]]:
    """`latency` of each architecture spec (at its own input size, random weights) for every combination of the
    settings, one row each: arch, frames, size, gmacs, device, dtype, batch, threads, mode, channels_last,
    ms_per_clip. With two or more specs, the rows of the first carry `ratio_to_<second>` (its time / the second's in
    the same setting)."""
    import itertools

    from .cost import macs
    from .model import build_model

    rows = []
    for spec in specs:
        model = build_model(spec)
        for b, th, ts, cl in itertools.product(batches, threads, torchscript, channels_last):
            sec = latency(model, (b, 3, spec.frames, spec.size, spec.size), threads=th, torchscript=ts,
                          channels_last=cl, warmup=warmup, repeats=repeats, device=device, dtype=dtype)
            rows.append({"arch": spec.name, "frames": spec.frames, "size": spec.size, "gmacs": macs(spec) / 1e9,
                         "device": device, "dtype": str(dtype).removeprefix("torch."), "batch": b, "threads": th,
                         "mode": "torchscript" if ts else "eager", "channels_last": cl, "ms_per_clip": 1e3 * sec / b})
    if len(specs) >= 2:
        second = specs[1].name
        setting = ("batch", "threads", "mode", "channels_last")
        times = {tuple(r[k] for k in setting): r["ms_per_clip"] for r in rows if r["arch"] == second}
        for r in rows:
            if r["arch"] == specs[0].name:
                r[f"ratio_to_{second}"] = r["ms_per_clip"] / times[tuple(r[k] for k in setting)]
    return rows
