"""e3dlib: training-free spatio-temporal entropy search for efficient 3D CNNs (E3D, ICLR 2023)."""

from .cost import flops, macs, params, tinynas_flops
from .layers import conv_layers
from .presets import PRESETS, get_preset
from .scores import homo_entr, homo_entr_terms, refinement, st_entr, st_entr_terms
from .spec import ArchSpec, HeadSpec, SpecError, StageSpec, StemSpec, num_layers

__all__ = [
    "ArchSpec", "HeadSpec", "PRESETS", "SpecError", "StageSpec", "StemSpec", "conv_layers", "flops",
    "get_preset", "homo_entr", "homo_entr_terms", "macs", "num_layers", "params", "refinement", "st_entr",
    "st_entr_terms", "tinynas_flops",
]
