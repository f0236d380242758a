"""Source strings (`ssv2:ROOT`, `something-like`, `motion:DIR`, ...) to annotations: parse them, check the root,
list the splits on disk and load one split through its layout's reader (duplicates dropped, flip pairs found)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .annotations import SPLITS, Annotations, DataError, canonical_split, direction_pairs
from .folder import folder_has_split, read_folder
from .k400 import k400_has_split, read_k400
from .ssv1 import read_ssv1, ssv1_has_split
from .ssv2 import read_ssv2, ssv2_has_split

KINDS = ("ssv1", "ssv2", "k400", "folder")
NAMES = {"something-like": "ssv2", "motion": "ssv2", "kinetics-like": "k400"}
_READERS = {"ssv1": read_ssv1, "ssv2": read_ssv2, "k400": read_k400, "folder": read_folder}
_HAS_SPLIT = {"ssv1": ssv1_has_split, "ssv2": ssv2_has_split, "k400": k400_has_split, "folder": folder_has_split}


@dataclass(frozen=True)
class Source:
    """A parsed source string: its layout (`ssv1`, `ssv2`, `k400` or `folder`) and root folder."""

    kind: str
    root: Path


def data_root() -> Path:
    """Where `something-like` / `motion` / `kinetics-like` live: $E3D_DATA_ROOT, else data/generated."""
    return Path(os.environ.get("E3D_DATA_ROOT", "data/generated"))


def parse_source(text: str, root: str | Path | None = None) -> Source:
    """`ssv1:ROOT|ssv2:ROOT|k400:ROOT|folder:ROOT`, a generated name (`something-like`, `motion`,
    `kinetics-like`: under the data root) or a generated name with its folder (`motion:DIR` = `ssv2:DIR`)."""
    if text in NAMES:
        return Source(NAMES[text], Path(root) / text if root is not None else data_root() / text)
    kind, sep, path = text.partition(":")
    kind = NAMES.get(kind, kind)  # `motion:DIR`, `something-like:DIR`: a generated set at DIR, in its layout
    if not sep or kind not in KINDS or not path:
        raise DataError(f"bad data source {text!r}: expected one of {', '.join(k + ':ROOT' for k in KINDS)} "
                        f"or {' / '.join(NAMES)}")
    return Source(kind, Path(path))


def load_annotations(source: str | Source, split: str, root: str | Path | None = None) -> Annotations:
    """Read one split of a source (a `Source` or a source string)."""
    src = parse_source(source, root) if isinstance(source, str) else source
    split = canonical_split(split)
    check_root(src)
    ann = _READERS[src.kind](src.root, split)
    directional, pairs = direction_pairs(ann.classes)
    seen: set[str] = set()
    records, duplicates = [], []
    for r in ann.records:  # a video listed twice is loaded once; its id is counted in `duplicates`
        if r.path in seen:
            duplicates.append(r.id)
        else:
            seen.add(r.path)
            records.append(r)
    return replace(ann, records=tuple(records), duplicates=tuple(duplicates), flip_pairs=pairs,
                   directional=directional)


def check_root(src: Source) -> None:
    """Fail unless the source's root is a directory (with a hint for the generated names)."""
    if not src.root.is_dir():
        hint = (f"; generate it with `python -m e3dlib data generate {src.root.name} --out {src.root}`"
                if src.root.name in NAMES else "")
        raise DataError(f"{src.kind} root {src.root} is not a directory{hint}")


def available_splits(src: Source) -> list[str]:
    """The splits whose annotation files (or folders) exist; DataError when there are none."""
    check_root(src)
    has_split = _HAS_SPLIT.get(src.kind, folder_has_split)  # as before the split: any other kind is a folder tree
    out = [s for s in SPLITS if has_split(src.root, s)]
    if not out:
        raise DataError(f"{src.root}: no {src.kind} annotation files or split folders (see `e3dlib.data.layouts`)")
    return out
