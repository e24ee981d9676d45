"""Face stage: detect a face and 68 landmarks once per clip, similarity-align to a template, crop.

``align_clip(paths, FaceParams(...))`` -> ``AlignedClip`` (uint8 (T, S, S) crops + QC dict).
"""

from .align import AlignedClip, align_clip
from .errors import FaceNotFoundError, FrameReadError
from .params import FaceParams

__all__ = ["AlignedClip", "FaceNotFoundError", "FaceParams", "FrameReadError", "align_clip"]
