"""Video data for e3d-lab: synthetic CPU-scale benchmarks and loaders for Something-Something V1/V2, Kinetics-400
and folder-per-class datasets.

    layouts     annotation readers/writers (one module per layout), source strings (`ssv2:ROOT`, `something-like`,
                ...), `DataError`
    video       PyAV decode/encode of video files and JPEG-frame folders, optional .npy cache
    synthetic   something-like (motion) and kinetics-like (appearance) clips from (seed, index), one module each,
                and the drawing primitives they share
    generate    write the synthetic benchmarks in the SSv2 / K400 layouts
    transforms  temporal sampling, augmentation, K-Center / K-LeftCenterRight views
    datasets    torch Datasets and loaders (skip-and-count of bad videos)
    check       `data inspect` reports (the command itself: e3dlib/cli/data.py)

Only `layouts` is imported here (no torch, no PyAV), so the command line stays fast; import the others directly.
"""

from .layouts import Annotations, DataError, Source, VideoRecord, load_annotations, parse_source

__all__ = ["Annotations", "DataError", "Source", "VideoRecord", "load_annotations", "parse_source"]
