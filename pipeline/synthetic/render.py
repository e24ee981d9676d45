"""Clip specifications and frame rendering by backward warping.

Frame t of a clip is the subject's portrait placed in the frame by a similarity transform
A_t (per-clip pose plus drift and jitter), composited over the subject's background, after
a local displacement field D_t (micro-expression, optional blink) defined in frame pixels:

    frame_t(x) = portrait(A_t^{-1}(x - D_t(x)))

so content near the action-unit points moves by D_t (to first order), and D_t's peak is the
requested amplitude in pixels of the written frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from .motion import Motion, blink_envelope, blink_motion, envelope, expression_motion
from .params import SyntheticParams
from .subjects import Subject


@dataclass(frozen=True)
class ClipSpec:
    """One clip: what moves, when, and where the head is."""

    subject: int
    filename: str
    emotion: str
    au_text: str
    side: str | None
    onset_frame: int
    length: int
    apex_index: int
    amplitude: float
    scale: float
    rotation: float  # degrees
    position: tuple[float, float]  # face-box centre in the frame at the first frame, px
    drift: tuple[float, float]  # total translation over the clip, px
    jitter: np.ndarray  # (T, 2) per-frame translation, px
    blink_start: int | None
    blink_frames: int
    noise_seed: int

    @property
    def apex_frame(self) -> int:
        return self.onset_frame + self.apex_index

    @property
    def offset_frame(self) -> int:
        return self.onset_frame + self.length - 1

    def translation(self, index: int) -> np.ndarray:
        """Head translation of frame ``index`` relative to the clip's pose: smooth drift + jitter, (2,)."""
        s = index / max(self.length - 1, 1)
        ramp = s * s * (3 - 2 * s)
        return np.asarray(self.drift) * ramp + self.jitter[index]


def pose_matrix(subject: Subject, clip: ClipSpec, index: int = 0) -> np.ndarray:
    """Similarity transform portrait -> frame for frame ``index``, float64 (2, 3)."""
    size = subject.portrait.shape[0]
    anchor = (size / 2, size / 2 - 0.1 * subject.face_width)  # face-box centre in the portrait
    m = cv2.getRotationMatrix2D(anchor, clip.rotation, clip.scale)
    target = np.asarray(clip.position) + clip.translation(index)
    m[:, 2] += target - np.asarray(anchor)
    return m


def frame_landmarks(subject: Subject, clip: ClipSpec, index: int = 0) -> np.ndarray:
    """The subject's neutral landmarks in frame ``index`` of ``clip``, (68, 2)."""
    m = pose_matrix(subject, clip, index)
    return subject.landmarks @ m[:, :2].T + m[:, 2]


def clip_motion(subject: Subject, clip: ClipSpec, shape: tuple[int, int]) -> Motion:
    """The clip's micro-expression at full strength, at the clip's base pose (no drift), in frame px."""
    return expression_motion(
        clip.emotion,
        frame_landmarks(subject, clip, 0) - clip.translation(0),
        clip.amplitude,
        shape,
        clip.side,
    )


def displacement_field(
    subject: Subject,
    clip: ClipSpec,
    index: int,
    shape: tuple[int, int],
    *,
    gain: float = 1.0,
    blink: bool = False,
    motion: Motion | None = None,
) -> np.ndarray:
    """Micro-expression displacement of frame ``index`` in frame pixels, float32 (H, W, 2) as (dx, dy).

    ``gain`` scales the expression (e.g. 10 to exaggerate it); ``blink`` adds the eyelid motion.
    At the apex frame with gain 1, max |D| equals ``clip.amplitude``. ``motion``: the clip's
    :func:`clip_motion` when already computed.
    """
    base = clip.translation(0)
    shift = clip.translation(index) - base
    motion = motion if motion is not None else clip_motion(subject, clip, shape)
    field = motion.field(shape, shift, gain * float(envelope(index, clip.length, clip.apex_index)))
    if blink and clip.blink_start is not None:
        lids = blink_motion(frame_landmarks(subject, clip, 0) - base)
        field += lids.field(shape, shift, float(blink_envelope(index, clip.blink_start, clip.blink_frames)))
    return field


@functools.lru_cache(maxsize=4)
def _pixel_grid(h: int, w: int) -> np.ndarray:
    """(x, y) of every pixel, float32 (H, W, 2), read-only."""
    grid = np.mgrid[0:h, 0:w][::-1].transpose(1, 2, 0).astype(np.float32)
    grid.setflags(write=False)
    return grid


def render_frame(
    subject: Subject,
    clip: ClipSpec,
    index: int,
    params: SyntheticParams,
    *,
    gain: float = 1.0,
    noise: bool = True,
    motion: Motion | None = None,
) -> np.ndarray:
    """Frame ``index`` of ``clip``: uint8 (H, W, 3) RGB."""
    h, w = params.frame_shape
    field = displacement_field(subject, clip, index, (h, w), gain=gain, blink=True, motion=motion)
    inverse = cv2.invertAffineTransform(pose_matrix(subject, clip, index))
    source = cv2.transform(_pixel_grid(h, w) - field, inverse)
    face = cv2.remap(subject.portrait, source, None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    alpha = cv2.remap(subject.mask, source, None, cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    image = subject.background + alpha * (face - subject.background)
    if noise and params.noise > 0:
        rng = np.random.default_rng([clip.noise_seed, index])
        image += params.noise * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def render_clip(subject: Subject, clip: ClipSpec, params: SyntheticParams, **kwargs) -> np.ndarray:
    """All frames of ``clip``: uint8 (T, H, W, 3) RGB (keywords as :func:`render_frame`)."""
    motion = clip_motion(subject, clip, params.frame_shape)
    return np.stack(
        [render_frame(subject, clip, i, params, motion=motion, **kwargs) for i in range(clip.length)]
    )
