"""Paths from the repository root, so that a notebook writes where `make reproduce` writes whether it runs from
the root (make, papermill) or from `notebooks/` (JupyterLab's working directory).

Notebooks call `at_root()` first; their parameters (`data_root`, `runs_dir`, `figures_dir`) stay relative to the
root, which keeps the paths recorded in cached study rows (e.g. `motion:data/generated/proxy/motion`) the same
wherever the notebook was started from.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root(start: str | Path | None = None) -> Path:
    """The repository root: the nearest folder at or above `start` (default: this package's folder, then the
    working directory) that holds `pyproject.toml` and `notebooks/`. One-line error if there is none."""
    candidates = [Path(start)] if start is not None else [Path(__file__).resolve().parent, Path.cwd()]
    for base in candidates:
        for d in (base.resolve(), *base.resolve().parents):
            if (d / "pyproject.toml").is_file() and (d / "notebooks").is_dir():
                return d
    raise FileNotFoundError(f"no e3d-lab checkout (a folder with pyproject.toml and notebooks/) at or above "
                            f"{candidates[-1]}; run from inside the repository")


def at_root() -> Path:
    """Change the working directory to the repository root (a notebook's first step) and return it."""
    root = repo_root()
    os.chdir(root)
    return root
