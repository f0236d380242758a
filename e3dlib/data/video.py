"""Read and write clips: video files (PyAV) and folders of JPEG frames (Pillow) <-> uint8 RGB (T, H, W, 3).

Every failure to read a clip (missing, empty, truncated, corrupt, no frames) raises `VideoDecodeError` with a short
reason; the datasets skip and count those clips. Decoding is single-threaded (DataLoader workers parallelise).
WebM containers report 0 frames in their header, so frame counts of such files come from decoding.
An optional cache keeps each fully decoded clip as a `.npy` file, memory-mapped on later epochs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
from PIL import Image  # JPEG frames; Pillow comes with matplotlib and decodes ~3x faster than PyAV's image2

CODECS = {".webm": ("libvpx-vp9", "webm"), ".mp4": ("libx264", "mp4"), ".mkv": ("libx264", "matroska")}
CODEC_OPTIONS = {"libvpx-vp9": {"crf": "30", "b:v": "0", "deadline": "good", "cpu-used": "8"},
                 "libvpx": {"crf": "10", "b:v": "1M", "deadline": "good", "cpu-used": "8"},
                 # no macroblock tree / rate-control lookahead: with them libx264 gave different pixels encode
                 # to encode of the same frames (about 1 clip in 20, single-threaded)
                 "libx264": {"crf": "20", "preset": "veryfast", "x264-params": "mbtree=0:rc-lookahead=0"},
                 "mpeg4": {"qscale": "3"}}

IndexFn = Callable[[int], np.ndarray]


class VideoDecodeError(Exception):
    """A clip cannot be read; str(e) is the reason."""


def _frame_files(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg")))


MAX_FRAME_PIXELS = 64_000_000  # 8000 x 8000: far above any video frame, far below what exhausts memory


def _read_jpeg(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            w, h = im.size  # from the header, before anything is decoded
            if w * h > MAX_FRAME_PIXELS:
                raise VideoDecodeError(f"frame {path.name} claims {w}x{h} pixels (more than {MAX_FRAME_PIXELS:,})")
            return np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError as e:
        raise VideoDecodeError(f"frame {path.name}: {e}") from None


def read_clip(path: str | Path, indices: IndexFn | None = None, cache_dir: str | Path | None = None) -> np.ndarray:
    """The frames `indices(n)` of a clip with n frames (all frames when `indices` is None), uint8 (T, H, W, 3).

    `indices` is called once with the clip's frame count and returns frame numbers in [0, n); a video whose
    header over-states its length is decoded as far as it goes and the indices are clamped to what exists.
    With `cache_dir`, the whole clip is decoded once and kept as `<cache_dir>/<key>.npy`."""
    path = Path(path)
    try:
        if cache_dir is not None:
            clip = _cached(path, Path(cache_dir))
            return clip if indices is None else clip[_checked(indices(len(clip)), len(clip))]
        if path.is_dir():
            return _read_frames_dir(path, indices)
        return _read_video(path, indices)
    except VideoDecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, StopIteration) as e:
        raise VideoDecodeError(_reason(e)) from None


def _reason(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return f"{type(e).__name__}: {msg}"


def _checked(idx: np.ndarray, n: int) -> np.ndarray:
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):  # a bug in the caller, not a bad video: not caught
        raise IndexError(f"frame indices {idx.min()}..{idx.max()} outside a clip of {n} frames")
    return idx


def _read_frames_dir(folder: Path, indices: IndexFn | None) -> np.ndarray:
    names = _frame_files(folder)
    if not names:
        raise VideoDecodeError("no JPEG frames")
    idx = np.arange(len(names)) if indices is None else _checked(indices(len(names)), len(names))
    cache: dict[int, np.ndarray] = {}
    frames = []
    for i in idx.tolist():
        if i not in cache:
            cache[i] = _read_jpeg(folder / names[i])
        frames.append(cache[i])
    if len({f.shape for f in frames}) > 1:
        raise VideoDecodeError("frames of different sizes")
    return np.stack(frames)


def _read_video(path: Path, indices: IndexFn | None) -> np.ndarray:
    if path.stat().st_size == 0:
        raise VideoDecodeError("empty file")
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise VideoDecodeError("no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise VideoDecodeError("unknown video codec")
        w, h = stream.codec_context.width, stream.codec_context.height
        if w * h > MAX_FRAME_PIXELS:  # checked before a decoder allocates frames of that size
            raise VideoDecodeError(f"its header claims {w}x{h} pixels per frame (more than {MAX_FRAME_PIXELS:,})")
        stream.codec_context.thread_count = 1
        n_header = stream.frames
        want = None
        if indices is not None and n_header > 0:
            want = _checked(indices(n_header), n_header)
            keep, stop = set(want.tolist()), int(want.max()) if want.size else -1
        decoded: dict[int, np.ndarray] = {}
        count, last = 0, None
        for frame in container.decode(stream):
            if want is None or count in keep:
                decoded[count] = frame.to_ndarray(format="rgb24")
            count, last = count + 1, frame
            if want is not None and count > stop:
                break
    if count == 0:
        raise VideoDecodeError("no decodable frames")
    if want is None:
        all_frames = np.stack([decoded[i] for i in range(count)])
        return all_frames if indices is None else all_frames[_checked(indices(count), count)]
    if count - 1 not in decoded:  # the header promised more frames than the stream holds: clamp to the last
        decoded[count - 1] = last.to_ndarray(format="rgb24")
    return np.stack([decoded[min(i, count - 1)] for i in want.tolist()])


def probe(path: str | Path) -> tuple[int, int, int]:
    """(frames, height, width) by decoding the whole clip: detects truncation and corruption."""
    clip = read_clip(path)
    return int(clip.shape[0]), int(clip.shape[1]), int(clip.shape[2])


def _cache_key(path: Path) -> str:
    """Path, size and modification time of the video (of the first frame of a frame folder)."""
    st = (path / _frame_files(path)[0]).stat() if path.is_dir() else path.stat()
    return hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()


def _cached(path: Path, cache_dir: Path) -> np.ndarray:
    if path.is_dir() and not _frame_files(path):
        raise VideoDecodeError("no JPEG frames")
    file = cache_dir / f"{_cache_key(path)}.npy"
    if file.is_file():
        try:
            return np.load(file, mmap_mode="r")
        except (ValueError, OSError):  # a torn cache file: decode again
            pass
    clip = _read_frames_dir(path, None) if path.is_dir() else _read_video(path, None)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{file.name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.save(f, clip)
    os.replace(tmp, file)
    return clip


# --- writing ------------------------------------------------------------------------------------------------------
def write_video(path: str | Path, frames: np.ndarray, fps: int = 12, codec: str | None = None) -> None:
    """Encode uint8 (T, H, W, 3) frames (H, W even) to `path` (.webm: VP9, .mp4/.mkv: H.264 by default),
    single-threaded so that the same frames always give the same file; written to a temporary name first."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in CODECS:
        raise ValueError(f"{path}: unsupported container {ext!r} (use {', '.join(CODECS)})")
    codec = codec or CODECS[ext][0]
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    t, h, w, c = frames.shape
    if c != 3 or h % 2 or w % 2:
        raise ValueError(f"frames must be (T, H, W, 3) with even H, W; got {frames.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{ext}")
    with av.open(str(tmp), "w", format=CODECS[ext][1], options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(codec, rate=fps, options=dict(CODEC_OPTIONS.get(codec, {})))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.thread_count = 1
        for f in frames:
            # converted here, not by the encoder: libx264 fed rgb24 frames gave different pixels encode to encode
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")))
        container.mux(stream.encode())
    os.replace(tmp, path)


def write_frames_dir(folder: str | Path, frames: Sequence[np.ndarray], quality: int = 90) -> None:
    """Write frames as 00001.jpg, 00002.jpg, ... (the Something-Something V1 layout)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames, 1):
        Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8)).save(folder / f"{i:05d}.jpg", quality=quality)
