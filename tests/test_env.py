"""environment.yml installs what `make setup` installs (the same pins, in the same order, no dev extras)."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def make_setup_installs(*variables: str) -> list[list[str]]:
    """The arguments of each `pip install` that `make setup` runs, as make expands them (a dry run)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    r = subprocess.run(["make", "-n", "-B", "setup", *variables], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    installs = []
    for line in r.stdout.splitlines():
        words = shlex.split(line)
        if "pip" in words and "install" in words:
            installs.append([w for w in words[words.index("install") + 1:] if w != "-q"])
    return installs


def conda_pip_lines() -> list[str]:
    yaml = pytest.importorskip("yaml")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1 and "pip" in env["dependencies"]
    return pip[0]


def test_environment_yml_installs_what_make_setup_installs():
    make = make_setup_installs()
    assert make == [["torch==2.13.0"], ["-e", ".[test,html]"]]  # torch, then the test and html extras (no lab)
    assert [shlex.split(line) for line in conda_pip_lines()] == make


def test_the_cpu_wheel_route_is_the_same_index_everywhere():
    torch_line = make_setup_installs(f"TORCH_INDEX={CPU_INDEX}")[0]
    assert torch_line == ["torch==2.13.0", "--index-url", CPU_INDEX]
    text = (ROOT / "environment.yml").read_text()
    assert CPU_INDEX in text and "torch==2.13.0+cpu" in text
    readme = (ROOT / "README.md").read_text()
    assert CPU_INDEX in readme and "torch==2.13.0" in readme
    pins = set(re.findall(r"torch==([\d.]+)", readme + text + (ROOT / "Makefile").read_text()))
    assert pins == {"2.13.0"}  # one torch version named everywhere


def test_reproduce_fresh_gives_the_trained_notebooks_an_empty_runs_dir():
    def recipe(target: str, *variables: str) -> str:
        r = subprocess.run(["make", "-n", "-B", target, *variables], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    trained, analytic = "notebooks/03_reproduce_kernel_selection.ipynb", "notebooks/01_derive_entropy_bound.ipynb"
    assert "-p runs_dir=build/fresh/03_reproduce_kernel_selection" in recipe(trained, "FRESH=1")
    assert "runs_dir" not in recipe(trained)  # by default: the committed result rows
    assert "runs_dir" not in recipe(analytic, "FRESH=1")  # no runs_dir parameter: nothing to pass
