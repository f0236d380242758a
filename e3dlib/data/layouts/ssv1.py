"""Something-Something V1: ROOT/20bn-something-something-v1/<id>/00001.jpg ... (JPEG frames),
something-something-v1-labels.csv (one class per line, index = line number - 1),
something-something-v1-{train,validation}.csv (`<id>;<class>` per line), -test.csv (`<id>`)."""

from __future__ import annotations

import os
from pathlib import Path

from .annotations import Annotations, DataError, VideoRecord, atomic_write, canonical_split

SSV1_DIR = "20bn-something-something-v1"


def _ssv1_file(split: str) -> str:
    return f"something-something-v1-{'validation' if split == 'val' else split}.csv"


def ssv1_has_split(root: Path, split: str) -> bool:
    """Whether the annotation file of `split` ("train", "val" or "test") exists."""
    return (root / _ssv1_file(split)).is_file()


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"missing annotation file {path}")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_ssv1(root: Path, split: str) -> Annotations:
    """One split of a Something-Something V1 root (JPEG-frame folders); test lines carry no label (-1)."""
    lab_file = root / "something-something-v1-labels.csv"
    classes = _class_lines(lab_file)
    index = {c: i for i, c in enumerate(classes)}
    ann_file = root / _ssv1_file(split)
    frames_dir = root / SSV1_DIR
    present = set(os.listdir(frames_dir)) if frames_dir.is_dir() else set()
    records, missing = [], []
    for no, line in enumerate(_read_lines(ann_file), 1):
        if not line.strip():
            continue
        vid, sep, name = line.strip().partition(";")
        if not vid or (split != "test" and not sep):
            raise DataError(f"{ann_file}:{no}: expected '<id>;<label>', got {line!r}")
        label = -1
        if sep:
            if name not in index:
                raise DataError(f"{ann_file}:{no}: unknown label {name!r} (not in {lab_file.name})")
            label = index[name]
        if vid in present:
            records.append(VideoRecord(str(frames_dir / vid), label, vid))
        else:
            missing.append(vid)
    return Annotations("ssv1", str(root), split, classes, tuple(records), tuple(missing))


def _class_lines(path: Path) -> tuple[str, ...]:
    classes, seen = [], set()
    lines = _read_lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    for no, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            raise DataError(f"{path}:{no}: empty class name")
        if name in seen:
            raise DataError(f"{path}:{no}: duplicate class {name!r}")
        seen.add(name)
        classes.append(name)
    if not classes:
        raise DataError(f"{path}: no classes")
    return tuple(classes)


def write_ssv1(root: str | Path, classes: list[str], splits: dict[str, list[tuple[str, int]]]) -> None:
    """Write the V1 annotation files; `splits` maps split -> [(id, label)] (label ignored for test)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / "something-something-v1-labels.csv", "".join(c + "\n" for c in classes))
    for split, rows in splits.items():
        split = canonical_split(split)
        text = "".join(f"{i}\n" if split == "test" else f"{i};{classes[y]}\n" for i, y in rows)
        atomic_write(root / _ssv1_file(split), text)
