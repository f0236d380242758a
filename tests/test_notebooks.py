import json
from pathlib import Path

import nbformat
import pytest

from e3dlib.notebooks import NotebookError, pick, resolve_parameters, run_notebook

DECLARED = {"scale": "smoke", "seed": 0, "device": "cpu", "data_root": "data", "figures_dir": "figures", "lr": 0.1}

SOURCE = '''# %% [markdown]
# # Tiny

# %% tags=["parameters"]
scale = "smoke"
seed = 0
device = "cpu"
data_root = "data"
figures_dir = "figures"
fail = False

# %%
import os
print(os.getcwd())

# %%
assert not fail, "asked to fail"
'''


def test_pick_by_scale():
    assert pick("smoke", smoke=1, proxy=2) == 1
    assert pick("full", smoke=1, proxy=2) == 2
    assert pick("full", smoke=1, proxy=2, full=3) == 3
    with pytest.raises(ValueError, match="scale"):
        pick("huge", smoke=1, proxy=2)


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
