"""The notebook pipeline: run a jupytext percent source headless with papermill, and the helpers notebooks use.

    python -m e3dlib.notebooks notebooks/01_derive_entropy_bound.py --scale smoke --out build/smoke/01.ipynb \
        --figures build/smoke/figures [-p name=value ...]

* the source's first code cell tagged `parameters` declares every parameter with its default; unknown names or
  values of another type are refused before anything runs;
* outputs are cleaned of timestamps, durations and absolute paths, so a re-run only changes what really changed;
* a scale that the notebook's `pick(scale, ...)` calls do not all define is refused before anything runs;
* the rendered notebook shows the resolved values in the `parameters` cell: papermill's injected cell is merged into
  it and dropped, and the render carries no jupytext pairing metadata, so saving it in JupyterLab never writes the
  `.py` (the `.py`'s own header pairs it with the `.ipynb` when you open the `.py`);
* the resolved parameters are saved beside the figures (`<figures>/<notebook>.params.json`);
* a failing cell ends the run with one message naming the notebook and the cell, exit code 1, and leaves the
  previous output notebook untouched.

In notebooks: `pick(scale, smoke=..., proxy=..., full=...)` chooses a size by scale, `save_figure` and `save_table`
write `figures/` deterministically (PNG for reading, PDF for papers, CSV for tables) and return None, so that a
call ending a cell prints nothing.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .render import clean, merge_injected

SCALES = ("smoke", "proxy", "full")
REQUIRED = ("scale", "seed", "device", "data_root", "figures_dir")


def pick(scale: str, **by_scale: Any) -> Any:
    """The value for `scale` among smoke=/proxy=/full=; a scale this call does not give is an error."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if scale not in by_scale:
        raise ValueError(f"scale {scale!r} is not defined here (this pick() gives {', '.join(by_scale)})")
    return by_scale[scale]


def plot_style() -> None:
    """The notebooks' one matplotlib style: 100 dpi on screen, a light grid."""
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3})


def save_figure(fig: Any, name: str, figures_dir: str | Path, formats: tuple[str, ...] = ("png", "pdf")) -> None:
    """Save `fig` as figures_dir/name.{png,pdf} without timestamps (re-runs give identical files)."""
    d = Path(figures_dir)
    d.mkdir(parents=True, exist_ok=True)
    meta = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None},
            "svg": {"Date": None}}
    for fmt in formats:
        fig.savefig(d / f"{name}.{fmt}", dpi=150, bbox_inches="tight", metadata=meta.get(fmt, {}))


# train_core_hours: the training seconds (not evaluation) of every run, controls included, summed
DESIGN_KEYS = ("val_clips", "train_clips", "seeds", "models", "runs", "collapsed_runs", "chance", "median_top1",
               "train_core_hours")


def save_design(name: str, figures_dir: str | Path, **design: Any) -> dict[str, Any]:
    """Write a study's design and what it achieved as figures_dir/name.json (sorted keys, plain JSON numbers);
    every key of `DESIGN_KEYS` must be given. Returns the record."""
    import json

    missing = [k for k in DESIGN_KEYS if k not in design]
    if missing:
        raise ValueError(f"{name}: the design record lacks {', '.join(missing)}")
    def plain(v: Any) -> Any:  # numpy scalars to Python; NaN (e.g. no finished run) to null: strict JSON
        v = v.item() if hasattr(v, "item") else v
        return None if isinstance(v, float) and v != v else v

    record = {k: plain(v) for k, v in design.items()}
    json.dumps(record, allow_nan=False)  # anything else that is not JSON fails here, loudly
    d = Path(figures_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.json").write_text(json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return record


def save_table(df: Any, name: str, figures_dir: str | Path) -> None:
    """Save a pandas DataFrame as figures_dir/name.csv."""
    d = Path(figures_dir)
    d.mkdir(parents=True, exist_ok=True)
    df.to_csv(d / f"{name}.csv", index=False, float_format="%.6g")


# --- running -------------------------------------------------------------------------------------------------


class NotebookError(Exception):
    """A notebook could not run (bad source, parameters or --out); the message names the notebook. Exit code 2."""


class CellError(NotebookError):
    """A cell of the notebook raised; the message names the notebook and the cell. Exit code 1."""


def declared_parameters(nb: Any, path: str) -> dict[str, Any]:
    """{name: default} of the cell tagged `parameters` (literal assignments only)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            out = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        raise NotebookError(f"{path}: parameter {node.targets[0].id} must be a literal") from None
            missing = [p for p in REQUIRED if p not in out]
            if missing:
                raise NotebookError(f"{path}: the parameters cell lacks {', '.join(missing)}")
            return out
    raise NotebookError(f"{path}: no code cell tagged 'parameters'")


def _code(cell: Any) -> ast.Module | None:
    """The cell's source parsed (IPython magics and shell lines left out), or None when it does not parse."""
    text = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in cell.source.splitlines())
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def defined_scales(nb: Any) -> tuple[str, ...]:
    """The scales that every `pick(scale, ...)` call of the notebook gives (all of SCALES when it has none)."""
    scales = set(SCALES)
    for cell in nb.cells:
        tree = _code(cell) if cell.cell_type == "code" else None
        for node in ast.walk(tree) if tree else ():
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "pick"
                    and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "scale"
                    and all(k.arg for k in node.keywords)):
                scales &= {k.arg for k in node.keywords}
    return tuple(s for s in SCALES if s in scales)


def check_scale(nb: Any, scale: str, path: str) -> None:
    """Refuse a scale that some pick() of the notebook lacks (pick() would fail mid-run)."""
    defined = defined_scales(nb)
    if scale not in defined:
        raise NotebookError(f"{path}: scale {scale!r} is not defined by this notebook (its pick() calls give "
                            f"{', '.join(defined) or 'no common scale'}); use --scale {'|'.join(defined)} or add "
                            f"{scale}=... to each pick()")


def resolve_parameters(declared: dict[str, Any], given: dict[str, Any], path: str) -> dict[str, Any]:
    """Declared defaults updated by `given`; refuses unknown names, wrong types and unknown scales."""
    out = dict(declared)
    for k, v in given.items():
        if k not in declared:
            raise NotebookError(f"{path}: unknown parameter {k!r} (known: {', '.join(declared)})")
        want = type(declared[k])
        if declared[k] is not None and (isinstance(v, bool) != (want is bool) or not isinstance(v, want)
                                        and not (want is float and isinstance(v, int))):
            raise NotebookError(f"{path}: parameter {k!r} must be {want.__name__}, got {v!r}")
        out[k] = v
    if out["scale"] not in SCALES:
        raise NotebookError(f"{path}: scale must be one of {SCALES}, got {out['scale']!r}")
    return out


def run_notebook(source: str | Path, out: str | Path, *, scale: str, figures: str = "figures",
                 params: dict[str, Any] | None = None, root: str | Path = ".") -> dict[str, Any]:
    """Execute `source` (jupytext percent) into `out` with papermill; returns the resolved parameters."""
    import jupytext
    import nbformat
    import papermill as pm

    source, out, root = Path(source), Path(out), Path(root)
    if not source.is_file():
        raise NotebookError(f"{source}: no such notebook source")
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    resolved = resolve_parameters(declared_parameters(nb, str(source)),
                                  {"scale": scale, "figures_dir": figures, **(params or {})}, str(source))
    check_scale(nb, resolved["scale"], str(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src_nb = Path(tmp) / source.with_suffix(".ipynb").name
        nbformat.write(nb, src_nb)
        tmp_out = Path(tmp) / "out.ipynb"
        try:
            pm.execute_notebook(str(src_nb), str(tmp_out), parameters=resolved, kernel_name="python3",
                                cwd=str(root), progress_bar=False, log_output=False)
        except pm.PapermillExecutionError as e:
            where = f"{source}: cell {e.exec_count} failed"
            raise CellError(f"{where}: {e.ename}: {e.evalue}{_failing_line(e)}") from None
        result = nbformat.read(tmp_out, as_version=4)
    merge_injected(result, resolved)
    clean(result, root)
    nbformat.write(result, out)
    fig_dir = root / figures
    fig_dir.mkdir(parents=True, exist_ok=True)
    (fig_dir / f"{source.stem}.params.json").write_text(json.dumps(resolved, indent=2, sort_keys=True) + "\n")
    return resolved


def _failing_line(e: Any) -> str:
    """The source line the traceback points at ('---->' marker), without ANSI colours."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", t) for t in getattr(e, "traceback", []) or []]
    marked = [ln for t in lines for ln in t.splitlines() if ln.lstrip().startswith("---->")]
    return f" (at: {marked[-1].split('---->', 1)[1].strip()})" if marked else ""


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parameters_epilog(argv: list[str]) -> str | None:
    """For `--help` after a notebook source: that notebook's parameters and their defaults."""
    source = next((a for a in argv if a.endswith(".py") and Path(a).is_file()), None)
    if source is None:
        return None
    import jupytext

    try:
        declared = declared_parameters(jupytext.read(source), source)
    except NotebookError as e:
        return str(e)
    return f"parameters of {source} (-p NAME=VALUE):\n" + "\n".join(f"  {k} = {v!r}" for k, v in declared.items())


def default_figures(out: str | Path) -> str:
    """Where a run's figures go unless --figures says: the committed figures/ for a render into notebooks/ (make
    reproduce), else figures/ beside the output notebook."""
    from .paths import repo_root

    parent = Path(out).resolve().parent
    try:
        if parent == repo_root() / "notebooks":
            return "figures"
    except FileNotFoundError:
        pass
    return str(parent / "figures")


def figures_param(figures: str | Path, root: Path, cwd: Path | None = None) -> str:
    """--figures as the notebook sees it after `paths.at_root()`: relative to the repository root when inside it
    (so renders stay free of machine paths), absolute otherwise; a relative --figures means the caller's cwd."""
    path = Path(figures)
    path = path if path.is_absolute() else ((cwd or Path.cwd()) / path).resolve()
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    """`python -m e3dlib.notebooks SOURCE --scale S --out OUT [-p NAME=VALUE ...]`: run a notebook source headless;
    prints where it went; exit 0, 1 when a cell fails, 2 for bad input or an unwritable --out."""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m e3dlib.notebooks", description="Run a notebook source headless.",
                                epilog=_parameters_epilog(argv) if {"-h", "--help"} & set(argv) else None,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="a jupytext percent source, e.g. notebooks/01_derive_entropy_bound.py")
    p.add_argument("--scale", choices=SCALES, required=True, help="the notebook's size")
    p.add_argument("--out", required=True, help="the executed notebook to write (.ipynb)")
    p.add_argument("--figures", help="where its figures and tables go (default: figures/ for a render into "
                                     "notebooks/, as make reproduce does; otherwise a figures/ folder beside --out, so "
                                     "a run by hand never overwrites the committed figures)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter of the notebook (repeatable)")
    args = p.parse_args(argv)
    if args.figures is None:
        args.figures = default_figures(args.out)
    params = {}
    for item in args.param:
        if "=" not in item:
            print(f"{args.source}: -p expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        k, v = item.split("=", 1)
        params[k] = _parse_value(v)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    t = time.time()
    try:
        from .paths import repo_root

        try:
            root = repo_root(Path(args.source).resolve().parent)
        except FileNotFoundError:
            root = Path.cwd()
        run_notebook(args.source, args.out, scale=args.scale, figures=figures_param(args.figures, root), params=params,
                     root=root)
    except NotebookError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1 if isinstance(e, CellError) else 2
    except OSError as e:  # an --out or --figures that cannot be written
        print(f"error: {args.source}: cannot write {e.filename or args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"{args.source} [{args.scale}] -> {args.out} ({time.time() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
