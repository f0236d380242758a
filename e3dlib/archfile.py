"""Architecture files: our JSON specs and the official TinyNAS structure files (`E3D_{S,M,L}.txt`).

The format is a Python literal, either `{'best_structures': [[block, ...]], 'space_arch': 'Cnn3DNet'}` or a
bare list of blocks, with blocks

    {'class': 'Conv3DKXBNRELU', 'in': 3, 'out': 24, 's': 2, 'kt': 1, 'k': 3}                 # stem / conv5
    {'class': 'SuperRes3DK1DWK1', 'in': 24, 'out': 24, 's': 2, 'kt': 1, 'k': 5, 'L': 3, 'btn': 32}  # stage

The files carry no input size, FC head or SE: those come from the caller (defaults: the E3D presets').
"""

from __future__ import annotations

import ast
import pprint
from pathlib import Path
from typing import Any

from .presets import get_preset
from .spec import ArchSpec, HeadSpec, SpecError, StageSpec, StemSpec

CONV = "Conv3DKXBNRELU"
STAGE = "SuperRes3DK1DWK1"


def parse_structure(text: str, *, name: str = "tinynas", frames: int = 13, size: int = 160,
                    **arch_kwargs: Any) -> ArchSpec:
    """Parse TinyNAS structure text into an `ArchSpec`; errors raise `SpecError` naming the block."""
    try:
        obj = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError) as e:
        raise SpecError(f"not a TinyNAS structure (Python literal expected): {e.__class__.__name__}: {e}") from None
    except (RecursionError, MemoryError):
        raise SpecError("not a TinyNAS structure: nested too deeply") from None
    if isinstance(obj, dict):
        if "best_structures" not in obj:
            raise SpecError("TinyNAS structure: missing key 'best_structures'")
        obj = obj["best_structures"]
        if isinstance(obj, list) and obj and isinstance(obj[0], list):
            obj = obj[0]
    if not isinstance(obj, list) or len(obj) < 3:
        raise SpecError("TinyNAS structure: expected a list of at least 3 blocks (stem, stages, conv5)")
    blocks = obj
    for i, b in enumerate(blocks):
        if not isinstance(b, dict) or "class" not in b:
            raise SpecError(f"TinyNAS structure: block {i} is not a dict with a 'class'")
    first, last, middle = blocks[0], blocks[-1], blocks[1:-1]
    if first["class"] != CONV or last["class"] != CONV:
        raise SpecError(f"TinyNAS structure: first and last blocks must be {CONV}")
    in_ch = _get(first, "in", 0)
    stem = StemSpec(out_channels=_get(first, "out", 0), k=_get(first, "k", 0), kt=_get(first, "kt", 0),
                    stride=first.get("s", 1))
    stages = []
    prev = stem.out_channels
    for i, b in enumerate(middle, start=1):
        if b["class"] != STAGE:
            raise SpecError(f"TinyNAS structure: block {i} has class {b['class']!r}; only {STAGE} is supported")
        if _get(b, "in", i) != prev:
            raise SpecError(f"TinyNAS structure: block {i} has 'in'={b['in']} but the previous block outputs {prev}")
        stages.append(StageSpec(out_channels=_get(b, "out", i), bottleneck=_get(b, "btn", i), kt=_get(b, "kt", i),
                                k=_get(b, "k", i), stride=b.get("s", 1), depth=_get(b, "L", i)))
        prev = b["out"]
    j = len(blocks) - 1
    if _get(last, "in", j) != prev:
        raise SpecError(f"TinyNAS structure: block {j} has 'in'={last['in']} but the previous block outputs {prev}")
    if _get(last, "k", j) != 1 or last.get("kt", 1) != 1 or last.get("s", 1) != 1:
        raise SpecError("TinyNAS structure: the last block (conv5) must be a 1x1x1 conv with stride 1")
    defaults = dict(se_ratio=0.0625, se_every=2, act="relu")
    defaults.update(arch_kwargs)
    return ArchSpec(name=name, frames=frames, size=size, stem=stem, stages=tuple(stages),
                    head=HeadSpec(conv_channels=_get(last, "out", j)), in_channels=in_ch, **defaults)


def _get(block: dict, key: str, index: int) -> Any:
    if key not in block:
        raise SpecError(f"TinyNAS structure: block {index} ({block.get('class')}) has no {key!r}")
    return block[key]


def format_structure(spec: ArchSpec) -> str:
    """The TinyNAS structure text for `spec` (the stem's temporal conv and the head have no counterpart)."""
    if spec.stem.temporal_kernel:
        raise SpecError(f"{spec.name}: a stem temporal conv (X3D) cannot be written as a TinyNAS structure")
    s = spec.stem
    blocks: list[dict[str, Any]] = [
        {"class": CONV, "in": spec.in_channels, "out": s.out_channels, "s": s.stride, "kt": s.kt, "k": s.k}]
    c = s.out_channels
    for st in spec.stages:
        blocks.append({"class": STAGE, "in": c, "out": st.out_channels, "s": st.stride, "kt": st.kt, "k": st.k,
                       "L": st.depth, "btn": st.bottleneck, "inner_class": "Res3DK1DWK1"})
        c = st.out_channels
    blocks.append({"class": CONV, "in": c, "out": spec.head.conv_channels, "s": 1, "kt": 1, "k": 1})
    return pprint.pformat({"best_structures": [blocks], "space_arch": "Cnn3DNet"}, sort_dicts=False) + "\n"


def load_structure(path: str | Path, **kwargs: Any) -> ArchSpec:
    """A TinyNAS structure file as an `ArchSpec`, named after the file's stem unless `kwargs` give a name; `kwargs`
    (name, frames, size, spec fields) go to `parse_structure`."""
    p = Path(path)
    return parse_structure(p.read_text(), **{"name": p.stem, **kwargs})



def load_arch(source: str | Path, *, frames: int | None = None, size: int | None = None) -> ArchSpec:
    """A preset name, a JSON spec file (`.json`) or a TinyNAS structure file (any other suffix).

    `frames`/`size` override the input size; TinyNAS files, which carry none, default to 13 x 160.
    Every problem raises `SpecError` or `FileNotFoundError` with the file named in the message.
    """
    p = Path(source)
    if not p.suffix and not p.exists():
        try:
            return get_preset(str(source)).with_input(frames, size)
        except KeyError as e:
            raise SpecError(e.args[0]) from None
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        if p.suffix == ".json":
            return ArchSpec.load(p).with_input(frames, size)
        return load_structure(p, frames=frames or 13, size=size or 160)
    except SpecError as e:
        raise SpecError(f"{p}: {e}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{p}: not a text file") from None
