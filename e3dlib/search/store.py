"""A search's result and its files: the resumable checkpoint (atomic writes), and the outputs best.json, best.txt,
trace.csv, run.json."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..archfile import format_structure
from ..cost import macs, params, tinynas_flops
from ..spec import ArchSpec, num_layers
from .population import Population
from .space import Cand, SearchConfig, SearchError, initial_spec

CHECKPOINT = "checkpoint.json"
OUTPUTS = ("best.json", "best.txt", "trace.csv", "run.json")

@dataclass
class SearchResult:
    """The best network and how the search got there. `trace` rows: (iteration, best, median, population)."""

    config: SearchConfig
    best: ArchSpec
    best_score: float
    iterations: int
    seconds: float
    trace: list[tuple[int, float, float, int]]
    population: list[tuple[Cand, float, int]] = field(repr=False)
    resumed_from: int | None = None

    def summary(self) -> dict[str, Any]:
        """The best network's score, FLOPs (both conventions), params and layers, with iterations and seconds."""
        return {"best_score": self.best_score, "flops_macs": macs(self.best),
                "flops_tinynas": tinynas_flops(self.best), "params": params(self.best),
                "layers": num_layers(self.best), "iterations": self.iterations, "seconds": self.seconds}


def config_dict(cfg: SearchConfig) -> dict[str, Any]:
    """The config as JSON data (a callable score by its qualified name), with a hash of the initial structure's
    content (`initial_sha256`), so that a resumed run whose --initial file was edited is refused."""
    d = asdict(replace(cfg, score="st_entr")) | {"score": _score_label(cfg.score)}
    spec = json.dumps(initial_spec(cfg).to_dict(), sort_keys=True)
    d["initial_sha256"] = hashlib.sha256(spec.encode()).hexdigest()[:16]
    return json.loads(json.dumps(d))


def _score_label(score: str | Callable) -> str:
    if isinstance(score, str):
        return score
    return f"{score.__module__}.{getattr(score, '__qualname__', repr(score))}"


# --- checkpoints and outputs ----------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file and rename it over `path`: a kill leaves the old or the new file, never half."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(out: Path, cfg: SearchConfig, rng: random.Random, pop: Population, best: tuple[Cand, float],
          iteration: int, seconds: float, trace: list) -> None:
    """Write the resumable state (config, RNG, population, best, trace) to `out`/checkpoint.json atomically."""
    out.mkdir(parents=True, exist_ok=True)
    version, state, gauss = rng.getstate()
    data = {"format": "e3dlib-search-checkpoint/1", "config": config_dict(cfg), "iteration": iteration,
            "seconds": seconds, "rng": [version, list(state), gauss],
            "members": [[c, s, b] for c, s, b in pop.members], "best": list(best), "trace": trace}
    _write_atomic(out / CHECKPOINT, json.dumps(data, separators=(",", ":")))


def _command(run: Path) -> str | None:
    """The `command` a run.json was written by (training run.json files before it was recorded: "train")."""
    if not run.is_file():
        return None
    try:
        d = json.loads(run.read_text())
    except json.JSONDecodeError:
        return "unknown"
    return d.get("command", "train") if isinstance(d, dict) else "unknown"


def _cand(data: list) -> Cand:
    return tuple(tuple(b) for b in data)


def load_checkpoint(cfg: SearchConfig, out: Path, resume: bool) -> tuple | None:
    """The saved state of the run in `out`, None when there is none; refuses a directory holding another run."""
    ckpt = out / CHECKPOINT
    if out.exists() and not out.is_dir():
        raise SearchError(f"--out {out} is a file, not a run folder; choose another --out")
    if (out / "last.pt").exists() or _command(out / "run.json") not in (None, "search"):
        raise SearchError(f"{out} holds a training run, not a search; choose another --out")
    held = ckpt.exists() or (out / "run.json").exists()
    if held and not resume:
        raise SearchError(f"{out} already holds a search run; pass --resume to continue it, or choose "
                          "another --out")
    if not held:
        return None
    if not ckpt.exists():
        raise SearchError(f"{out} holds run.json but no {CHECKPOINT}; choose another --out")
    try:
        data = json.loads(ckpt.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise SearchError(f"{ckpt} is not a checkpoint: {getattr(e, 'msg', type(e).__name__)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise SearchError(f"{ckpt} is not a search checkpoint (no config object); choose another --out")
    now = config_dict(cfg)
    # checkpoints written before the hash, or before the temporal-stem option: those fields at their old values
    saved = {"initial_sha256": now["initial_sha256"], "temporal_stem": 0, **data["config"]}
    diff = sorted(k for k in now.keys() | saved.keys() if saved.get(k) != now.get(k))
    if diff:
        what = ", ".join(f"{k} {saved.get(k)!r} there vs {now.get(k)!r} now" for k in diff)
        raise SearchError(f"{out} holds a different run ({what}); choose another --out")
    try:
        version, state, gauss = data["rng"]
        rng = random.Random()
        rng.setstate((version, tuple(state), gauss))
        members = [(_cand(c), s, b) for c, s, b in data["members"]]
        if not members:
            raise ValueError("empty population")
        pop = Population(cfg.population, members)
        best = (_cand(data["best"][0]), data["best"][1])
        trace = [tuple(r) for r in data["trace"]]
        iteration, seconds = int(data["iteration"]), float(data["seconds"])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        what = f"missing {e.args[0]!r}" if isinstance(e, KeyError) else (str(e).splitlines() or [type(e).__name__])[0]
        raise SearchError(f"{ckpt} is a damaged search checkpoint ({what[:120]}); delete it or choose another "
                          "--out") from None
    return rng, pop, best, iteration, seconds, trace


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("e3dlib", "tqdm"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_outputs(result: SearchResult, out: str | Path, checkpoint_every: int | None = None) -> None:
    """best.json (ArchSpec), best.txt (TinyNAS structure; not for a net with X3D's temporal stem conv, which that
    format cannot hold), trace.csv and run.json into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "best.json", result.best.to_json() + "\n")
    if not result.best.stem.temporal_kernel:  # TinyNAS's format has no temporal stem conv
        _write_atomic(out / "best.txt", format_structure(result.best))
    rows = ["iteration,best_score,median_score,population"]
    rows += [f"{m},{b!r},{med!r},{n}" for m, b, med, n in result.trace]
    _write_atomic(out / "trace.csv", "\n".join(rows) + "\n")
    run = {"command": "search", "config": config_dict(result.config), "checkpoint_every": checkpoint_every,
           "seed": result.config.seed, "iterations": result.iterations, "seconds": result.seconds,
           "iterations_per_second": result.iterations / result.seconds if result.seconds else None,
           "resumed_from": result.resumed_from, "summary": result.summary(), "versions": _versions()}
    _write_atomic(out / "run.json", json.dumps(run, indent=2) + "\n")




def written(result: SearchResult) -> tuple[str, ...]:
    """The output files `write_outputs` writes for `result`."""
    return tuple(f for f in OUTPUTS if f != "best.txt" or not result.best.stem.temporal_kernel)
