"""Montage of one clip per class: the apex frame as written vs. the motion exaggerated 10x."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipeline.atomic import atomic_path

from .dataset import SyntheticPlan, clip_key
from .params import CLASSES
from .render import displacement_field, frame_landmarks, render_frame


def _face_crop(landmarks: np.ndarray, shape: tuple[int, int], margin: float = 0.35) -> tuple[slice, slice]:
    x0, y0 = landmarks.min(0)
    x1, y1 = landmarks.max(0)
    pad = margin * (x1 - x0)
    h, w = shape
    ys = slice(max(int(y0 - 1.3 * pad), 0), min(int(y1 + pad), h))
    xs = slice(max(int(x0 - pad), 0), min(int(x1 + pad), w))
    return ys, xs


def write_montage(dataset: SyntheticPlan, path: str | os.PathLike, gain: float = 10.0) -> Path:
    """PNG grid, one row per class: apex as written, apex with motion x``gain``, their difference
    with the displacement field drawn as arrows. Written atomically; returns the path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = dataset.params
    shape = params.frame_shape
    picks = []
    for k, emotion in enumerate(CLASSES):  # a different subject per class where possible
        clips = [c for c in dataset.clips if c.emotion == emotion]
        subjects = sorted({c.subject for c in clips})
        if clips:
            want = subjects[k % len(subjects)]
            picks.append(next(c for c in clips if c.subject == want))
    fig, axes = plt.subplots(len(picks), 3, figsize=(9.6, 3.3 * len(picks)), squeeze=False)
    for row, clip in zip(axes, picks):
        subject = dataset.subject_of(clip)
        apex = clip.apex_index
        rendered = render_frame(subject, clip, apex, params)
        clean = render_frame(subject, clip, apex, params, noise=False).astype(np.float32)
        big = render_frame(subject, clip, apex, params, gain=gain, noise=False).astype(np.float32)
        ys, xs = _face_crop(frame_landmarks(subject, clip, apex), shape)
        diff = (big - clean).mean(-1)[ys, xs]
        field = displacement_field(subject, clip, apex, shape)[ys, xs]
        row[0].imshow(rendered[ys, xs])
        row[0].set_title(
            f"{clip_key(clip)}  {clip.emotion}\napex as written ({clip.amplitude:.2f} px)", fontsize=9
        )
        row[1].imshow(np.clip(big, 0, 255).astype(np.uint8)[ys, xs])
        row[1].set_title(f"same frame, motion x{gain:g}  (AU {clip.au_text})", fontsize=9)
        lim = max(float(np.abs(diff).max()), 1.0)
        row[2].imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
        step = 6
        yy, xx = np.mgrid[0 : diff.shape[0] : step, 0 : diff.shape[1] : step]
        u, v = field[::step, ::step, 0], field[::step, ::step, 1]
        keep = np.hypot(u, v) > 0.05 * clip.amplitude
        row[2].quiver(
            xx[keep], yy[keep], u[keep], v[keep], color="k", angles="xy", scale_units="xy", scale=0.1
        )
        row[2].set_title(f"x{gain:g} minus written (grey levels)\narrows: displacement x10", fontsize=9)
        for ax in row:
            ax.set_axis_off()
    fig.tight_layout()
    path = Path(path)
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path
