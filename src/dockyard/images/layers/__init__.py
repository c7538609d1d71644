"""Layers: decompress a tar stream (the one decoder of every image path), apply a layer
tar (tar, gzip, zstd) to a directory or an overlay upper dir, confined to it, and write a
snapshot's changes back as a reproducible layer tar."""

from .apply import AppliedLayer, Format, apply_layer
from .compression import ALL_FORMATS, Decompressor, Limits, detect_compression
from .diff import diff_dirs, write_diff
from .fsops import clean_name
from .lowers import OPAQUE_XATTR, is_opaque, is_whiteout

__all__ = [
    "ALL_FORMATS",
    "OPAQUE_XATTR",
    "AppliedLayer",
    "Decompressor",
    "Format",
    "Limits",
    "apply_layer",
    "clean_name",
    "detect_compression",
    "diff_dirs",
    "is_opaque",
    "is_whiteout",
    "write_diff",
]
