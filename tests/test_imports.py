"""The library's shape: no import cycles among e3dlib's modules, and a command line that stays fast."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "e3dlib"


def _module(path: Path) -> str:
    parts = list(path.relative_to(LIB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the e3dlib modules it imports, at the top or inside functions (a lazy import is still a use)."""
    modules = {_module(p): p for p in LIB.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        uses = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            uses |= {c for c in candidates if c in modules and c != name}
        graph[name] = uses
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as [a, b, ..., a], or None (depth-first search)."""
    done, path = set(), []

    def visit(v: str) -> list[str] | None:
        if v in path:
            return path[path.index(v):] + [v]
        if v in done:
            return None
        path.append(v)
        for w in sorted(graph[v]):
            if (found := visit(w)) is not None:
                return found
        path.pop()
        done.add(v)
        return None

    for v in sorted(graph):
        if (found := visit(v)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_among_e3dlib_modules():
    graph = import_graph()
    assert {"e3dlib.train", "e3dlib.evaluate", "e3dlib.dist", "e3dlib.checkpoint"} <= set(graph)
    assert "e3dlib.dist" in graph["e3dlib.evaluate"]  # the graph sees relative imports
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("argv", [["score", "--arch", "e3d-s"], ["train", "--help"], ["evaluate", "--help"]])
def test_the_command_line_does_not_import_torch_to_score_or_to_print_help(argv):
    code = ("import sys; from e3dlib.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, 'av' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False False"


def test_the_e3d_entry_point_is_the_command_line(capsys):
    import importlib

    from e3dlib.cli import main

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    scripts = tomllib.loads((LIB.parent / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["e3d"].partition(":")
    entry = getattr(importlib.import_module(module), name)
    assert entry is main and entry(["score", "--arch", "e3d-s", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "e3d-s"
