import os
from pathlib import Path

import pytest

from e3dlib.paths import at_root, repo_root

ROOT = Path(__file__).resolve().parents[1]


def test_repo_root_is_found_from_anywhere_inside(tmp_path):
    assert repo_root() == ROOT
    assert repo_root(ROOT / "notebooks") == ROOT and repo_root(ROOT / "e3dlib" / "data") == ROOT
    with pytest.raises(FileNotFoundError, match="no e3d-lab checkout"):
        repo_root(tmp_path)


def test_at_root_makes_relative_parameters_mean_the_same_from_notebooks(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")  # JupyterLab's working directory
    assert at_root() == ROOT and Path(os.getcwd()) == ROOT
    assert Path("figures").resolve() == ROOT / "figures"
