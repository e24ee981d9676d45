"""Face stage: detect a face and 68 landmarks once per clip, similarity-align to a template, crop.

``align_clip(paths, FaceParams(...))`` -> ``AlignedClip`` (uint8 (T, S, S) crops + ``FaceQC`` record);
``pipeline.faces.qc`` summarises the QC records and writes PNG montages.
"""

from .align import AlignedClip, align_clip
from .errors import FaceNotFoundError, FrameReadError
from .params import FaceParams
from .qc import write_landmark_montage, write_reference_montage
from .record import FaceQC

__all__ = [
    "AlignedClip",
    "FaceNotFoundError",
    "FaceParams",
    "FaceQC",
    "FrameReadError",
    "align_clip",
    "write_landmark_montage",
    "write_reference_montage",
]
