import json
from pathlib import Path

import jupytext
import nbformat
import pytest

from e3dlib.notebooks import (
    NotebookError,
    defined_scales,
    pick,
    resolve_parameters,
    run_notebook,
    save_figure,
    save_table,
)
from e3dlib.render import merge_injected

ROOT = Path(__file__).resolve().parents[1]

DECLARED = {"scale": "smoke", "seed": 0, "device": "cpu", "data_root": "data", "figures_dir": "figures", "lr": 0.1}

SOURCE = '''# %% [markdown]
# # Tiny

# %% tags=["parameters"]
scale = "smoke"
seed = 0  # the seed of everything
device = "cpu"
data_root = "data"
figures_dir = "figures"
fail = False

# %%
import os
print(os.getcwd())

# %%
from e3dlib.notebooks import pick
print("seed", seed, "n", pick(scale, smoke=1, proxy=2))

# %%
assert not fail, "asked to fail"
'''


def test_pick_by_scale():
    assert pick("smoke", smoke=1, proxy=2) == 1
    assert pick("full", smoke=1, proxy=2, full=3) == 3
    with pytest.raises(ValueError, match=r"scale 'full' is not defined here \(this pick\(\) gives smoke, proxy\)"):
        pick("full", smoke=1, proxy=2)
    with pytest.raises(ValueError, match="scale"):
        pick("huge", smoke=1, proxy=2)


def test_defined_scales_are_those_every_pick_gives():
    def nb(*codes):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in codes])

    assert defined_scales(nb("x = 1")) == ("smoke", "proxy", "full")
    assert defined_scales(nb("a = pick(scale, smoke=1, proxy=2, full=3)", "%time b = 2")) == ("smoke", "proxy", "full")
    assert defined_scales(nb("a = pick(scale, smoke=1, proxy=2, full=3)",
                             "b = notebooks.pick(scale, smoke=1, proxy=2)\nc = pop.pick(rng)",
                             "d = pick(scale, **sizes)")) == ("smoke", "proxy")
    for source in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):  # none defines full today
        assert defined_scales(jupytext.read(source)) == ("smoke", "proxy"), source.name


def test_an_undefined_scale_is_one_line_naming_the_notebook_and_its_scales(tmp_path, capsys):
    from e3dlib.notebooks import main

    src = tmp_path / "00_tiny.py"
    src.write_text(SOURCE)
    assert main([str(src), "--scale", "full", "--out", str(tmp_path / "x.ipynb")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{src}: scale 'full' is not defined by this notebook" in err[0]
    assert "give smoke, proxy" in err[0] and "--scale smoke|proxy" in err[0]
    assert not (tmp_path / "x.ipynb").exists()


def test_the_render_shows_resolved_parameters_in_the_parameters_cell_without_pairing(tmp_path):
    src = tmp_path / "00_tiny.py"
    src.write_text(SOURCE)
    out = tmp_path / "00_tiny.ipynb"
    run_notebook(src, out, scale="proxy", figures="figs", params={"seed": 3}, root=tmp_path)
    nb = nbformat.read(out, as_version=4)
    assert not [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    (params,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert params.source.splitlines()[:2] == ['scale = "proxy"', "seed = 3  # the seed of everything"]
    assert 'device = "cpu"' in params.source  # an unchanged value keeps its spelling
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert "seed 3 n 2" in "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "jupytext" not in nb.metadata and "PosixPath" not in out.read_text()


def test_merge_injected_leaves_a_notebook_without_injected_cell_alone():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("seed = 0", metadata={"tags": ["parameters"]})])
    merge_injected(nb, {"seed": 1})
    assert nb.cells[0].source == "seed = 0"


def test_figure_helpers_return_nothing_and_write_identical_files(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    assert save_figure(fig, "f", tmp_path) is None
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    save_figure(fig, "f", tmp_path)
    plt.close(fig)
    assert sorted(first) == ["f.pdf", "f.png"] and first == {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert save_table(pd.DataFrame({"a": [1.0 / 3]}), "t", tmp_path) is None
    assert (tmp_path / "t.csv").read_text() == "a\n0.333333\n"


RENDERED = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("ipynb", RENDERED, ids=[p.stem for p in RENDERED])
def test_committed_renders_show_no_injected_cell_pathlib_repr_or_pairing(ipynb):
    nb = nbformat.read(ipynb, as_version=4)
    assert not [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "PosixPath(" not in ipynb.read_text()
    assert "jupytext" not in nb.metadata


def test_parameters_are_validated():
    assert resolve_parameters(DECLARED, {"lr": 1}, "nb.py")["lr"] == 1  # int for float is fine
    with pytest.raises(NotebookError, match="nb.py: unknown parameter 'lrr'"):
        resolve_parameters(DECLARED, {"lrr": 1}, "nb.py")
    with pytest.raises(NotebookError, match="'seed' must be int"):
        resolve_parameters(DECLARED, {"seed": "zero"}, "nb.py")
    for name, value in (("seed", True), ("lr", False), ("scale", 1)):  # bool is no int, int no str
        with pytest.raises(NotebookError, match=f"'{name}' must be"):
            resolve_parameters(DECLARED, {name: value}, "nb.py")
    with pytest.raises(NotebookError, match="no such notebook source"):
        run_notebook("does/not/exist.py", "x.ipynb", scale="smoke")
    with pytest.raises(NotebookError, match="scale must be one of"):
        resolve_parameters(DECLARED, {"scale": "huge"}, "nb.py")


def test_run_cleans_outputs_and_names_the_failing_cell(tmp_path):
    src = tmp_path / "00_tiny.py"
    src.write_text(SOURCE)
    out = tmp_path / "out" / "00_tiny.ipynb"
    run_notebook(src, out, scale="smoke", figures="figs", root=tmp_path)
    nb = nbformat.read(out, as_version=4)
    text = out.read_text()
    assert str(tmp_path) not in text and "start_time" not in text and "papermill" not in nb.metadata
    assert json.loads((tmp_path / "figs" / "00_tiny.params.json").read_text())["scale"] == "smoke"
    before = out.read_text()
    with pytest.raises(NotebookError, match=r"00_tiny.py: cell \d+ failed: AssertionError: asked to fail"):
        run_notebook(src, out, scale="smoke", figures="figs", params={"fail": True}, root=tmp_path)
    assert out.read_text() == before  # a failed run leaves the previous output alone
    assert Path(out).exists()


def test_runner_help_lists_a_notebooks_parameters_and_bad_out_is_one_line(tmp_path, capsys):
    from e3dlib.notebooks import main

    src = tmp_path / "00_tiny.py"
    src.write_text(SOURCE)
    with pytest.raises(SystemExit):
        main([str(src), "--help"])
    out = capsys.readouterr().out
    assert "parameters of" in out and "fail = False" in out and "figures_dir = 'figures'" in out
    (tmp_path / "file").write_text("")
    assert main([str(src), "--scale", "smoke", "--out", str(tmp_path / "file" / "x.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and len(err.strip().splitlines()) == 1


def test_runner_exit_codes_tell_bad_input_from_a_failing_cell(tmp_path, capsys):
    from e3dlib.notebooks import main

    src = tmp_path / "00_tiny.py"
    src.write_text(SOURCE)
    assert main([str(tmp_path / "missing.py"), "--scale", "smoke", "--out", str(tmp_path / "x.ipynb")]) == 2
    assert main([str(src), "--scale", "smoke", "-p", "nokey=1", "--out", str(tmp_path / "x.ipynb")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no such notebook source" in err[0] and "unknown parameter 'nokey'" in err[1]
    assert main([str(src), "--scale", "smoke", "-p", "fail=True", "--out", str(tmp_path / "x.ipynb")]) == 1
    assert "asked to fail" in capsys.readouterr().err


def test_save_design_requires_every_key_and_writes_plain_json(tmp_path):
    import json

    import numpy as np

    from e3dlib.notebooks import DESIGN_KEYS, save_design

    full = {k: np.int64(3) for k in DESIGN_KEYS} | {"median_top1": np.float64(0.75), "extra": "x", "sd": np.nan}
    rec = save_design("09_design", tmp_path, **full)
    assert json.loads((tmp_path / "09_design.json").read_text()) == rec and rec["median_top1"] == 0.75
    assert rec["sd"] is None and rec["seeds"] == 3 and type(rec["seeds"]) is int
    with pytest.raises(ValueError, match="lacks seeds"):
        save_design("09_design", tmp_path, **{k: v for k, v in full.items() if k != "seeds"})


def test_a_hand_run_writes_its_figures_beside_its_output(tmp_path):
    from e3dlib.notebooks import default_figures

    root = Path(__file__).resolve().parents[1]
    assert default_figures(root / "notebooks" / "01_derive_entropy_bound.ipynb") == "figures"  # make reproduce
    assert default_figures(tmp_path / "01.ipynb") == str(tmp_path / "figures")  # README's hand run: not figures/


def test_figures_param_is_root_relative_inside_the_repo_and_absolute_outside(tmp_path):
    from e3dlib.notebooks import figures_param

    root = Path(__file__).resolve().parents[1]
    assert figures_param("figures", root, cwd=root) == "figures"  # make reproduce
    assert figures_param("../figures", root, cwd=root / "notebooks") == "figures"  # the same folder, from notebooks/
    assert figures_param("build/smoke/figures", root, cwd=root) == "build/smoke/figures"
    assert figures_param("figs", root, cwd=tmp_path) == str(tmp_path / "figs")  # the caller's cwd, outside the repo


def test_clean_gives_cells_ids_from_their_source(tmp_path):
    """Re-rendering the same notebook gives the same ids (nbformat draws random ones), unique even for equal cells."""
    from e3dlib.render import clean

    def nb():
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("# a"),
                                               nbformat.v4.new_code_cell("x = 1")])

    a, b = nb(), nb()
    assert [c.id for c in a.cells] != [c.id for c in b.cells]
    clean(a, tmp_path)
    clean(b, tmp_path)
    ids = [c.id for c in a.cells]
    assert ids == [c.id for c in b.cells] and len(set(ids)) == 3
    nbformat.validate(a)
