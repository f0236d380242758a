"""What every layout reads into: `DataError`, `VideoRecord` and `Annotations`, the split names, the file types,
the classes that a horizontal flip changes (`direction_pairs`) and an atomic text write for the writers."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")
VIDEO_EXTS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v")
FRAME_EXTS = (".jpg", ".jpeg")


class DataError(ValueError):
    """A data source or annotation file is missing or malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class VideoRecord:
    """One annotated video: a video file or a folder of JPEG frames; label -1 when the split has none."""

    path: str
    label: int
    id: str


@dataclass(frozen=True)
class Annotations:
    """The videos of one split of one source; `missing` lists annotated ids whose video is not on disk."""

    kind: str
    root: str
    split: str
    classes: tuple[str, ...]
    records: tuple[VideoRecord, ...]
    missing: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    flip_pairs: dict[int, int] = field(default_factory=dict)
    directional: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.records)


def canonical_split(split: str) -> str:
    """`split` as "train", "val" or "test" ("validation" and "valid" are "val"); anything else raises `DataError`."""
    s = {"validation": "val", "valid": "val"}.get(split, split)
    if s not in SPLITS:
        raise DataError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    return s


# --- direction-dependent classes (horizontal flip) --------------------------------------------------------------
_DIR_WORDS = re.compile(r"\b(left|right|counter-?clockwise|anti-?clockwise|clockwise)\b", re.IGNORECASE)
_SWAP = {"left": "right", "right": "left", "clockwise": "counterclockwise", "counterclockwise": "clockwise"}


def _norm(name: str) -> str:
    n = re.sub(r"\b(counter-clockwise|anti-?clockwise)\b", "counterclockwise", name.lower())
    return " ".join(n.split())


def direction_pairs(classes: tuple[str, ...] | list[str]) -> tuple[frozenset[int], dict[int, int]]:
    """Classes whose meaning changes under a horizontal flip (names with left/right/clockwise/counterclockwise),
    and the pairs among them that swap into each other (e.g. "... from left to right" <-> "... from right to
    left"). Directional classes without a partner should not be flipped."""
    index = {_norm(c): i for i, c in enumerate(classes)}
    directional, pairs = set(), {}
    for i, c in enumerate(classes):
        n = _norm(c)
        if not _DIR_WORDS.search(n):
            continue
        directional.add(i)
        j = index.get(_DIR_WORDS.sub(lambda m: _SWAP[m.group(1).lower()], n))
        if j is not None and j != i:
            pairs[i] = j
    return frozenset(directional), pairs


def atomic_write(path: Path, text: str) -> None:
    """Write UTF-8 `text` to a temporary name beside `path`, then rename it onto `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
