"""HDF5 clip cache: writer, validating reader, PyTorch dataset and collate.

See :mod:`pipeline.store.format` for the file layout.
"""

from .dataset import ClipDataset, collate_clips, subsample_indices
from .format import FORMAT, FORMAT_VERSION, clip_key
from .reader import CacheError, CacheInfo, ClipInfo, open_cache
from .writer import CacheWriter

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CacheError",
    "CacheInfo",
    "CacheWriter",
    "ClipDataset",
    "ClipInfo",
    "clip_key",
    "collate_clips",
    "open_cache",
    "subsample_indices",
]
