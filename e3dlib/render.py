"""What the notebook runner does to an executed notebook before it writes the render: the resolved parameters
shown in the `parameters` cell instead of papermill's injected cell, and no timestamps, machine paths or jupytext
pairing (a render is an output; saving it in JupyterLab must never write the `.py` source)."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any


def merge_injected(nb: Any, resolved: dict[str, Any]) -> None:
    """Show `resolved` in the `parameters` cell and drop papermill's `injected-parameters` cell.

    Only the values that differ are rewritten (comments and formatting stay); execution counts after the dropped
    cell move down by one, so the numbering has no gap.
    """
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    injected = next((i for i, t in enumerate(tags) if "injected-parameters" in t), None)
    if injected is None:
        return
    count = nb.cells[injected].get("execution_count")
    del nb.cells[injected]
    cell = next((c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])), None)
    if cell is not None:
        lines = cell.source.splitlines(keepends=True)
        for node in reversed(ast.parse(cell.source).body):
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            name = target.id if isinstance(target, ast.Name) else None
            if name not in resolved or ast.literal_eval(node.value) == resolved[name]:
                continue
            v = node.value
            first, last = lines[v.lineno - 1], lines[v.end_lineno - 1]
            new = first[:v.col_offset] + _literal(resolved[name]) + last[v.end_col_offset:]
            lines[v.lineno - 1:v.end_lineno] = [new]
        cell.source = "".join(lines)
    if count is not None:
        for c in nb.cells:
            if c.get("execution_count") and c.execution_count > count:
                c.execution_count -= 1
            for out in c.get("outputs", []):
                if out.get("execution_count") and out["execution_count"] > count:
                    out["execution_count"] -= 1


def _literal(value: Any) -> str:
    """Python source for a parameter value; strings in double quotes, as the notebooks write them."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def clean(nb: Any, root: Path) -> None:
    """Drop timestamps/durations/paths that papermill and the kernel write and give cells ids from their source, so
    outputs are reproducible."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("jupytext", None)  # a render is an output: no pairing that would let JupyterLab write the .py
    pat = re.compile(re.escape(str(root.resolve())) + r"/?")
    seen: dict[str, int] = {}
    for cell in nb.cells:
        # an id from the cell's source (jupytext draws random ones): a re-render differs only where its content does
        key = hashlib.sha1(cell.source.encode()).hexdigest()[:8]
        seen[key] = seen.get(key, -1) + 1
        if "id" in cell:
            cell.id = key if not seen[key] else f"{key}-{seen[key]}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = pat.sub("", out["text"])
            data = out.get("data", {})
            if "text/plain" in data:
                data["text/plain"] = pat.sub("", data["text/plain"])
