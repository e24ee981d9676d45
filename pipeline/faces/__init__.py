"""Face stage: detect a face and 68 landmarks once per clip, similarity-align to a template, crop.

``align_clip(paths, FaceParams(...))`` -> ``AlignedClip`` (uint8 (T, S, S) crops + ``FaceQC`` record);
``align_many`` runs it over many clips in worker processes; ``pipeline.faces.qc`` writes the QC JSON
and PNG montages.
"""

from .align import AlignedClip, align_clip
from .errors import FaceNotFoundError, FrameReadError
from .parallel import align_many
from .params import FaceParams
from .qc import write_landmark_montage, write_qc_json, write_reference_montage
from .record import FaceQC

__all__ = [
    "AlignedClip",
    "FaceNotFoundError",
    "FaceParams",
    "FaceQC",
    "FrameReadError",
    "align_clip",
    "align_many",
    "write_landmark_montage",
    "write_qc_json",
    "write_reference_montage",
]
