"""Plain folder-per-class trees: ROOT/<split>/<class>/<video file or JPEG-frame folder>; classes = sorted class
folders of all splits ("validation/" is accepted for val)."""

from __future__ import annotations

from pathlib import Path

from .annotations import SPLITS, VIDEO_EXTS, Annotations, DataError, VideoRecord


def _folder_split(root: Path, split: str) -> Path | None:
    for name in (split, "validation") if split == "val" else (split,):
        if (root / name).is_dir():
            return root / name
    return None


def folder_has_split(root: Path, split: str) -> bool:
    """Whether the folder of `split` ("train", "val" or "test"; val also as validation/) exists."""
    return _folder_split(root, split) is not None


def read_folder(root: Path, split: str) -> Annotations:
    """One split of a `ROOT/<split>/<class>/<video or frame folder>` tree; classes: the class folders of all splits."""
    split_dir = _folder_split(root, split)
    if split_dir is None:
        raise DataError(f"missing split folder {root / split}")
    names = set()
    for s in SPLITS:
        d = _folder_split(root, s)
        if d is not None:
            names.update(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
    classes = tuple(sorted(names))
    records = []
    for y, name in enumerate(classes):
        d = split_dir / name
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            if p.suffix.lower() in VIDEO_EXTS or (p.is_dir() and any(p.glob("*.jp*g"))):
                records.append(VideoRecord(str(p), y, f"{name}/{p.stem}"))
    if not classes:
        raise DataError(f"{split_dir}: no class folders")
    return Annotations("folder", str(root), split, classes, tuple(records))
